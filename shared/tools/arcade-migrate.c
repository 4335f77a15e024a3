/*
 * arcade-migrate - applies a service's schema migrations, or runs one SQL file.
 *
 *   arcade-migrate <service> <dir>          pending sql/<service>/NNNN_*.sql files
 *   arcade-migrate --file <service> <path>  one file as it is (e.g. demo data)
 *
 * Database settings come from the service's environment (ARCADE_DB_HOST, _PORT,
 * _SOCKET, _USER, _PASSWORD, _NAME): the service's own DB user and schema.
 * Exit status 0 on success, 1 on any failure (with a message on stderr).
 */
#include <stdio.h>
#include <string.h>

#include "arcade/config.h"
#include "arcade/migrate.h"

static int
usage(void)
{
    fprintf(stderr, "usage: arcade-migrate <service> <migrations-dir>\n"
                    "       arcade-migrate --file <service> <sql-file>\n");
    return 1;
}

int
main(int argc, char **argv)
{
    bool file_mode = argc == 4 && strcmp(argv[1], "--file") == 0;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    if (!file_mode && (argc != 3 || argv[1][0] == '-'))
        return usage();
    const char *service = argv[file_mode ? 2 : 1];
    const char *target = argv[file_mode ? 3 : 2];

    struct arc_config cfg;
    if (arc_config_load(&cfg, service) != 0) {
        fprintf(stderr, "arcade-migrate: bad configuration for %s\n", service);
        return 1;
    }
    if (file_mode) {
        if (arc_migrate_run_file(&cfg.db, target) != 0) {
            fprintf(stderr, "arcade-migrate: %s: %s failed\n", service, target);
            return 1;
        }
        printf("ran %s\n", target);
        return 0;
    }
    if (arc_migrate_run(&cfg.db, target) != 0) {
        fprintf(stderr, "arcade-migrate: %s: migrations in %s failed\n", service, target);
        return 1;
    }
    return 0;
}
