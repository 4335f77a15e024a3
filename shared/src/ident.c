/*
 * ident.c - SKU and slug syntax (see ident.h).
 */
#include "arcade/ident.h"

bool
arc_sku_valid(const char *s, size_t len)
{
    if (len == 0 || len > ARC_SKU_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
arc_slug_valid(const char *s, size_t len)
{
    if (len == 0 || len > ARC_SLUG_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}
