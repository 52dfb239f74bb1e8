/*
 * chip.c — chip memory regions, commit, tear injection, NVM heap. What a
 * commit contains is decided here; how the image file makes it durable is
 * the pager's business (pager.h, docs/image-format.md).
 */
#include "chip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pager.h"

#define IMAGE_FLAG_MASKING 0x1u

/* Heap block header: u16 kind (0 = free), u16 id, u32 payload size. */
#define HEAP_HDR 8u
#define HEAP_ALIGN 4u
#define HEAP_KIND_FREE 0u
/* A split leaves a free remainder only when it can hold something useful. */
#define HEAP_MIN_SPLIT (HEAP_HDR + 16u)

struct chip {
    chip_geometry geo;
    char *path;
    uint32_t flags;            /* IMAGE_FLAG_* of the working state */
    uint32_t committed_flags;  /* ... as last committed */
    enum chip_durability durability;
    unsigned lock_wait_ms;
    int read_only;
    chip_io io;
    pager *pg;                 /* NULL for a memory-only chip */
    int file_written;          /* the image file holds this chip */
    int rom_dirty;             /* ROM changed since the file was written */

    uint8_t *rom;
    uint8_t *nvm, *nvm_committed;
    uint8_t *otp, *otp_committed;
    uint8_t *ram;
    uint32_t ram_reserved;

    uint32_t pages;            /* nvm_size / nvm_page_size */
    uint32_t page_shift;
    uint32_t *wear;            /* per NVM page, lifetime writes */
    /* Per page: PAGE_DIRTY written since the last commit (working differs),
     * PAGE_PENDING committed in memory or wear changed, but not yet in the
     * file. Each set also has a list, so a commit is O(pages written). */
    uint8_t *page_state;
    uint32_t *dirty_list, ndirty;
    uint32_t *pending_list, npending;
    int dirty;                 /* any NVM/OTP write since commit */
    int otp_dirty, otp_pending;
    int scrub;                 /* a heap block was freed: wipe old copies at commit */
    pager_page *rec_pages;     /* commit scratch: one entry per page */
    uint8_t *page_scratch;     /* chip_commit_now page images */

    uint64_t nvm_page_writes, otp_writes, commits;
    uint64_t epoch;            /* chip_epoch: +1 whenever working NVM/OTP/ROM may have changed */

    /* Buffer extents: ROM is zero from rom_clean_from on, both NVM copies
     * from nvm_hwm on (a close wipes only below it, an open zeroes only what
     * a recycled buffer may still hold). */
    uint32_t rom_clean_from, nvm_hwm;
    chip_pool *pool;           /* where close puts the buffers back, or NULL */
    /* Payload offsets of heap blocks allocated since the file last got a
     * commit: their bytes never reached the file, so freeing one needs no
     * scrub (FRESH_MAX: more are simply not remembered). */
#define FRESH_MAX 8u
    uint32_t fresh[FRESH_MAX];
    unsigned nfresh;

    int powered;
    uint32_t tear_at;          /* 0 = disarmed */
    uint32_t writes_since_arm;
    int tear_fired;
    char err[400];
};

#define PAGE_DIRTY 1u
#define PAGE_PENDING 2u

/* Chips closed by one thread, kept with their buffers for its next opens. */
#define POOL_MAX 2u
struct chip_pool {
    chip *spare[POOL_MAX];
    unsigned n;
};

static int range_ok(uint32_t off, size_t len, uint32_t size);
static int lock_for_commit(chip *c);

const char *chip_strerror(int status)
{
    switch (status) {
    case CHIP_OK: return "ok";
    case CHIP_ERR_RANGE: return "offset or length outside the region";
    case CHIP_ERR_ROM: return "ROM is read-only after masking";
    case CHIP_ERR_OTP: return "OTP bits can only be burnt, not cleared";
    case CHIP_ERR_POWER: return "power lost";
    case CHIP_ERR_FULL: return "memory full";
    case CHIP_ERR_IO: return "card image file I/O error";
    case CHIP_ERR_FORMAT: return "not a valid card image";
    case CHIP_ERR_VERSION: return "card image of an unsupported format version";
    case CHIP_ERR_ARG: return "bad argument";
    case CHIP_ERR_NOMEM: return "out of host memory";
    default: return "unknown error";
    }
}

void chip_geometry_default(chip_geometry *g)
{
    g->rom_size = 256u * 1024u;
    g->nvm_size = 128u * 1024u;
    g->nvm_page_size = 64u;
    g->ram_size = 8u * 1024u;
    g->otp_size = 64u;
}

/* ---- little-endian helpers for the file header ---- */
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int geometry_ok(const chip_geometry *g)
{
    uint32_t ps = g->nvm_page_size;
    if (ps < 16 || ps > 4096 || (ps & (ps - 1)) != 0) return 0;
    if (g->nvm_size < CHIP_NVM_SYSTEM_SIZE + 2 * HEAP_HDR + 64 || g->nvm_size % ps != 0) return 0;
    if (g->nvm_size > 64u * 1024u * 1024u || g->rom_size > 64u * 1024u * 1024u) return 0;
    if (g->ram_size < 256 || g->ram_size > 1024u * 1024u) return 0;
    if (g->otp_size < 8 || g->otp_size > 4096) return 0;
    return 1;
}


