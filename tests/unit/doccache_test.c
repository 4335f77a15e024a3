/*
 * doccache_test.c - the read-through document cache: loads once, serves from
 * memory while the generation holds, reloads after an invalidation made by
 * another handle (another worker) on the same shared table, and never caches
 * what the loader refuses. memcached is left out (NULL): it has its own test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arcade/doccache.h"

struct source {
    int loads;
    int version;
    bool hidden;
};

static enum arc_err
load(void *ud, int64_t id, arc_buf *out)
{
    struct source *src = ud;
    src->loads++;
    if (src->hidden)
        return ARC_NOT_FOUND;
    arc_buf_printf(out, "\"v%d\"\n{\"id\":%lld,\"v\":%d}", src->version, (long long)id,
                   src->version);
    return ARC_OK;
}

static char run_dir[64];

static struct arc_config
config(bool local)
{
    struct arc_config cfg = {0};
    cfg.service = "unittest";
    cfg.run_dir = run_dir;
    cfg.local_cache = local;
    return cfg;
}

static int
setup(void **state)
{
    (void)state;
    snprintf(run_dir, sizeof run_dir, "/tmp/arcade-doccache-XXXXXX");
    return mkdtemp(run_dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/arcade-unittest-thing.gen", run_dir);
    unlink(path);
    rmdir(run_dir);
    return 0;
}

static void
serves_from_memory_until_invalidated_elsewhere(void **state)
{
    (void)state;
    struct source src = {0, 1, false};
    struct arc_config cfg = config(true);
    arc_doccache *a = arc_doccache_new(&cfg, "thing", NULL, load, &src);
    arc_doccache *b = arc_doccache_new(&cfg, "thing", NULL, load, &src); /* another worker */
    struct arc_doc d;

    assert_int_equal(arc_doccache_get(a, 7, &d), ARC_OK);
    assert_int_equal(src.loads, 1);
    assert_memory_equal(d.tag.ptr, "\"v1\"", d.tag.len);
    assert_int_equal(d.body.len, strlen("{\"id\":7,\"v\":1}"));
    assert_memory_equal(d.body.ptr, "{\"id\":7,\"v\":1}", d.body.len);
    assert_int_equal(arc_doccache_get(a, 7, &d), ARC_OK);
    assert_int_equal(src.loads, 1); /* from memory */

    src.version = 2;               /* a write ... */
    arc_doccache_invalidate(b, 7); /* ... committed by another worker */
    assert_int_equal(arc_doccache_get(a, 7, &d), ARC_OK);
    assert_int_equal(src.loads, 2);
    assert_memory_equal(d.body.ptr, "{\"id\":7,\"v\":2}", d.body.len);

    /* Other ids are not disturbed. */
    assert_int_equal(arc_doccache_get(a, 8, &d), ARC_OK);
    assert_int_equal(src.loads, 3);
    arc_doccache_invalidate(b, 7);
    assert_int_equal(arc_doccache_get(a, 8, &d), ARC_OK);
    assert_int_equal(src.loads, 3);
    arc_doccache_free(a);
    arc_doccache_free(b);
}

static void
refused_documents_are_not_cached(void **state)
{
    (void)state;
    struct source src = {0, 1, true};
    struct arc_config cfg = config(true);
    arc_doccache *a = arc_doccache_new(&cfg, "thing", NULL, load, &src);
    struct arc_doc d;
    assert_int_equal(arc_doccache_get(a, 9, &d), ARC_NOT_FOUND);
    assert_int_equal(arc_doccache_get(a, 9, &d), ARC_NOT_FOUND);
    assert_int_equal(src.loads, 2);
    src.hidden = false; /* made visible, and the writer invalidates */
    arc_doccache_invalidate(a, 9);
    assert_int_equal(arc_doccache_get(a, 9, &d), ARC_OK);
    arc_doccache_free(a);
}

static void
without_local_cache_every_read_loads(void **state)
{
    (void)state;
    struct source src = {0, 1, false};
    struct arc_config cfg = config(false);
    arc_doccache *a = arc_doccache_new(&cfg, "thing", NULL, load, &src);
    struct arc_doc d;
    assert_int_equal(arc_doccache_get(a, 1, &d), ARC_OK);
    assert_int_equal(arc_doccache_get(a, 1, &d), ARC_OK);
    assert_int_equal(src.loads, 2);
    arc_doccache_invalidate(a, 1); /* no cache at all: harmless */
    arc_doccache_free(a);
    arc_doccache_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(serves_from_memory_until_invalidated_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_documents_are_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(without_local_cache_every_read_loads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
