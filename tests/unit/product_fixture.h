/*
 * product_fixture.h - a catalog event's product document for the tests of its
 * readers (product_test.c, search_doc_test.c), variants of it, and refuses(),
 * which checks that the test's reader, read_doc (defined by the test), turns
 * a variant down. Include after cmocka.h.
 */
#ifndef PRODUCT_FIXTURE_H
#define PRODUCT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static const char good[] =
    "{\"id\":42,\"sku\":\"ARC-000042\",\"name\":\"Caf\xc3\xa9 Headphones\",\"description\":\"d\","
    "\"price\":6999,\"currency\":\"EUR\",\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":"
    "\"Audio\"},\"stock\":17,\"active\":true,\"created_at\":\"2026-11-23T21:18:36.123Z\","
    "\"updated_at\":\"2026-11-24T08:00:00.000Z\",\"category_path\":[\"electronics\",\"audio\"]}";

/* good with the text from..to replaced by with. */
static json_object *
variant(const char *from, const char *with)
{
    char text[2048];
    const char *at = strstr(good, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, with, at + strlen(from));
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

/* The reader under test: 0, or -1 with a reason in *why. */
static int read_doc(json_object *o, const char **why);

/* good with from replaced by with is not a product document for read_doc. */
static void
refuses(const char *from, const char *with)
{
    json_object *o = variant(from, with);
    const char *why = NULL;
    if (read_doc(o, &why) == 0)
        fail_msg("accepted with %s -> %s", from, with);
    assert_non_null(why);
    json_object_put(o);
}

#endif
