/*
 * address.h - the rules of a postal address, one for the shop: the users
 * service's address book and the orders service's shipping address validate
 * with them. Pure functions, no I/O.
 */
#ifndef ARCADE_ADDRESS_H
#define ARCADE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* Field limits, in characters. */
#define ARC_ADDR_NAME_MAX 100
#define ARC_ADDR_LINE_MAX 200
#define ARC_ADDR_CITY_MAX 100
#define ARC_ADDR_POSTAL_MAX 20
#define ARC_ADDR_PHONE_MAX 32

/* ISO 3166-1 alpha-2, upper case, assigned codes only. */
bool arc_country_known(const char *code, size_t len);
/* 0..ARC_ADDR_PHONE_MAX of digits, spaces, + - ( ) . with at least one digit
 * when not empty. */
bool arc_phone_valid(const char *s, size_t len);

#endif
