/*
 * migrate_test.c - arc_migrate_run / arc_migrate_run_file against a real
 * MariaDB. Runs only when ARCADE_TEST_DB_SOCKET (or ARCADE_TEST_DB_HOST/PORT),
 * ARCADE_TEST_DB_USER, ARCADE_TEST_DB_PASSWORD and ARCADE_TEST_DB_NAME are set;
 * otherwise every test is skipped. Drops and creates schema_migrations and
 * tables named mig_test_* in that schema: use a throwaway schema.
 */
#include "arc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcade/migrate.h"

static struct arc_db_config cfg;
static bool have_db;
static char dir[256];

static void
write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
remove_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static const char *const names[] = {"0001_create_a.sql", "0002_create_b.sql", "0003_bad.sql",
                                    "0003_create_c.sql", "0004_Bad_Name.sql", "README",
                                    "demo.sql"};

/* Empties the migrations directory and drops the test tables. */
static void
clean(void)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        remove_file(names[i]);
    MYSQL *m = arc_test_db_connect();
    arc_test_db_query(m,
                      "DROP TABLE IF EXISTS schema_migrations, mig_test_b, mig_test_a, mig_test_c,"
                      " mig_test_demo");
    mysql_close(m);
}

static int
group_setup(void **state)
{
    if (!arc_test_db_config(&cfg))
        return 0; /* have_db stays false: every test skips */
    arc_test_tmpdir(dir, sizeof dir);
    have_db = true;
    return 0;
}

static int
group_teardown(void **state)
{
    if (!have_db)
        return 0;
    clean();
    arc_test_tmpdir_remove(dir);
    return 0;
}

#define NEED_DB() ARC_TEST_NEED(have_db, "no test database (run under tests/with-test-db)")

static void
test_applies_in_order_once(void **state)
{
    NEED_DB();
    clean();
    /* Several statements, comments, a trailing comment, a result set. */
    write_file("0002_create_b.sql", "-- b depends on a\n"
                                    "CREATE TABLE mig_test_b (id INT PRIMARY KEY,\n"
                                    "  a_id INT NOT NULL, FOREIGN KEY (a_id) REFERENCES "
                                    "mig_test_a (id)) ENGINE=InnoDB;\n"
                                    "INSERT INTO mig_test_b VALUES (1, 1);\n"
                                    "SELECT COUNT(*) FROM mig_test_b; -- trailing\n");
    write_file("0001_create_a.sql", "CREATE TABLE mig_test_a (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                                    "INSERT INTO mig_test_a VALUES (1), (2);\n");
    write_file("0004_Bad_Name.sql", "this is not SQL and must be ignored");
    write_file("README", "not a migration");
    write_file("demo.sql", "not a migration either");

    assert_int_equal(arc_migrate_run(&cfg, dir), 0);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM schema_migrations"), 2);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM mig_test_b"), 1);
    assert_int_equal(
        arc_test_db_int("SELECT LENGTH(checksum) FROM schema_migrations WHERE version = 1"), 64);
    /* Run again: nothing to do (the INSERTs would fail on duplicate keys). */
    assert_int_equal(arc_migrate_run(&cfg, dir), 0);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM mig_test_a"), 2);

    /* A new file is applied on the next run. */
    write_file("0003_create_c.sql", "CREATE TABLE mig_test_c (id INT) ENGINE=InnoDB;");
    assert_int_equal(arc_migrate_run(&cfg, dir), 0);
    assert_int_equal(arc_test_db_int("SELECT MAX(version) FROM schema_migrations"), 3);
    remove_file("0003_create_c.sql");
}

static void
test_changed_file_is_an_error(void **state)
{
    NEED_DB();
    clean();
    write_file("0001_create_a.sql", "CREATE TABLE mig_test_a (id INT PRIMARY KEY);\n");
    assert_int_equal(arc_migrate_run(&cfg, dir), 0);
    write_file("0001_create_a.sql", "CREATE TABLE mig_test_a (id INT PRIMARY KEY); -- edited\n");
    assert_int_equal(arc_migrate_run(&cfg, dir), -1);
    remove_file("0001_create_a.sql");
}

static void
test_duplicate_version_is_an_error(void **state)
{
    NEED_DB();
    clean();
    write_file("0003_create_c.sql", "CREATE TABLE mig_test_c (id INT);");
    write_file("0003_bad.sql", "CREATE TABLE mig_test_c (id INT);");
    assert_int_equal(arc_migrate_run(&cfg, dir), -1);
    /* Nothing ran. */
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                     "table_schema = DATABASE() AND table_name = 'mig_test_c'"),
                     0);
    remove_file("0003_create_c.sql");
    remove_file("0003_bad.sql");
}

static void
test_failing_statement_stops_the_run(void **state)
{
    NEED_DB();
    clean();
    write_file("0001_create_a.sql", "CREATE TABLE mig_test_a (id INT PRIMARY KEY);\n");
    write_file("0002_create_b.sql", "CREATE TABLE mig_test_b (id INT);\n"
                                    "SELEC broken;\n"
                                    "CREATE TABLE mig_test_c (id INT);\n");
    write_file("0003_create_c.sql", "CREATE TABLE mig_test_demo (id INT);\n");
    assert_int_equal(arc_migrate_run(&cfg, dir), -1);
    /* 0001 recorded; 0002 not (its first statement ran: DDL commits at once);
     * 0003 never started. */
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM schema_migrations"), 1);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                     "table_schema = DATABASE() AND table_name IN "
                                     "('mig_test_c', 'mig_test_demo')"),
                     0);
    remove_file("0001_create_a.sql");
    remove_file("0002_create_b.sql");
    remove_file("0003_create_c.sql");
}

static void
test_missing_dir_and_bad_credentials(void **state)
{
    NEED_DB();
    assert_int_equal(arc_migrate_run(&cfg, "/nonexistent/arcade-migrations"), -1);
    struct arc_db_config bad = cfg;
    bad.password = "certainly-not-the-password";
    assert_int_equal(arc_migrate_run(&bad, dir), -1);
}

static void
test_run_file(void **state)
{
    NEED_DB();
    clean();
    write_file("demo.sql", "CREATE TABLE mig_test_demo (id INT PRIMARY KEY, s TEXT);\n"
                           "INSERT INTO mig_test_demo VALUES (1, 'x;y'), (2, '-- not a comment');\n"
                           "/* a comment */ INSERT INTO mig_test_demo VALUES (3, 'z');\n");
    char path[512];
    snprintf(path, sizeof(path), "%s/demo.sql", dir);
    assert_int_equal(arc_migrate_run_file(&cfg, path), 0);
    assert_int_equal(arc_test_db_int("SELECT COUNT(*) FROM mig_test_demo"), 3);
    /* Running it again fails on the CREATE TABLE: the error is reported. */
    assert_int_equal(arc_migrate_run_file(&cfg, path), -1);
    assert_int_equal(arc_migrate_run_file(&cfg, "/nonexistent/demo.sql"), -1);
    /* A file of comments only is fine. */
    write_file("demo.sql", "-- nothing here\n");
    assert_int_equal(arc_migrate_run_file(&cfg, path), 0);
    remove_file("demo.sql");
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies_in_order_once),
        cmocka_unit_test(test_changed_file_is_an_error),
        cmocka_unit_test(test_duplicate_version_is_an_error),
        cmocka_unit_test(test_failing_statement_stops_the_run),
        cmocka_unit_test(test_missing_dir_and_bad_credentials),
        cmocka_unit_test(test_run_file),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