static void chip_free_buffers(chip *c)
{
    pager_close(c->pg);
    free(c->path);
    free(c->rom);
    free(c->nvm);
    free(c->nvm_committed);
    free(c->otp);
    free(c->otp_committed);
    free(c->ram);
    free(c->wear);
    free(c->page_state);
    free(c->dirty_list);
    free(c->pending_list);
    free(c->rec_pages);
    free(c->page_scratch);
    free(c);
}

static unsigned lock_wait_default(void)
{
    const char *e = getenv("CARDVM_LOCK_WAIT_MS");
    if (e && *e) {
        char *end;
        unsigned long v = strtoul(e, &end, 10);
        if (*end == 0 && v <= 3600000ul) return (unsigned)v;
    }
    return CHIP_LOCK_WAIT_MS;
}

/* A chip from the pool (same geometry: its buffers are zero as its extents
 * say), or a new one with zeroed buffers. */
static int chip_alloc(const chip_geometry *g, const char *path, chip_pool *pool, chip **out)
{
    chip *c = NULL;
    while (pool && pool->n && !c) {
        chip *p = pool->spare[--pool->n];
        if (memcmp(&p->geo, g, sizeof *g) == 0) c = p;
        else chip_free_buffers(p);
    }
    if (c) {
        chip keep = *c;
        memset(c, 0, sizeof *c);
        c->rom = keep.rom;
        c->nvm = keep.nvm;
        c->nvm_committed = keep.nvm_committed;
        c->otp = keep.otp;
        c->otp_committed = keep.otp_committed;
        c->ram = keep.ram;
        c->wear = keep.wear;
        c->page_state = keep.page_state;
        c->dirty_list = keep.dirty_list;
        c->pending_list = keep.pending_list;
        c->rec_pages = keep.rec_pages;
        c->rom_clean_from = keep.rom_clean_from;
        c->geo = *g;
        c->pages = keep.pages;
        c->page_shift = keep.page_shift;
        c->io = *chip_io_default();
        c->lock_wait_ms = lock_wait_default();
        c->pool = pool;
        if (path && !(c->path = strdup(path))) {
            chip_free_buffers(c);
            return CHIP_ERR_NOMEM;
        }
        *out = c;
        return CHIP_OK;
    }
    c = calloc(1, sizeof *c);
    if (!c) return CHIP_ERR_NOMEM;
    c->geo = *g;
    c->io = *chip_io_default();
    c->lock_wait_ms = lock_wait_default();
    c->pool = pool;
    c->pages = g->nvm_size / g->nvm_page_size;
    while ((1u << c->page_shift) < g->nvm_page_size) c->page_shift++;
    size_t rom = g->rom_size ? g->rom_size : 1;
    c->rom = calloc(1, rom);
    c->nvm = calloc(1, g->nvm_size);
    c->nvm_committed = calloc(1, g->nvm_size);
    c->otp = calloc(1, g->otp_size);
    c->otp_committed = calloc(1, g->otp_size);
    c->ram = calloc(1, g->ram_size);
    c->wear = calloc(c->pages, sizeof(uint32_t));
    c->page_state = calloc(c->pages, 1);
    /* lists: only entries below their counts are ever read */
    c->dirty_list = malloc(c->pages * sizeof(uint32_t));
    c->pending_list = malloc(c->pages * sizeof(uint32_t));
    c->rec_pages = malloc(c->pages * sizeof(pager_page));
    c->page_scratch = NULL;
    if (path) c->path = strdup(path);
    if (!c->rom || !c->nvm || !c->nvm_committed || !c->otp || !c->otp_committed || !c->ram ||
        !c->wear || !c->page_state || !c->dirty_list || !c->pending_list || !c->rec_pages ||
        (path && !c->path)) {
        chip_free_buffers(c);
        return CHIP_ERR_NOMEM;
    }
    *out = c;
    return CHIP_OK;
}

/* ---- heap formatting (create) ---- */
static int heap_write_hdr(chip *c, uint32_t at, uint16_t kind, uint16_t id, uint32_t size)
{
    uint8_t h[HEAP_HDR];
    put16(h, kind);
    put16(h + 2, id);
    put32(h + 4, size);
    return chip_nvm_write(c, at, h, sizeof h);
}

static void heap_read_hdr(const chip *c, uint32_t at, uint16_t *kind, uint16_t *id, uint32_t *size)
{
    const uint8_t *h = c->nvm + at;
    *kind = get16(h);
    *id = get16(h + 2);
    *size = get32(h + 4);
}

int chip_create(const chip_geometry *g, const char *path, chip **out)
{
    if (!g || !out || !geometry_ok(g)) return CHIP_ERR_ARG;
    chip *c;
    int rc = chip_alloc(g, path, NULL, &c);
    if (rc) return rc;
    if (path && (rc = pager_new(path, &c->io, &c->pg)) != CHIP_OK) {
        chip_free_buffers(c);
        return rc;
    }
    c->flags = IMAGE_FLAG_MASKING;
    c->committed_flags = c->flags;
    c->rom_dirty = 1;
    c->powered = 1;
    rc = heap_write_hdr(c, CHIP_NVM_SYSTEM_SIZE, HEAP_KIND_FREE, 0,
                        g->nvm_size - CHIP_NVM_SYSTEM_SIZE - HEAP_HDR);
    if (rc) {
        chip_free_buffers(c);
        return rc;
    }
    *out = c;
    return CHIP_OK;
}

