/*
 * http.c - the HTTP vocabulary every part of the request path shares: methods,
 * strict numbers, the JSON media type, reason phrases.
 */
#include "arcade/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal/http_internal.h"

enum arc_method
arc_method_parse(const char *name)
{
    static const struct {
        const char *name;
        enum arc_method m;
    } methods[] = {
        {"GET", ARC_GET},     {"HEAD", ARC_HEAD},     {"POST", ARC_POST},       {"PUT", ARC_PUT},
        {"PATCH", ARC_PATCH}, {"DELETE", ARC_DELETE}, {"OPTIONS", ARC_OPTIONS},
    };
    if (name == NULL)
        return ARC_METHOD_OTHER;
    for (size_t i = 0; i < ARC_ARRAY_LEN(methods); i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].m;
    return ARC_METHOD_OTHER;
}

/* --- Numbers ------------------------------------------------------------------- */

int
arc_http_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == len)
        return -1;
    /* Accumulate as a negative number: its range includes INT64_MIN. */
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (v < (INT64_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    *out = v;
    return 0;
}

int
arc_parse_content_length(const char *s, size_t *out)
{
    if (s == NULL || *s == '\0') {
        *out = 0;
        return 0;
    }
    size_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* --- JSON body ----------------------------------------------------------------- */

bool
arc_content_type_is_json(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    ct += sizeof json - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

const char *
arc_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Unknown";
}

void
arc_http_methods_format(unsigned mask, char *out, size_t outlen)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {
        {ARC_GET, "GET"},     {ARC_HEAD, "HEAD"},     {ARC_POST, "POST"},       {ARC_PUT, "PUT"},
        {ARC_PATCH, "PATCH"}, {ARC_DELETE, "DELETE"}, {ARC_OPTIONS, "OPTIONS"},
    };
    if (outlen == 0)
        return;
    if (mask & ARC_GET)
        mask |= ARC_HEAD;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ARC_ARRAY_LEN(order); i++) {
        if (!(mask & order[i].bit))
            continue;
        int n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", order[i].name);
        if (n < 0 || (size_t)n >= outlen - len)
            return; /* truncated, still NUL-terminated */
        len += (size_t)n;
    }
}
