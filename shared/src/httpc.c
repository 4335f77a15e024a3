/*
 * httpc.c - service-to-service HTTP calls through one libcurl easy handle per
 * worker. curl_easy_reset between calls clears the options but keeps the
 * connection cache, so consecutive calls to the same host reuse a kept-alive
 * connection. Workers are single-threaded: CURLOPT_NOSIGNAL keeps libcurl's
 * resolver timeouts away from signals, which the accept loop owns.
 */
#include "arcade/httpc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "arcade/log.h"

#define HTTPC_BODY_MAX (1024 * 1024)
#define HTTPC_CONNECT_MAX_MS 1000u

struct arc_httpc {
    CURL *curl;
    unsigned timeout_ms;
    bool too_big; /* the last answer exceeded HTTPC_BODY_MAX */
};

struct sink {
    arc_httpc *h;
    arc_buf *body;
};

static bool curl_ready;

arc_httpc *
arc_httpc_new(unsigned timeout_ms)
{
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            arc_log_error("httpc: curl_global_init failed");
            return NULL;
        }
        curl_ready = true;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        arc_log_error("httpc: curl_easy_init failed");
        return NULL;
    }
    arc_httpc *h = arc_xcalloc(1, sizeof *h);
    h->curl = curl;
    h->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    return h;
}

void
arc_httpc_free(arc_httpc *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb; /* size is always 1 */
    if (n > HTTPC_BODY_MAX - s->body->len) {
        s->h->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    arc_buf_append(s->body, ptr, n);
    return n;
}

enum arc_err
arc_httpc_request(arc_httpc *h, const char *method, const char *url, const char *const *headers,
                  const void *body, size_t body_len, const struct arc_trace *trace,
                  struct arc_httpc_response *out)
{
    enum arc_err rc = ARC_UNAVAILABLE;
    struct curl_slist *list = NULL, *tmp = NULL;
    char tp[sizeof "traceparent: " + ARC_TRACEPARENT_LEN + 1];
    struct sink sink = {h, &out->body};
    CURL *c = h->curl;

    out->status = 0;
    arc_buf_reset(&out->body);
    h->too_big = false;
    curl_easy_reset(c);

    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if ((tmp = curl_slist_append(list, headers[i])) == NULL)
            goto oom;
        list = tmp;
    }
    if (trace != NULL) {
        char value[ARC_TRACEPARENT_LEN + 1];
        arc_trace_format(trace, value);
        memcpy(tp, "traceparent: ", sizeof "traceparent: " - 1);
        memcpy(tp + sizeof "traceparent: " - 1, value, sizeof value);
        if ((tmp = curl_slist_append(list, tp)) == NULL)
            goto oom;
        list = tmp;
    }
    if ((tmp = curl_slist_append(list, "Expect:")) == NULL) /* no 100-continue round trip */
        goto oom;
    list = tmp;

    unsigned connect_ms =
        h->timeout_ms < HTTPC_CONNECT_MAX_MS ? h->timeout_ms : HTTPC_CONNECT_MAX_MS;
    CURLcode e = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (e == CURLE_OK)                                                                         \
            e = curl_easy_setopt(c, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTPHEADER, list);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &sink);
    SET(CURLOPT_USERAGENT, "arcade-httpc/1");
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
    if (body != NULL) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SET(CURLOPT_POSTFIELDS, body);
    }
#undef SET
    if (e == CURLE_OK)
        e = curl_easy_perform(c);
    if (e != CURLE_OK) {
        if (h->too_big)
            arc_log_warn("httpc: %s %s: answer larger than %d bytes", method, url, HTTPC_BODY_MAX);
        else
            arc_log_warn("httpc: %s %s: %s", method, url, curl_easy_strerror(e));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    out->status = (int)status;
    rc = ARC_OK;
    goto out;
oom:
    arc_log_error("httpc: out of memory building headers");
out:
    curl_slist_free_all(list);
    return rc;
}
