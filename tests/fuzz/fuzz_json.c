/*
 * fuzz_json.c - reading a JSON request body: the strict parser, the body
 * checks of arc_req_read_json (answered over an in-memory stream) and the
 * typed field readers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/respond.h"
#include "arcade/json.h"
#include "fake_fcgx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ARC_BODY_MAX)
        return 0;
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    body[size] = '\0';

    struct fake_fcgx f;
    fake_init(&f);
    fake_env(&f, "CONTENT_TYPE", "application/json");
    arc_req r;
    memset(&r, 0, sizeof r);
    r.fcgx = &f.req;
    r.method = ARC_POST;
    r.method_name = "POST";
    r.path = "/x";
    r.body = body;
    r.body_len = size;

    json_object *obj = NULL;
    if (arc_req_read_json(&r, &obj) == 0) {
        if (obj == NULL || !json_object_is_type(obj, json_type_object) || r.responded)
            abort();
        json_object *fields = NULL;
        const char *s;
        size_t len;
        int64_t v;
        bool b;
        if (arc_json_string(obj, "name", ARC_REQUIRED, 1, 200, &s, &len, &fields) == 0 &&
            !arc_utf8_valid(s, len))
            abort();
        if (arc_json_int(obj, "price", ARC_REQUIRED, 0, 999999999999, &v, &fields) == 0 &&
            (v < 0 || v > 999999999999))
            abort();
        (void)arc_json_bool(obj, "active", ARC_NULLABLE, &b, &fields);
        arc_respond_invalid(&r, fields);
        json_object_put(obj);
    } else if (!r.responded || r.status != 400) {
        abort();
    }
    (void)fake_output(&f);
    arc_req_cleanup(&r);
    fake_cleanup(&f);
    free(body);
    return 0;
}
