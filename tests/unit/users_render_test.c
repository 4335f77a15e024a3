/*
 * users_render_test.c - the users service's documents (render.c): users,
 * addresses and times, as the API shows them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi-bin/users/render.c"

#define S(lit) ((arc_str){(lit), sizeof(lit) - 1})

static void
assert_json(json_object *o, const char *expect)
{
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), expect);
    json_object_put(o);
}

static void
renders_users(void **state)
{
    struct user_row u = {.id = 7, .role = ARC_ROLE_ADMIN};
    strcpy(u.email, "ada@example.com");
    strcpy(u.name, "Ada \"the Countess\" Lovelace \xf0\x9f\x98\x80");
    strcpy(u.created_at, "2026-11-23T21:18:36.123Z");
    assert_json(user_json(&u), "{\"id\":7,\"email\":\"ada@example.com\",\"name\":\"Ada \\\"the "
                               "Countess\\\" Lovelace \xf0\x9f\x98\x80\",\"role\":\"admin\","
                               "\"created_at\":\"2026-11-23T21:18:36.123Z\"}");
    u.role = ARC_ROLE_CUSTOMER;
    json_object *o = user_json(&u);
    json_object *role;
    assert_true(json_object_object_get_ex(o, "role", &role));
    assert_string_equal(json_object_get_string(role), "customer");
    json_object_put(o);
}

static void
renders_addresses(void **state)
{
    struct address_row a = {
        .id = 3,
        .name = S("Ada"),
        .line1 = S("Stra\xc3\x9f"
                   "e 1"),
        .line2 = S(""),
        .city = S("Berlin"),
        .postal_code = S("10115"),
        .country = S("DE"),
        .phone = S("+49 30 1234"),
        .created_at = S("2026-11-23T21:18:36.000Z"),
    };
    assert_json(address_json(&a),
                "{\"id\":3,\"name\":\"Ada\",\"line1\":\"Stra\xc3\x9f"
                "e 1\",\"line2\":\"\",\"city\":\"Berlin\",\"postal_code\":\"10115\","
                "\"country\":\"DE\",\"phone\":\"+49 30 1234\","
                "\"created_at\":\"2026-11-23T21:18:36.000Z\"}");
    /* Lengths, not NUL terminators, bound the values (borrowed from a row). */
    a.city = (arc_str){"Berlin-Mitte", 6};
    json_object *o = address_json(&a), *city;
    assert_true(json_object_object_get_ex(o, "city", &city));
    assert_string_equal(json_object_get_string(city), "Berlin");
    json_object_put(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_users),
        cmocka_unit_test(renders_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