void chip_close(chip *c)
{
    if (!c) return;
    if (c->durability == CHIP_DURABLE_LAB) (void)chip_save(c);
    /* Secrets may sit in any region; do not leave them in freed host memory.
     * Past nvm_hwm both NVM copies are zero already. */
    memset(c->nvm, 0, c->nvm_hwm);
    memset(c->nvm_committed, 0, c->nvm_hwm);
    memset(c->ram, 0, c->geo.ram_size);
    memset(c->otp, 0, c->geo.otp_size);
    memset(c->otp_committed, 0, c->geo.otp_size);
    if (c->page_scratch) memset(c->page_scratch, 0, c->geo.nvm_page_size);
    chip_pool *pool = c->pool;
    if (pool && pool->n < POOL_MAX) {
        /* Kept for the next open: zero NVM, no page state, no file. */
        c->nvm_hwm = 0;
        memset(c->page_state, 0, c->pages);
        pager_close(c->pg);
        c->pg = NULL;
        free(c->path);
        c->path = NULL;
        free(c->page_scratch);
        c->page_scratch = NULL;
        pool->spare[pool->n++] = c;
        return;
    }
    chip_free_buffers(c);
}

int chip_pool_new(chip_pool **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CHIP_OK : CHIP_ERR_NOMEM;
}

void chip_pool_free(chip_pool *pool)
{
    if (!pool) return;
    while (pool->n) chip_free_buffers(pool->spare[--pool->n]);
    free(pool);
}

void chip_end_masking(chip *c) { c->flags &= ~IMAGE_FLAG_MASKING; c->dirty = 1; }
int chip_is_masking(const chip *c) { return (c->flags & IMAGE_FLAG_MASKING) != 0; }
const chip_geometry *chip_get_geometry(const chip *c) { return &c->geo; }
const char *chip_path(const chip *c) { return c->path; }
void chip_set_durability(chip *c, enum chip_durability d) { c->durability = d; }
enum chip_durability chip_get_durability(const chip *c) { return c->durability; }
void chip_set_sync(chip *c, enum chip_sync mode)
{
    chip_set_durability(c, mode == CHIP_SYNC_OFF ? CHIP_DURABLE_LAB : CHIP_DURABLE_FULL);
}
void chip_set_lock_wait(chip *c, unsigned ms) { c->lock_wait_ms = ms; }
void chip_set_io(chip *c, const chip_io *io) { c->io = io ? *io : *chip_io_default(); }
const char *chip_error(const chip *c) { return c->err; }
int chip_is_powered(const chip *c) { return c->powered; }
int chip_is_dirty(const chip *c) { return c->dirty; }

/* ---- image file ---- */
static void set_err(char *err, size_t errlen, const char *path, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", path, what);
}

static pager_state committed_state(chip *c)
{
    pager_state st = {c->geo, c->committed_flags, c->commits, c->nvm_page_writes, c->otp_writes,
                      c->rom, c->nvm_committed, c->otp_committed, c->wear, c->rom_clean_from, c->nvm_hwm};
    return st;
}

static void copy_pager_error(chip *c)
{
    snprintf(c->err, sizeof c->err, "%s", c->pg ? pager_error(c->pg) : "");
}

/* (Re)load the committed state from the file; the working copy follows. */
static int load_from_file(chip *c, char *err, size_t errlen)
{
    pager_state st = committed_state(c);
    st.rom_clean_from = c->rom_clean_from;
    st.nvm_clean_from = c->nvm_hwm;
    int rc = pager_read(c->pg, &st, err, errlen);
    c->epoch++;
    c->rom_clean_from = st.rom_clean_from;
    if (st.nvm_clean_from > c->nvm_hwm) c->nvm_hwm = st.nvm_clean_from;
    if (rc) return rc;
    c->flags = c->committed_flags = st.flags;
    c->commits = st.commits;
    c->nvm_page_writes = st.nvm_page_writes;
    c->otp_writes = st.otp_writes;
    /* The working copy follows; past what was read both are zero. */
    memcpy(c->nvm, c->nvm_committed, st.nvm_clean_from);
    if (c->nvm_hwm > st.nvm_clean_from) memset(c->nvm + st.nvm_clean_from, 0, c->nvm_hwm - st.nvm_clean_from);
    c->nvm_hwm = st.nvm_clean_from;
    c->nfresh = 0;
    memcpy(c->otp, c->otp_committed, c->geo.otp_size);
    for (uint32_t i = 0; i < c->ndirty; i++) c->page_state[c->dirty_list[i]] = 0;
    for (uint32_t i = 0; i < c->npending; i++) c->page_state[c->pending_list[i]] = 0;
    c->ndirty = c->npending = 0;
    c->dirty = c->otp_dirty = c->otp_pending = 0;
    c->file_written = 1;
    c->rom_dirty = 0;
    return CHIP_OK;
}

static int open_chip(const char *path, unsigned flags, const chip_io *io, unsigned wait_ms, chip_pool *pool,
                     chip **out, char *err, size_t errlen)
{
    if (!path || !out) return CHIP_ERR_ARG;
    *out = NULL;
    pager *pg;
    chip_geometry g;
    unsigned mode = ((flags & CHIP_OPEN_READ_ONLY) ? PAGER_READ_ONLY : 0u) | ((flags & CHIP_OPEN_LOCK) ? PAGER_LOCK : 0u);
    if (!wait_ms) wait_ms = lock_wait_default();
    int rc = pager_open(path, mode, wait_ms, io, &pg, &g, err, errlen);
    if (rc) return rc;
    if (!geometry_ok(&g)) {
        pager_close(pg);
        set_err(err, errlen, path, "card image header has impossible region sizes");
        return CHIP_ERR_FORMAT;
    }
    chip *c;
    rc = chip_alloc(&g, path, pool, &c);
    if (rc) {
        pager_close(pg);
        set_err(err, errlen, path, chip_strerror(rc));
        return rc;
    }
    if (io) c->io = *io;
    c->lock_wait_ms = wait_ms;
    c->pg = pg;
    c->read_only = (flags & CHIP_OPEN_READ_ONLY) != 0;
    rc = load_from_file(c, err, errlen);
    if (rc) {
        chip_free_buffers(c);
        return rc;
    }
    c->powered = 0;
    *out = c;
    return CHIP_OK;
}

