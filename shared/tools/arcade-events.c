/*
 * arcade-events - an operator's look at a consumer's dead letters, and their
 * replay (docs/events.md).
 *
 *   arcade-events dead <queue> [--max N]    lists the messages of <queue>.dead
 *                                           (at most N, default 100) and leaves
 *                                           them there
 *   arcade-events replay <queue> [--max N]  moves the messages of <queue>.dead
 *                                           back to <queue> (at most N, default
 *                                           all that were there at the start)
 *
 * <queue> is a consumer's queue ("search.catalog"; "search.catalog.dead" is
 * taken too). The broker comes from ARCADE_AMQP_URL. Listing takes the
 * messages without acknowledging them and closes the connection: the broker
 * puts them back. A replayed message is published to <queue> through the
 * default exchange (same id, type, traceparent and body; confirmed) before
 * its dead copy is acknowledged, so it may exist twice, never zero times; the
 * consumer's inbox makes a second copy harmless. It starts with no attempts
 * counted. Exit status 0 on success, 1 on any failure (message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arcade/amqp.h"
#include "arcade/config.h"
#include "arcade/log.h"

#define QUEUE_MAX 200
#define IDLE_MS 300 /* nothing arrived for this long: the queue is drained */
#define CONFIRM_MS 5000
#define LIST_DEFAULT 100
#define PREFETCH_MAX 1000 /* arc_amqp_consume's bound */

static int
usage(void)
{
    fprintf(stderr, "usage: arcade-events dead <queue> [--max N]\n"
                    "       arcade-events replay <queue> [--max N]\n");
    return 1;
}

