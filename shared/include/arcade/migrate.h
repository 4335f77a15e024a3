/*
 * migrate.h - forward-only schema migrations: sql/<service>/NNNN_name.sql,
 * applied in numeric order, each once, recorded in the service's own
 * schema_migrations table (version, name, checksum, applied_at). A file whose
 * checksum changed after it was applied is an error, not silently skipped.
 */
#ifndef ARCADE_MIGRATE_H
#define ARCADE_MIGRATE_H

#include "arcade/config.h"

/* Applies pending migrations from dir using cfg (the service's own DB user).
 * Prints one line per applied file to stdout. Returns 0 or -1 (message on stderr). */
int arc_migrate_run(const struct arc_db_config *cfg, const char *dir) ARC_NODISCARD;

/* Runs one SQL file (several statements) as it is, e.g. demo data. */
int arc_migrate_run_file(const struct arc_db_config *cfg, const char *path) ARC_NODISCARD;

#endif
