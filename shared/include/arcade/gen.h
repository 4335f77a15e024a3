/*
 * gen.h - a table of generation counters in shared memory, mapped by every
 * worker of a service on one host. Writers bump the counter of what they
 * changed; readers keep a per-process copy of a document together with the
 * counter they saw and serve it only while the counter is unchanged. That lets
 * the hot path answer from process memory with no round trip, yet never serve
 * a document older than the last completed write on this host. Keys hash into
 * a fixed number of slots; a collision only costs a spurious miss.
 */
#ifndef ARCADE_GEN_H
#define ARCADE_GEN_H

#include "arcade/common.h"

typedef struct arc_gen arc_gen;

/* Maps (creating if needed) path with 2^slots_log2 counters. NULL on failure
 * (errno set): callers then run without a local cache. */
arc_gen *arc_gen_open(const char *path, unsigned slots_log2);
void arc_gen_close(arc_gen *g);

/* Counter for key (acquire ordering). */
uint64_t arc_gen_get(const arc_gen *g, uint64_t key);
void arc_gen_bump(arc_gen *g, uint64_t key);
/* A random non-zero number drawn when the table file was created. Counters
 * restart from zero with a new file, so anything keyed by counter values
 * elsewhere (memcached keys) must include the epoch too. */
uint64_t arc_gen_epoch(const arc_gen *g);

#endif
