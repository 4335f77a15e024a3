/*
 * service.c - health reports and failure answers shared by every service.
 */
#include "arcade/service.h"

void
arc_health_init(struct arc_health *h)
{
    h->checks = json_object_new_object();
    h->details = NULL;
    h->state = 0;
}

void
arc_health_add(struct arc_health *h, const char *name, enum arc_err result, bool critical)
{
    const char *v = result == ARC_OK ? "ok" : "unavailable";
    if (result != ARC_OK) {
        int s = critical ? 2 : 1;
        if (s > h->state)
            h->state = s;
    }
    json_object_object_add(h->checks, name, json_object_new_string(v));
}

void
arc_health_detail(struct arc_health *h, const char *name, json_object *value)
{
    if (h->details == NULL)
        h->details = json_object_new_object();
    json_object_object_add(h->details, name, value);
}

void
arc_health_respond(arc_req *r, struct arc_health *h)
{
    static const char *const names[] = {"ok", "degraded", "unavailable"};
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(names[h->state]));
    json_object_object_add(o, "checks", h->checks);
    h->checks = NULL;
    if (h->details != NULL)
        json_object_object_add(o, "details", h->details);
    h->details = NULL;
    arc_resp_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, h->state == 2 ? 503 : 200, o);
}

arc_amqp *
arc_health_broker(arc_amqp **slot, const struct arc_config *cfg)
{
    if (*slot == NULL && cfg->amqp_url[0] != '\0') {
        const struct arc_amqp_options opt = {
            .urls = cfg->amqp_url,
            .connect_timeout_ms = 500,
            .rpc_timeout_ms = 1000,
            .retry_ms = 2000,
        };
        *slot = arc_amqp_new(&opt);
    }
    return *slot;
}

void
arc_respond_failure(arc_req *r, enum arc_err err)
{
    switch (err) {
    case ARC_UNAVAILABLE:
        arc_resp_header(r, "Retry-After", "1");
        arc_respond_error(r, 503, "unavailable", "a backing service is unavailable, try again",
                          NULL);
        return;
    case ARC_NOT_FOUND:
        arc_respond_error(r, 404, "not_found", "not found", NULL);
        return;
    case ARC_CONFLICT:
        arc_respond_error(r, 409, "conflict", "conflicts with the current state", NULL);
        return;
    default:
        arc_respond_error(r, 500, "internal_error", "internal error", NULL);
        return;
    }
}
