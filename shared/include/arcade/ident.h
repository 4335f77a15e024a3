/*
 * ident.h - the syntax of the identifiers services hand each other: product
 * SKUs and category slugs (docs/catalog-api.md). One definition, so that a
 * service reading the catalog's events accepts exactly what the catalog
 * writes.
 */
#ifndef ARCADE_IDENT_H
#define ARCADE_IDENT_H

#include "arcade/common.h"

#define ARC_SKU_MAX 64
#define ARC_SLUG_MAX 64

/* 1..ARC_SKU_MAX of ASCII letters, digits, '.', '_' and '-'. */
bool arc_sku_valid(const char *s, size_t len);
/* 1..ARC_SLUG_MAX of lower-case ASCII letters, digits and '-'. */
bool arc_slug_valid(const char *s, size_t len);

#endif