int chip_open_ex(const char *path, unsigned flags, const chip_io *io, chip **out, char *err,
                 size_t errlen)
{
    return open_chip(path, flags, io, 0, NULL, out, err, errlen);
}

int chip_open_pooled(const char *path, unsigned flags, unsigned lock_wait_ms, chip_pool *pool, chip **out,
                     char *err, size_t errlen)
{
    return open_chip(path, flags, NULL, lock_wait_ms, pool, out, err, errlen);
}

int chip_open(const char *path, chip **out, char *err, size_t errlen)
{
    return chip_open_ex(path, 0, NULL, out, err, errlen);
}

static void mark_pending(chip *c, uint32_t p)
{
    if (!(c->page_state[p] & PAGE_PENDING)) {
        c->page_state[p] |= PAGE_PENDING;
        c->pending_list[c->npending++] = p;
    }
}

static void clear_pending(chip *c)
{
    for (uint32_t i = 0; i < c->npending; i++) c->page_state[c->pending_list[i]] &= (uint8_t)~PAGE_PENDING;
    c->npending = 0;
    c->otp_pending = 0;
}

/* The file write of a commit whose new state is described by the page list.
 * Whole image when the file does not exist yet or ROM changed (masking). */
static int file_commit(chip *c, const pager_page *pages, uint32_t n, const uint8_t *otp, uint32_t flags,
                       int whole)
{
    int sync = c->durability == CHIP_DURABLE_FULL || whole;
    int rc;
    if (whole || !c->file_written || c->rom_dirty) {
        /* The new state, whole: committed copies with the page list over them. */
        uint8_t *nvm = malloc(c->geo.nvm_size);
        if (!nvm) return CHIP_ERR_NOMEM;
        memcpy(nvm, c->nvm_committed, c->geo.nvm_size);
        for (uint32_t i = 0; i < n; i++)
            memcpy(nvm + ((size_t)pages[i].index << c->page_shift), pages[i].data, c->geo.nvm_page_size);
        pager_state st = committed_state(c);
        st.nvm = nvm;
        st.otp = otp ? (uint8_t *)otp : c->otp_committed;
        st.flags = flags;
        st.commits = c->commits + 1;
        rc = pager_write_all(c->pg, &st, 1);
        memset(nvm, 0, c->geo.nvm_size);
        free(nvm);
        if (!rc) {
            c->file_written = 1;
            c->rom_dirty = 0;
        }
    } else {
        pager_record r = {pages, n, c->wear, otp, flags, c->nvm_page_writes, c->otp_writes};
        rc = pager_commit(c->pg, &r, sync);
    }
    if (rc) copy_pager_error(c);
    else c->nfresh = 0;   /* what is allocated now may reach the file */
    return rc;
}

/* After the file holds the new commit: a checkpoint when the log is full.
 * Its failure costs nothing (the log keeps everything and grows). It is
 * synced in every durability: in lab mode too, a host crash must find the
 * records it copies on disk before the body changes, and the new header
 * slot before the log is reused (lab saves themselves are unsynced records,
 * which a crash can only cut short). */
static void maybe_checkpoint(chip *c)
{
    if (c->pg && (c->scrub || pager_checkpoint_due(c->pg))) {
        pager_state st = committed_state(c);
        if (pager_checkpoint(c->pg, &st, 1, c->scrub) == CHIP_OK) c->scrub = 0;
    }
}

int chip_commit(chip *c)
{
    if (!c->powered) return CHIP_ERR_POWER;
    int first = c->pg && !c->file_written;
    if (!c->dirty && !first && !c->rom_dirty) return CHIP_OK;
    if (c->read_only) {
        snprintf(c->err, sizeof c->err, "%s: opened read-only", c->path);
        return CHIP_ERR_IO;
    }
    uint32_t ps = c->geo.nvm_page_size;
    int to_file = c->pg && (c->durability == CHIP_DURABLE_FULL || first || c->rom_dirty);
    if (to_file) {
        int lrc = lock_for_commit(c);
        if (lrc) return lrc;
        /* Pages of this commit: everything written, plus pages whose wear or
         * lab-mode commits the file does not have yet. */
        uint32_t n = 0;
        for (uint32_t i = 0; i < c->ndirty; i++) {
            uint32_t p = c->dirty_list[i];
            c->rec_pages[n++] = (pager_page){p, c->nvm + ((size_t)p << c->page_shift)};
        }
        for (uint32_t i = 0; i < c->npending; i++) {
            uint32_t p = c->pending_list[i];
            if (!(c->page_state[p] & PAGE_DIRTY))
                c->rec_pages[n++] = (pager_page){p, c->nvm_committed + ((size_t)p << c->page_shift)};
        }
        const uint8_t *otp = c->otp_dirty ? c->otp : c->otp_pending ? c->otp_committed : NULL;
        int rc = file_commit(c, c->rec_pages, n, otp, c->flags, 0);
        if (rc) return rc;   /* memory and file keep the previous commit */
        clear_pending(c);
    } else if (c->pg) {
        for (uint32_t i = 0; i < c->ndirty; i++) mark_pending(c, c->dirty_list[i]);
        if (c->otp_dirty) c->otp_pending = 1;
    }
    for (uint32_t i = 0; i < c->ndirty; i++) {
        uint32_t p = c->dirty_list[i];
        memcpy(c->nvm_committed + ((size_t)p << c->page_shift), c->nvm + ((size_t)p << c->page_shift), ps);
        c->page_state[p] &= (uint8_t)~PAGE_DIRTY;
    }
    c->ndirty = 0;
    if (c->otp_dirty) memcpy(c->otp_committed, c->otp, c->geo.otp_size);
    c->otp_dirty = 0;
    c->committed_flags = c->flags;
    c->commits++;
    c->dirty = 0;
    c->err[0] = 0;
    if (to_file) maybe_checkpoint(c);
    return CHIP_OK;
}

