/*
 * gen.c - generation counters in a shared memory mapping (see gen.h).
 *
 * The file holds a header and 2^n 64-bit counters; key k uses slot k mod 2^n.
 * Counters only grow, so a reader sees a change as a new value.
 */
#include "arcade/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_MAGIC 0x3147454e45435241ull /* "ARCEGEN1" */

struct gen_file {
    _Atomic uint64_t magic;
    uint64_t nslots;
    _Atomic uint64_t epoch;
    _Atomic uint64_t slots[];
};

struct arc_gen {
    struct gen_file *file;
    size_t map_len;
    uint64_t nslots;
};

arc_gen *
arc_gen_open(const char *path, unsigned slots_log2)
{
    if (slots_log2 < 4 || slots_log2 > 24) {
        errno = EINVAL;
        return NULL;
    }
    uint64_t nslots = UINT64_C(1) << slots_log2;
    size_t len = sizeof(struct gen_file) + nslots * sizeof(uint64_t);

    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto fail;
    /* A new file is sized once; ftruncate zero-fills, which is a valid table.
     * A file of another size was made for another slot count: refuse it. */
    if (st.st_size == 0 && ftruncate(fd, (off_t)len) != 0)
        goto fail;
    else if (st.st_size != 0 && (size_t)st.st_size != len) {
        errno = EINVAL;
        goto fail;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    close(fd);

    struct gen_file *f = p;
    /* Concurrent first openers may both write the header: same values. */
    f->nslots = nslots;
    atomic_store_explicit(&f->magic, GEN_MAGIC, memory_order_release);
    uint64_t none = 0, epoch = 0;
    while (epoch == 0)
        randombytes_buf(&epoch, sizeof epoch);
    atomic_compare_exchange_strong(&f->epoch, &none, epoch);

    arc_gen *g = arc_xmalloc(sizeof *g);
    g->file = f;
    g->map_len = len;
    g->nslots = nslots;
    return g;
fail:
    close(fd);
    return NULL;
}

void
arc_gen_close(arc_gen *g)
{
    if (g == NULL)
        return;
    munmap(g->file, g->map_len);
    free(g);
}

static inline _Atomic uint64_t *
slot_for(const arc_gen *g, uint64_t key)
{
    return &g->file->slots[key & (g->nslots - 1)];
}

uint64_t
arc_gen_get(const arc_gen *g, uint64_t key)
{
    return atomic_load_explicit(slot_for(g, key), memory_order_acquire);
}

void
arc_gen_bump(arc_gen *g, uint64_t key)
{
    atomic_fetch_add_explicit(slot_for(g, key), 1, memory_order_acq_rel);
}

uint64_t
arc_gen_epoch(const arc_gen *g)
{
    return atomic_load_explicit(&g->file->epoch, memory_order_acquire);
}
