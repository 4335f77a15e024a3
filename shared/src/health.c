/*
 * health.c - the health report every service answers on /health/<service>.
 */
#include "arcade/health.h"

void
arc_health_init(struct arc_health *h)
{
    h->checks = json_object_new_object();
    h->details = NULL;
    h->state = 0;
}

static void
health_worsen(struct arc_health *h, int state)
{
    if (state > h->state)
        h->state = state;
}

void
arc_health_add(struct arc_health *h, const char *name, enum arc_err result, bool critical)
{
    const char *v = result == ARC_OK ? "ok" : "unavailable";
    if (result != ARC_OK)
        health_worsen(h, critical ? 2 : 1);
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
    arc_respond_header(r, "Cache-Control", "no-store");
    arc_respond_json(r, h->state == 2 ? 503 : 200, o);
}

static arc_amqp *
health_broker(arc_amqp **slot, const struct arc_config *cfg)
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

arc_amqp *
arc_health_check_broker(struct arc_health *h, arc_amqp **slot, const struct arc_config *cfg)
{
    if (cfg->amqp_url[0] == '\0') {
        json_object_object_add(h->checks, "broker", json_object_new_string("disabled"));
        return NULL;
    }
    arc_amqp *a = health_broker(slot, cfg);
    enum arc_err e = a != NULL ? arc_amqp_ensure(a) : ARC_UNAVAILABLE;
    arc_health_add(h, "broker", e, false);
    return e == ARC_OK ? a : NULL;
}

void
arc_health_dead_letters(struct arc_health *h, int64_t n)
{
    arc_health_detail(h, "dead_letters", n >= 0 ? json_object_new_int64(n) : NULL);
    if (n > 0)
        health_worsen(h, 1);
}