int chip_commit_now(chip *c, uint32_t off, size_t len)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!range_ok(off, len, c->geo.nvm_size)) return CHIP_ERR_RANGE;
    if (len == 0) return CHIP_OK;
    if (c->read_only) {
        snprintf(c->err, sizeof c->err, "%s: opened read-only", c->path);
        return CHIP_ERR_IO;
    }
    if (!c->pg || !c->file_written || c->rom_dirty) {
        /* No file yet (or masking): nothing to make durable separately. */
        return CHIP_OK;
    }
    uint32_t ps = c->geo.nvm_page_size;
    uint32_t first = off >> c->page_shift, last = (uint32_t)((off + len - 1) >> c->page_shift);
    uint32_t n = last - first + 1;
    uint8_t *img = malloc((size_t)n * ps);
    if (!img) return CHIP_ERR_NOMEM;
    /* Each page as committed, with just [off, off+len) from the working copy. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = first + i;
        memcpy(img + (size_t)i * ps, c->nvm_committed + ((size_t)p << c->page_shift), ps);
        c->rec_pages[i] = (pager_page){p, img + (size_t)i * ps};
    }
    memcpy(img + (off - ((size_t)first << c->page_shift)), c->nvm + off, len);
    int rc = CHIP_OK;
    if (c->durability == CHIP_DURABLE_FULL) rc = lock_for_commit(c);
    if (!rc && c->durability == CHIP_DURABLE_FULL)
        rc = file_commit(c, c->rec_pages, n, NULL, c->committed_flags, 0);
    if (!rc) {
        for (uint32_t i = 0; i < n; i++) {
            memcpy(c->nvm_committed + ((size_t)(first + i) << c->page_shift), img + (size_t)i * ps, ps);
            if (c->durability != CHIP_DURABLE_FULL) mark_pending(c, first + i);
        }
        c->commits++;
        if (c->durability == CHIP_DURABLE_FULL) maybe_checkpoint(c);
    }
    memset(img, 0, (size_t)n * ps);
    free(img);
    return rc;
}

int chip_save(chip *c)
{
    if (!c->pg || c->read_only || c->durability != CHIP_DURABLE_LAB) return CHIP_OK;
    if (!c->npending && !c->otp_pending && c->file_written && !c->rom_dirty) return CHIP_OK;
    int rc = lock_for_commit(c);
    if (rc) return rc;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->npending; i++) {
        uint32_t p = c->pending_list[i];
        c->rec_pages[n++] = (pager_page){p, c->nvm_committed + ((size_t)p << c->page_shift)};
    }
    rc = file_commit(c, c->rec_pages, n, c->otp_pending ? c->otp_committed : NULL, c->committed_flags, 0);
    if (rc) return rc;
    clear_pending(c);
    maybe_checkpoint(c);
    return CHIP_OK;
}

int chip_clone(const chip *src, chip **out)
{
    if (!src || !out) return CHIP_ERR_ARG;
    chip *c;
    int rc = chip_alloc(&src->geo, NULL, NULL, &c);
    if (rc) return rc;
    /* Past these extents src's buffers are zero, and so are the new ones. */
    memcpy(c->rom, src->rom, src->rom_clean_from);
    memcpy(c->nvm, src->nvm_committed, src->nvm_hwm);
    memcpy(c->nvm_committed, src->nvm_committed, src->nvm_hwm);
    memcpy(c->otp, src->otp_committed, src->geo.otp_size);
    memcpy(c->otp_committed, src->otp_committed, src->geo.otp_size);
    memcpy(c->wear, src->wear, (size_t)src->pages * sizeof *c->wear);
    c->rom_clean_from = src->rom_clean_from;
    c->nvm_hwm = src->nvm_hwm;
    c->flags = c->committed_flags = src->committed_flags;
    c->commits = src->commits;
    c->nvm_page_writes = src->nvm_page_writes;
    c->otp_writes = src->otp_writes;
    c->durability = src->durability;
    *out = c;
    return CHIP_OK;
}

int chip_save_as(chip *c, const char *path)
{
    if (!c || !path || c->pg) return CHIP_ERR_ARG;
    char *p = strdup(path);
    pager *pg = NULL;
    int rc = p ? pager_new(path, &c->io, &pg) : CHIP_ERR_NOMEM;
    if (!rc) {
        pager_state st = committed_state(c);
        rc = pager_write_all(pg, &st, 1);
        if (rc) snprintf(c->err, sizeof c->err, "%s", pager_error(pg));
    }
    if (rc) {
        pager_close(pg);
        free(p);
        return rc;
    }
    /* Bound to the file it now is: later commits are records in its log. */
    c->pg = pg;
    c->path = p;
    c->file_written = 1;
    c->rom_dirty = 0;
    clear_pending(c);
    c->nfresh = 0;
    c->err[0] = 0;
    return CHIP_OK;
}

