/*
 * log.h - structured logging: one JSON object per line, written with a single
 * write(2) to an O_APPEND file so that lines from many workers never interleave.
 * spawn-fcgi points stdout/stderr at /dev/null, so services log to a file.
 */
#ifndef ARCADE_LOG_H
#define ARCADE_LOG_H

#include "arcade/buf.h"

enum arc_log_level { ARC_LOG_DEBUG, ARC_LOG_INFO, ARC_LOG_WARN, ARC_LOG_ERROR };

struct arc_config;

/* Opens the log of a service or daemon as configured: lines named
 * cfg->service, written to cfg->log_file (stderr when ""), from level
 * cfg->log_level (ARCADE_LOG_LEVEL) up. Every main calls it once, right after
 * arc_config_load, so the level applies to every pool and daemon alike.
 * Returns 0 or -1 (errno set). */
int arc_log_start(const struct arc_config *cfg) ARC_NODISCARD;

/* The primitive under arc_log_start, for tools and tests: path NULL or ""
 * logs to stderr; the level is left as it is. Returns 0 or -1 (errno set). */
int arc_log_open(const char *service, const char *path) ARC_NODISCARD;
void arc_log_close(void);
void arc_log_set_level(enum arc_log_level min);
/* "debug", "info", "warn" or "error" -> *out, returns 0; -1 when unknown. */
int arc_log_level_parse(const char *name, enum arc_log_level *out) ARC_NODISCARD;

/* The trace id of the request being served (borrowed until cleared with NULL);
 * added to every line logged meanwhile. */
void arc_log_set_trace(const char *trace_id);

/* {"ts":"…","level":"…","service":"…","pid":n,"trace_id":"…","msg":"…"} */
void arc_log(enum arc_log_level level, const char *fmt, ...) ARC_PRINTF(2, 3);

/* Starts a line with ts, level, service and pid already written, for callers
 * that add their own fields (the request line); finish with arc_log_end. */
void arc_log_begin(arc_buf *line, enum arc_log_level level);
void arc_log_end(arc_buf *line);

#define arc_log_error(...) arc_log(ARC_LOG_ERROR, __VA_ARGS__)
#define arc_log_warn(...) arc_log(ARC_LOG_WARN, __VA_ARGS__)
#define arc_log_info(...) arc_log(ARC_LOG_INFO, __VA_ARGS__)

#endif