static const char *
member(json_object *o, const char *name)
{
    json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, name, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* One line per dead letter: id, type, key and version (from the envelope when
 * the body is one), how often it was tried and why it was given up. */
static void
print_letter(const struct arc_amqp_delivery *d)
{
    json_tokener *tok = json_tokener_new_ex(16);
    json_object *root = tok ? json_tokener_parse_ex(tok, d->body.ptr, (int)d->body.len) : NULL;
    if (root != NULL && !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        root = NULL;
    }
    const char *id = d->message_id[0] ? d->message_id : member(root, "id");
    const char *type = d->type[0]               ? d->type
                       : d->dead_routing_key[0] ? d->dead_routing_key
                                                : member(root, "type");
    const char *key = root ? member(root, "key") : "(not an envelope)";
    char version[24] = "-";
    json_object *v;
    if (root != NULL && json_object_object_get_ex(root, "version", &v) &&
        json_object_is_type(v, json_type_int))
        snprintf(version, sizeof version, "%lld", (long long)json_object_get_int64(v));
    printf("%-32s  %-20s  %-20s  %7s  %8u  %s\n", id ? id : "-", type ? type : "-", key ? key : "-",
           version, d->dead_attempts, d->dead_reason[0] ? d->dead_reason : "-");
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
}

int
main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--max") == 0))
        return usage();
    bool replay = strcmp(argv[1], "replay") == 0;
    if (!replay && strcmp(argv[1], "dead") != 0)
        return usage();
    long max = replay ? 0 : LIST_DEFAULT; /* 0: every message there at the start */
    if (argc == 5) {
        char *end;
        errno = 0;
        max = strtol(argv[4], &end, 10);
        if (errno != 0 || *end != '\0' || end == argv[4] || max < 1 || max > 1000000) {
            fprintf(stderr, "arcade-events: --max takes a number from 1 to 1000000\n");
            return 1;
        }
    }
    char queue[QUEUE_MAX + 1], dead[QUEUE_MAX + 8];
    size_t qlen = strlen(argv[2]);
    if (qlen > 5 && strcmp(argv[2] + qlen - 5, ".dead") == 0)
        qlen -= 5;
    if (qlen == 0 || qlen > QUEUE_MAX) {
        fprintf(stderr, "arcade-events: bad queue name\n");
        return 1;
    }
    memcpy(queue, argv[2], qlen);
    queue[qlen] = '\0';
    snprintf(dead, sizeof dead, "%s.dead", queue);

    arc_log_set_level(ARC_LOG_ERROR); /* stderr; the messages below say what failed */
    const struct arc_amqp_options opt = {.urls = arc_env_str("ARCADE_AMQP_URL", "")};
    if (opt.urls[0] == '\0') {
        fprintf(stderr, "arcade-events: ARCADE_AMQP_URL is not set\n");
        return 1;
    }
    arc_amqp *a = arc_amqp_new(&opt);
    if (a == NULL) {
        fprintf(stderr, "arcade-events: bad ARCADE_AMQP_URL\n");
        return 1;
    }
    int status = 1;
    uint32_t waiting = 0, target = 0;
    const char *checked = dead;
    enum arc_err e = arc_amqp_queue_depth(a, dead, &waiting);
    if (e == ARC_OK && replay)
        e = arc_amqp_queue_depth(a, checked = queue, &target); /* where they go must exist */
    if (e != ARC_OK) {
        if (e == ARC_NOT_FOUND)
            fprintf(stderr, "arcade-events: no queue %s\n", checked);
        else
            fprintf(stderr, "arcade-events: broker: %s\n", arc_err_name(e));
        goto out;
    }
    unsigned long limit = waiting;
    if (max > 0 && (unsigned long)max < limit)
        limit = (unsigned long)max;
    if (!replay && limit > PREFETCH_MAX)
        limit = PREFETCH_MAX; /* unacknowledged at once */
    if (limit == 0) {
        printf("%s: no dead letters\n", dead);
        status = 0;
        goto out;
    }
    unsigned prefetch = replay ? (limit < 100 ? (unsigned)limit : 100) : (unsigned)limit;
    if ((e = arc_amqp_consume(a, dead, prefetch)) != ARC_OK) {
        fprintf(stderr, "arcade-events: consuming %s: %s\n", dead, arc_err_name(e));
        goto out;
    }
    if (!replay)
        printf("%-32s  %-20s  %-20s  %7s  %8s  %s\n", "ID", "TYPE", "KEY", "VERSION", "ATTEMPTS",
               "REASON");
    struct arc_amqp_delivery d;
    arc_amqp_delivery_init(&d);
    unsigned long n = 0;
    const char *failed = NULL;
    while (n < limit && failed == NULL) {
        if ((e = arc_amqp_next(a, IDLE_MS, &d)) != ARC_OK) {
            if (e != ARC_NOT_FOUND) /* ARC_NOT_FOUND: nothing more came */
                failed = "receiving";
            break;
        }
        if (!replay) {
            print_letter(&d);
            n++;
            continue;
        }
        struct arc_amqp_msg m = {
            .exchange = "",
            .routing_key = queue,
            .body = {d.body.ptr, d.body.len},
            .message_id = d.message_id[0] ? d.message_id : NULL,
            .type = d.type[0] ? d.type : NULL,
            .traceparent = d.traceparent[0] ? d.traceparent : NULL,
            .mandatory = true, /* the queue deleted meanwhile: the letter stays dead */
        };
        if ((e = arc_amqp_publish(a, &m, CONFIRM_MS)) != ARC_OK)
            failed = e == ARC_NOT_FOUND ? "publishing (queue gone)" : "publishing";
        else if ((e = arc_amqp_ack(a, &d)) != ARC_OK)
            failed = "acknowledging the dead copy (it may be replayed twice)";
        else
            n++;
    }
    arc_amqp_delivery_cleanup(&d);
    if (replay)
        printf("replayed %lu message(s) from %s to %s\n", n, dead, queue);
    else
        printf("%lu of %u dead letter(s) of %s shown; left in place\n", n, waiting, dead);
    if (failed != NULL)
        fprintf(stderr, "arcade-events: %s: %s\n", failed, arc_err_name(e));
    else
        status = 0;
out:
    arc_amqp_free(a); /* unacknowledged listings go back to the queue */
    return status;
}