uint64_t chip_epoch(const chip *c) { return c->epoch; }

void chip_rollback(chip *c)
{
    uint32_t ps = c->geo.nvm_page_size;
    if (c->ndirty || c->otp_dirty || c->flags != c->committed_flags) c->epoch++;
    for (uint32_t i = 0; i < c->ndirty; i++) {
        uint32_t p = c->dirty_list[i];
        memcpy(c->nvm + ((size_t)p << c->page_shift), c->nvm_committed + ((size_t)p << c->page_shift), ps);
        c->page_state[p] &= (uint8_t)~PAGE_DIRTY;
        /* The EEPROM was written even though the command failed: its wear
         * goes to the file with the next commit. */
        if (c->pg) mark_pending(c, p);
    }
    c->ndirty = 0;
    memcpy(c->otp, c->otp_committed, c->geo.otp_size);
    c->otp_dirty = 0;
    c->flags = c->committed_flags;
    c->dirty = 0;
    c->nfresh = 0;   /* an undone allocation may have reused an old block's bytes */
}

int chip_acquire(chip *c)
{
    if (!c->pg || c->read_only || !c->file_written || pager_is_locked(c->pg)) return CHIP_OK;
    int changed = 0;
    int rc = pager_lock(c->pg, c->lock_wait_ms, &changed);
    if (rc) {
        copy_pager_error(c);
        return rc;
    }
    if (changed) {
        /* Another writer committed since we read the file: start from its
         * state, or its update would be lost. */
        char err[400];
        rc = load_from_file(c, err, sizeof err);
        if (rc) {
            snprintf(c->err, sizeof c->err, "%s", err);
            pager_unlock(c->pg);
            return rc;
        }
    }
    return CHIP_OK;
}

void chip_release(chip *c)
{
    if (c->durability == CHIP_DURABLE_LAB) (void)chip_save(c);
    if (c->pg && c->file_written) pager_unlock(c->pg);
}

/* A commit by a chip that did not chip_acquire (direct chip users): take
 * the lock now, but refuse if the file changed since it was read, since the
 * working copy was built on a state that is no longer the latest. */
static int lock_for_commit(chip *c)
{
    if (!c->pg || !c->file_written || pager_is_locked(c->pg)) return CHIP_OK;
    int changed = 0;
    int rc = pager_lock(c->pg, c->lock_wait_ms, &changed);
    if (rc) {
        copy_pager_error(c);
        return rc;
    }
    if (changed) {
        pager_unlock(c->pg);
        snprintf(c->err, sizeof c->err, "%s: changed by another writer since it was read", c->path);
        return CHIP_ERR_BUSY;
    }
    return CHIP_OK;
}

int chip_power_on(chip *c)
{
    chip_rollback(c);
    memset(c->ram, 0, c->geo.ram_size);
    c->powered = 1;
    c->tear_fired = 0;
    c->tear_at = 0;
    c->writes_since_arm = 0;
    return CHIP_OK;
}

void chip_power_off(chip *c)
{
    chip_rollback(c);
    c->powered = 0;
    chip_release(c);
}

/* ---- tear injection ---- */
void chip_set_tear(chip *c, uint32_t n)
{
    c->tear_at = n;
    c->writes_since_arm = 0;
}
uint32_t chip_page_writes_since_arm(const chip *c) { return c->writes_since_arm; }
int chip_tear_fired(const chip *c) { return c->tear_fired; }

/* Account one page/OTP write; returns CHIP_ERR_POWER when this write is the
 * one after which the armed cut happens (the write itself took place). */
static int count_write(chip *c)
{
    c->epoch++;
    c->writes_since_arm++;
    if (c->tear_at && c->writes_since_arm >= c->tear_at) {
        c->powered = 0;
        c->tear_fired = 1;
        c->tear_at = 0;
        return CHIP_ERR_POWER;
    }
    return CHIP_OK;
}

/* ---- regions ---- */
static int range_ok(uint32_t off, size_t len, uint32_t size)
{
    return off <= size && len <= (size_t)(size - off);
}

int chip_rom_read(const chip *c, uint32_t off, void *buf, size_t len)
{
    if (!range_ok(off, len, c->geo.rom_size)) return CHIP_ERR_RANGE;
    memcpy(buf, c->rom + off, len);
    return CHIP_OK;
}

int chip_rom_write(chip *c, uint32_t off, const void *buf, size_t len)
{
    if (!chip_is_masking(c)) return CHIP_ERR_ROM;
    if (!range_ok(off, len, c->geo.rom_size)) return CHIP_ERR_RANGE;
    memcpy(c->rom + off, buf, len);
    c->epoch++;
    if (off + len > c->rom_clean_from) c->rom_clean_from = (uint32_t)(off + len);
    c->rom_dirty = c->pg != NULL;
    c->dirty = 1;
    return CHIP_OK;
}

const uint8_t *chip_rom_view(const chip *c) { return c->rom; }
const uint8_t *chip_nvm_view(const chip *c) { return c->nvm; }

int chip_nvm_read(const chip *c, uint32_t off, void *buf, size_t len)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!range_ok(off, len, c->geo.nvm_size)) return CHIP_ERR_RANGE;
    memcpy(buf, c->nvm + off, len);
    return CHIP_OK;
}

