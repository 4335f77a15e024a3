/*
 * internal/log_internal.h - log helpers private to the library.
 */
#ifndef ARCADE_INTERNAL_LOG_INTERNAL_H
#define ARCADE_INTERNAL_LOG_INTERNAL_H

#include "arcade/log.h"

/* True when a line of this level would be written: lets callers skip building
 * a line nobody will read. */
bool arc_log_enabled(enum arc_log_level level);

#endif
