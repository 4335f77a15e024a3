/*
 * health_test.c - the health report's rules, one for every service: a broker
 * that is not configured is "disabled" and degrades nothing, one that does not
 * answer degrades, and dead letters degrade with their count in details.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arcade/json.h"
#include "arcade/log.h"
#include "arcade/health.h"
#include "fake_fcgx.h"

/* Answers the report over an in-memory request; returns the parsed body
 * (caller puts) and the status in *status. */
static json_object *
respond(struct arc_health *h, int *status)
{
    struct fake_fcgx f;
    fake_init(&f);
    arc_req r;
    memset(&r, 0, sizeof r);
    r.fcgx = &f.req;
    r.method = ARC_GET;
    arc_health_respond(&r, h);
    const char *out = fake_output(&f);
    *status = r.status;
    const char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    json_object *o = arc_json_parse(body + 4, strlen(body + 4), 8);
    assert_non_null(o);
    arc_req_cleanup(&r);
    fake_cleanup(&f);
    return o;
}

static const char *
member(json_object *o, const char *path1, const char *path2)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, path1, &v));
    if (path2 != NULL)
        assert_true(json_object_object_get_ex(v, path2, &v));
    return v != NULL ? json_object_get_string(v) : NULL;
}

static void
test_broker_not_configured_is_disabled(void **state)
{
    (void)state;
    struct arc_config cfg = {.amqp_url = ""};
    arc_amqp *slot = NULL;
    struct arc_health h;
    arc_health_init(&h);
    arc_health_add(&h, "db", ARC_OK, true);
    assert_null(arc_health_check_broker(&h, &slot, &cfg));
    assert_null(slot);
    int status = 0;
    json_object *o = respond(&h, &status);
    assert_int_equal(status, 200);
    assert_string_equal(member(o, "status", NULL), "ok");
    assert_string_equal(member(o, "checks", "broker"), "disabled");
    json_object_put(o);
}

static void
test_broker_not_answering_degrades(void **state)
{
    (void)state;
    /* Port 1 on loopback: refused at once. */
    struct arc_config cfg = {.amqp_url = "amqp://u:p@127.0.0.1:1/%2f"};
    arc_amqp *slot = NULL;
    struct arc_health h;
    arc_health_init(&h);
    assert_null(arc_health_check_broker(&h, &slot, &cfg));
    int status = 0;
    json_object *o = respond(&h, &status);
    assert_int_equal(status, 200);
    assert_string_equal(member(o, "status", NULL), "degraded");
    assert_string_equal(member(o, "checks", "broker"), "unavailable");
    json_object_put(o);
    arc_amqp_free(slot);
}

static void
test_dead_letters_degrade(void **state)
{
    (void)state;
    struct arc_health h;
    arc_health_init(&h);
    arc_health_add(&h, "db", ARC_OK, true);
    arc_health_dead_letters(&h, 4);
    int status = 0;
    json_object *o = respond(&h, &status);
    assert_int_equal(status, 200);
    assert_string_equal(member(o, "status", NULL), "degraded");
    assert_string_equal(member(o, "details", "dead_letters"), "4");
    json_object_put(o);

    arc_health_init(&h);
    arc_health_dead_letters(&h, 0);
    o = respond(&h, &status);
    assert_string_equal(member(o, "status", NULL), "ok");
    assert_string_equal(member(o, "details", "dead_letters"), "0");
    json_object_put(o);

    arc_health_init(&h);
    arc_health_dead_letters(&h, -1); /* unknown: the broker check says why */
    o = respond(&h, &status);
    assert_string_equal(member(o, "status", NULL), "ok");
    assert_null(member(o, "details", "dead_letters"));
    json_object_put(o);
}

int
main(void)
{
    arc_log_set_level(ARC_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_not_configured_is_disabled),
        cmocka_unit_test(test_broker_not_answering_degrades),
        cmocka_unit_test(test_dead_letters_degrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