/* Shared by write and fill: src == NULL means fill with `value`. */
static int nvm_store(chip *c, uint32_t off, const uint8_t *src, uint8_t value, size_t len)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!range_ok(off, len, c->geo.nvm_size)) return CHIP_ERR_RANGE;
    while (len) {
        uint32_t page = off >> c->page_shift;
        uint32_t in_page = c->geo.nvm_page_size - (off & (c->geo.nvm_page_size - 1));
        size_t n = len < in_page ? len : in_page;
        if (src) memcpy(c->nvm + off, src, n); else memset(c->nvm + off, value, n);
        if (off + n > c->nvm_hwm) c->nvm_hwm = (uint32_t)(off + n);
        if (!(c->page_state[page] & PAGE_DIRTY)) {
            c->page_state[page] |= PAGE_DIRTY;
            c->dirty_list[c->ndirty++] = page;
        }
        c->dirty = 1;
        c->wear[page]++;
        c->nvm_page_writes++;
        int rc = count_write(c);
        if (rc) return rc;
        off += (uint32_t)n;
        if (src) src += n;
        len -= n;
    }
    return CHIP_OK;
}

int chip_nvm_write(chip *c, uint32_t off, const void *buf, size_t len)
{
    return nvm_store(c, off, buf, 0, len);
}

int chip_nvm_fill(chip *c, uint32_t off, uint8_t value, size_t len)
{
    return nvm_store(c, off, NULL, value, len);
}

int chip_otp_read(const chip *c, uint32_t off, void *buf, size_t len)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!range_ok(off, len, c->geo.otp_size)) return CHIP_ERR_RANGE;
    memcpy(buf, c->otp + off, len);
    return CHIP_OK;
}

int chip_otp_write(chip *c, uint32_t off, const void *buf, size_t len)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!range_ok(off, len, c->geo.otp_size)) return CHIP_ERR_RANGE;
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        if ((c->otp[off + i] & ~b[i]) != 0) return CHIP_ERR_OTP;
    for (size_t i = 0; i < len; i++) c->otp[off + i] |= b[i];
    c->dirty = 1;
    c->otp_dirty = 1;
    c->otp_writes++;
    return count_write(c);
}

int chip_otp_burn_bit(chip *c, uint32_t bit)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (bit / 8 >= c->geo.otp_size) return CHIP_ERR_RANGE;
    uint8_t b = (uint8_t)(c->otp[bit / 8] | (1u << (bit % 8)));
    if (b == c->otp[bit / 8]) return CHIP_OK;
    return chip_otp_write(c, bit / 8, &b, 1);
}

int chip_otp_bit(const chip *c, uint32_t bit)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (bit / 8 >= c->geo.otp_size) return CHIP_ERR_RANGE;
    return (c->otp[bit / 8] >> (bit % 8)) & 1;
}

int chip_ram_reserve(chip *c, uint32_t size, uint32_t *off)
{
    size = (size + 7u) & ~7u;
    if (size > c->geo.ram_size - c->ram_reserved) return CHIP_ERR_FULL;
    *off = c->ram_reserved;
    c->ram_reserved += size;
    return CHIP_OK;
}
uint8_t *chip_ram(chip *c) { return c->ram; }
uint32_t chip_ram_reserved(const chip *c) { return c->ram_reserved; }

/* ---- NVM heap ----
 * Blocks tile the NVM from CHIP_NVM_SYSTEM_SIZE to the end:
 *   [kind u16][id u16][size u32][payload, size bytes, padded to 4]
 * Invariant: the payload of a free block is all zero, so allocation need not
 * clear it and freed secrets never linger in the image. */
static uint32_t heap_span(uint32_t size) { return HEAP_HDR + ((size + HEAP_ALIGN - 1) & ~(HEAP_ALIGN - 1)); }

/* A corrupted heap must not send the walk out of bounds. */
static int heap_hdr_sane(const chip *c, uint32_t at, uint32_t size)
{
    return size <= c->geo.nvm_size && heap_span(size) <= c->geo.nvm_size - at;
}

int chip_nvm_alloc(chip *c, uint16_t kind, uint16_t id, uint32_t size, uint32_t *off)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (kind == HEAP_KIND_FREE || size == 0 || size > c->geo.nvm_size) return CHIP_ERR_ARG;
    uint32_t need = (size + HEAP_ALIGN - 1) & ~(HEAP_ALIGN - 1);
    uint32_t at = CHIP_NVM_SYSTEM_SIZE;
    while (at + HEAP_HDR <= c->geo.nvm_size) {
        uint16_t k, i;
        uint32_t s;
        heap_read_hdr(c, at, &k, &i, &s);
        if (!heap_hdr_sane(c, at, s)) return CHIP_ERR_FULL;
        uint32_t cap = heap_span(s) - HEAP_HDR;
        if (k == HEAP_KIND_FREE && cap >= need) {
            int rc;
            if (cap - need >= HEAP_MIN_SPLIT) {
                /* The remainder's header falls inside a free (zero) payload. */
                rc = heap_write_hdr(c, at + HEAP_HDR + need, HEAP_KIND_FREE, 0, cap - need - HEAP_HDR);
                if (rc) return rc;
                rc = heap_write_hdr(c, at, kind, id, size);
            } else {
                /* No room to split: the block keeps its whole capacity, so
                 * its recorded size may exceed the request (documented). */
                rc = heap_write_hdr(c, at, kind, id, cap == need ? size : cap);
            }
            if (rc) return rc;
            *off = at + HEAP_HDR;
            if (c->nfresh < FRESH_MAX) c->fresh[c->nfresh++] = *off;
            return CHIP_OK;
        }
        at += heap_span(s);
    }
    return CHIP_ERR_FULL;
}

