/*
 * arcade-floor - the FastCGI floor for `arcade bench`.
 *
 * A minimal FCGX responder that uses libfcgi only (not the shared library, even
 * though the build links it): it answers every request with one fixed product
 * document of the catalog's shape and a minimal header set. Whatever the catalog
 * costs above this responder is the catalog's own work (routing, parsing, cache,
 * logging); whatever this costs above a static file is the FastCGI hop.
 *
 * Started like every pool: spawn-fcgi hands over the listening socket as fd 0.
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Same shape and about the same size as GET /api/v1/products/{id}. */
static const char BODY[] =
    "{\"id\":4242,\"sku\":\"ARC-004242\",\"name\":\"Wireless Headphones 4242\","
    "\"description\":\"Demo product number 4242. Sturdy, useful and reasonably priced.\","
    "\"price\":33397,\"currency\":\"EUR\","
    "\"category\":{\"id\":2,\"slug\":\"audio\",\"name\":\"Audio\"},"
    "\"stock\":102,\"active\":true,"
    "\"created_at\":\"2026-01-03T22:42:00Z\",\"updated_at\":\"2026-01-03T22:42:00Z\"}";

static void
on_term(int sig)
{
    (void)sig;
    FCGX_ShutdownPending();
}

int
main(void)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
    static char head[128];
    size_t body_len = sizeof BODY - 1;
    int head_len;
    FCGX_Request req;
    struct sigaction sa;

    /* Every signal a supervisor may send for a graceful stop, as the services'
     * accept loop does (shared/src/server.c): TERM and INT, USR1 (libfcgi's
     * convention), HUP, and QUIT, which Debian's multiwatch 1.0 sends its
     * children when told -s TERM. No SA_RESTART: a blocked accept() returns so
     * that the loop can end. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
        if (sigaction(stop_signals[i], &sa, NULL) != 0)
            return 1;
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    /* The header block is built once; the length is its only variable part. */
    head_len = snprintf(head, sizeof head,
                        "Status: 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        body_len);
    if (head_len < 0 || (size_t)head_len >= sizeof head)
        return 1;

    if (FCGX_Init() != 0)
        return 1;
    if (FCGX_InitRequest(&req, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(head, head_len, req.out);
        FCGX_PutStr(BODY, (int)body_len, req.out);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    return 0;
}
