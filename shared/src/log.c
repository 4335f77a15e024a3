/*
 * log.c - JSON lines, one write(2) per line.
 *
 * {"ts":"2026-11-23T21:18:36.123Z","level":"info","service":"catalog","pid":42,...}
 * The file is opened O_APPEND, so whole lines from many workers never
 * interleave. Callers never pass request bodies or the Authorization header.
 */
#include "arcade/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arcade/config.h"
#include "internal/log_internal.h"

static int log_fd = 2;
static enum arc_log_level log_min = ARC_LOG_INFO;
static char log_service[64] = "arcade";
static const char *log_trace_id;
static arc_buf log_scratch;        /* for arc_log; reused for every line */
static const arc_buf *log_dropped; /* begun below the level: arc_log_end drops it */

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* getpid() is a system call on every line otherwise; a forked child starts
 * with the cache cleared. */
static pid_t log_pid;
static pthread_once_t log_atfork_once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
    log_pid = 0;
}

static void
register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static long
current_pid(void)
{
    if (log_pid == 0) {
        pthread_once(&log_atfork_once, register_atfork);
        log_pid = getpid();
    }
    return (long)log_pid;
}

int
arc_log_open(const char *service, const char *path)
{
    if (service != NULL)
        snprintf(log_service, sizeof log_service, "%s", service);
    int fd = 2;
    if (path != NULL && *path != '\0') {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0)
            return -1;
    }
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

int
arc_log_level_parse(const char *name, enum arc_log_level *out)
{
    for (size_t i = 0; name != NULL && i < ARC_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum arc_log_level)i;
            return 0;
        }
    }
    return -1;
}

int
arc_log_start(const struct arc_config *cfg)
{
    enum arc_log_level level = ARC_LOG_INFO;
    if (arc_log_level_parse(cfg->log_level, &level) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (arc_log_open(cfg->service, cfg->log_file) != 0)
        return -1;
    arc_log_set_level(level);
    return 0;
}

void
arc_log_close(void)
{
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    arc_buf_cleanup(&log_scratch);
}

void
arc_log_set_level(enum arc_log_level min)
{
    log_min = min;
}

bool
arc_log_enabled(enum arc_log_level level)
{
    return level >= log_min;
}

void
arc_log_set_trace(const char *trace_id)
{
    log_trace_id = trace_id;
}

/* RFC 3339 UTC with milliseconds: "2026-11-23T21:18:36.123Z" (24 bytes). */
static void
append_timestamp(arc_buf *b)
{
    static time_t cached_sec = (time_t)-1;
    static char cached[21]; /* "2026-11-23T21:18:36." */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S.", &tm);
        cached_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char tail[5] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z',
                    '\0'};
    arc_buf_append_str(b, cached);
    arc_buf_append(b, tail, 4);
}

void
arc_log_begin(arc_buf *line, enum arc_log_level level)
{
    if ((unsigned)level > ARC_LOG_ERROR)
        level = ARC_LOG_ERROR;
    log_dropped = arc_log_enabled(level) ? NULL : line;
    arc_buf_reset(line);
    arc_buf_append_str(line, "{\"ts\":\"");
    append_timestamp(line);
    arc_buf_append_str(line, "\",\"level\":\"");
    arc_buf_append_str(line, level_names[level]);
    arc_buf_append_str(line, "\",\"service\":");
    arc_buf_append_json_string(line, log_service, strlen(log_service));
    arc_buf_append_str(line, ",\"pid\":");
    arc_buf_append_uint(line, (uint64_t)current_pid());
}

static void
write_line(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        p += w;
        n -= (size_t)w;
    }
}

void
arc_log_end(arc_buf *line)
{
    if (line == log_dropped) {
        log_dropped = NULL;
        return;
    }
    arc_buf_append(line, "}\n", 2);
    write_line(line->ptr, line->len);
}

void
arc_log(enum arc_log_level level, const char *fmt, ...)
{
    if (!arc_log_enabled(level))
        return;
    int saved_errno = errno; /* callers may log, then look at errno */
    static arc_buf msg;
    arc_buf_reset(&msg);
    va_list ap;
    va_start(ap, fmt);
    arc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    arc_log_begin(&log_scratch, level);
    if (log_trace_id != NULL && *log_trace_id != '\0') {
        arc_buf_append_str(&log_scratch, ",\"trace_id\":");
        arc_buf_append_json_string(&log_scratch, log_trace_id, strlen(log_trace_id));
    }
    arc_buf_append_str(&log_scratch, ",\"msg\":");
    arc_buf_append_json_string(&log_scratch, msg.ptr ? msg.ptr : "", msg.len);
    arc_log_end(&log_scratch);
    errno = saved_errno;
}
