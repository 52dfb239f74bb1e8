/*
 * cap_reader.h — a bounded big-endian cursor over one component's bytes,
 * for the host's readers of CAP components (cap_debug.c, the converter's
 * export_cap.c).
 *
 * A read past the end does not stop the caller: it yields 0, leaves the
 * cursor at the end and sets `bad`, so a reader takes a whole structure
 * field by field and checks `bad` once where a decision depends on it.
 * (The card's own parser, vm/cap_format.c, checks every count against the
 * component before it reads; the host's readers are short and linear.)
 */
#ifndef CARDVM_TOOLS_CAP_READER_H
#define CARDVM_TOOLS_CAP_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct cap_reader {
    const uint8_t *p;
    size_t n, at;
    int bad;
} cap_reader;

/* The next `bytes` (1 to 4) bytes as an unsigned big-endian number. */
static inline unsigned cap_reader_get(cap_reader *r, unsigned bytes)
{
    if (r->at + bytes > r->n) {
        r->bad = 1;
        r->at = r->n;
        return 0;
    }
    unsigned v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = (v << 8) | r->p[r->at++];
    return v;
}

static inline void cap_reader_skip(cap_reader *r, size_t bytes)
{
    if (bytes > r->n - r->at) {
        r->bad = 1;
        r->at = r->n;
    } else {
        r->at += bytes;
    }
}

#endif
