/*
 * event.c - the event envelope (event.h, docs/events.md): what a consumer
 * reads from a delivery.
 */
#include "arcade/event.h"

#include <string.h>

#include "arcade/json.h"
#include "arcade/log.h"

static bool
member_str(json_object *root, const char *key, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0)
        return false;
    *out = json_object_get_string(v);
    return true;
}

static bool
is_event_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 32;
}

enum arc_err
arc_event_parse(const char *body, size_t len, json_object **root, struct arc_event_in *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->traceparent = "";
    *root = arc_json_parse(body, len, 32);
    json_object *o = *root, *v;
    const char *why = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        why = "not a JSON object";
    else if (!member_str(o, "id", &ev->id) || !is_event_id(ev->id))
        why = "id";
    else if (!member_str(o, "type", &ev->type) || !member_str(o, "source", &ev->source) ||
             !member_str(o, "key", &ev->key) || !member_str(o, "occurred_at", &ev->occurred_at))
        why = "type, source, key or occurred_at";
    else if (!json_object_object_get_ex(o, "version", &v) ||
             !json_object_is_type(v, json_type_int) || (ev->version = json_object_get_int64(v)) < 0)
        why = "version";
    else if (!json_object_object_get_ex(o, "data", &ev->data) ||
             !json_object_is_type(ev->data, json_type_object))
        why = "data";
    if (why == NULL)
        return ARC_OK;
    arc_log_warn("event: malformed envelope (%s)", why);
    json_object_put(*root);
    *root = NULL;
    return ARC_INVALID;
}
