/*
 * doc.c - the product document every catalog event carries (and the export
 * serves), read with the shared reader (arc_product_read: the catalog's own
 * rules), then shaped for the read model. Pure functions, no I/O.
 */
#include "search.h"

#include <string.h>

/* n digits of s as a number, or -1. */
static int
digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

bool
rfc3339_to_db(const char *s, size_t len, char out[24])
{
    /* YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[len - 1] != 'Z')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return false;
    char ms[4] = "000";
    size_t frac = len - 20; /* characters between the seconds and 'Z' */
    if (frac > 0) {
        if (s[19] != '.' || frac < 2 || frac > 7 || digits(s + 20, frac - 1) < 0)
            return false;
        for (size_t i = 0; i < 3 && i < frac - 1; i++)
            ms[i] = s[20 + i];
    }
    memcpy(out, s, 10);
    out[10] = ' ';
    memcpy(out + 11, s + 11, 8);
    out[19] = '.';
    memcpy(out + 20, ms, 3);
    out[23] = '\0';
    return true;
}

/* The slugs of doc->p.path joined with '/'; fits: at most CATEGORY_PATH_MAX
 * slugs of SLUG_MAX, each with a separator. */
static void
join_path(struct product_doc *doc)
{
    size_t at = 0;
    for (size_t i = 0; i < doc->p.npath; i++) {
        if (i > 0)
            doc->path_str[at++] = '/';
        memcpy(doc->path_str + at, doc->p.path[i].ptr, doc->p.path[i].len);
        at += doc->p.path[i].len;
    }
    doc->path_str[at] = '\0';
}

int
product_doc_read(json_object *data, struct product_doc *doc, const char **why)
{
    memset(doc, 0, sizeof *doc);
    if (arc_product_read(data, ARC_PRODUCT_WITH_PATH, &doc->p, why) != 0)
        return -1;
    if (!rfc3339_to_db(doc->p.created_at.ptr, doc->p.created_at.len, doc->created_at) ||
        !rfc3339_to_db(doc->p.updated_at.ptr, doc->p.updated_at.len, doc->updated_at)) {
        *why = "created_at or updated_at is not an RFC 3339 UTC time";
        return -1;
    }
    join_path(doc);
    return 0;
}