int chip_nvm_free(chip *c, uint32_t off)
{
    if (!c->powered) return CHIP_ERR_POWER;
    uint32_t at = CHIP_NVM_SYSTEM_SIZE, prev = 0;
    int prev_free = 0;
    while (at + HEAP_HDR <= c->geo.nvm_size) {
        uint16_t k, i;
        uint32_t s;
        heap_read_hdr(c, at, &k, &i, &s);
        if (!heap_hdr_sane(c, at, s)) return CHIP_ERR_RANGE;
        if (at + HEAP_HDR == off) {
            if (k == HEAP_KIND_FREE) return CHIP_ERR_ARG;
            uint32_t span = heap_span(s);
            /* A block allocated since the file last got a commit never had
             * its bytes there (it came from a free block's zeros): nothing
             * to scrub. Any other may have left copies in the log or body. */
            int fresh = 0;
            for (unsigned f = 0; f < c->nfresh && !fresh; f++)
                if (c->fresh[f] == off) {
                    fresh = 1;
                    c->fresh[f] = c->fresh[--c->nfresh];
                }
            if (!fresh && c->pg) c->scrub = 1;
            int rc = chip_nvm_fill(c, off, 0, span - HEAP_HDR);
            if (rc) return rc;
            uint32_t next = at + span;
            if (next + HEAP_HDR <= c->geo.nvm_size) {
                uint16_t nk, ni;
                uint32_t ns;
                heap_read_hdr(c, next, &nk, &ni, &ns);
                if (nk == HEAP_KIND_FREE && heap_hdr_sane(c, next, ns)) {
                    span += heap_span(ns);
                    rc = chip_nvm_fill(c, next, 0, HEAP_HDR);
                    if (rc) return rc;
                }
            }
            if (prev_free) {
                uint16_t pk, pi;
                uint32_t ps;
                heap_read_hdr(c, prev, &pk, &pi, &ps);
                rc = heap_write_hdr(c, prev, HEAP_KIND_FREE, 0, heap_span(ps) - HEAP_HDR + span);
                if (!rc) rc = chip_nvm_fill(c, at, 0, HEAP_HDR);
                return rc;
            }
            return heap_write_hdr(c, at, HEAP_KIND_FREE, 0, span - HEAP_HDR);
        }
        prev = at;
        prev_free = k == HEAP_KIND_FREE;
        at += heap_span(s);
    }
    return CHIP_ERR_ARG;
}

int chip_nvm_next(const chip *c, uint32_t *cursor, uint16_t *kind, uint16_t *id,
                  uint32_t *off, uint32_t *size)
{
    uint32_t at = *cursor ? *cursor : CHIP_NVM_SYSTEM_SIZE;
    while (at + HEAP_HDR <= c->geo.nvm_size) {
        uint16_t k, i;
        uint32_t s;
        heap_read_hdr(c, at, &k, &i, &s);
        if (!heap_hdr_sane(c, at, s)) return CHIP_ERR_RANGE;
        uint32_t here = at;
        at += heap_span(s);
        if (k != HEAP_KIND_FREE) {
            *cursor = at;
            if (kind) *kind = k;
            if (id) *id = i;
            if (off) *off = here + HEAP_HDR;
            if (size) *size = s;
            return CHIP_OK;
        }
    }
    *cursor = at;
    return CHIP_ERR_RANGE;
}

int chip_nvm_find(const chip *c, uint16_t kind, uint16_t id, unsigned n,
                  uint32_t *off, uint32_t *size)
{
    uint32_t cur = 0, o, s;
    uint16_t k, i;
    while (chip_nvm_next(c, &cur, &k, &i, &o, &s) == CHIP_OK) {
        if (k == kind && (id == 0xFFFF || i == id) && n-- == 0) {
            if (off) *off = o;
            if (size) *size = s;
            return CHIP_OK;
        }
    }
    return CHIP_ERR_RANGE;
}

void chip_get_stats(const chip *c, chip_stats *st)
{
    memset(st, 0, sizeof *st);
    st->nvm_page_writes = c->nvm_page_writes;
    st->otp_writes = c->otp_writes;
    st->commits = c->commits;
    for (uint32_t p = 0; p < c->pages; p++)
        if (c->wear[p] > st->nvm_max_page_writes) st->nvm_max_page_writes = c->wear[p];
    uint32_t at = CHIP_NVM_SYSTEM_SIZE;
    while (at + HEAP_HDR <= c->geo.nvm_size) {
        uint16_t k, i;
        uint32_t s;
        heap_read_hdr(c, at, &k, &i, &s);
        if (!heap_hdr_sane(c, at, s)) break;
        uint32_t cap = heap_span(s) - HEAP_HDR;
        if (k == HEAP_KIND_FREE) {
            st->nvm_heap_free += cap;
            if (cap > st->nvm_heap_largest) st->nvm_heap_largest = cap;
        } else {
            st->nvm_heap_used += s;
        }
        at += heap_span(s);
    }
    st->ram_free = c->geo.ram_size - c->ram_reserved;
    for (uint32_t i = 0; i < c->geo.otp_size; i++)
        st->otp_bits_burnt += (uint32_t)__builtin_popcount(c->otp[i]);
}
