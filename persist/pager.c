/*
 * pager.c — the card image file: header slots, in-place body, log records,
 * checkpoint, recovery, writer lock. See pager.h for the design and
 * docs/image-format.md for the bytes.
 */
#define _GNU_SOURCE 1   /* O_NOATIME; implies _DEFAULT_SOURCE (flock, fdatasync) */
#include "pager.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32.h"

#define IMAGE_MAGIC "CVMIMAGE"
#define FORMAT_VERSION 2u
#define SLOT_SIZE 128u
#define HEADER_AREA 512u
#define HOLDER_OFF 256u           /* byte whose POSIX lock names the holder */
#define TABLE_ENTRY 8u            /* u32 wear, u32 CRC-32 of the page */
#define LOG_ALIGN 4096u
#define LOG_DEFAULT 131072u       /* preallocated log bytes: hundreds of commits */
#define REC_MAGIC 0x4A4D5643u     /* "CVMJ" */
#define REC_HDR 56u
#define REC_MAX_READS 64          /* reader retries when a checkpoint intervenes */
#define HEAD_READ 8192u           /* read at open: the header area and the start of ROM */
#define LOG_CHUNK 4096u           /* the log is read this much at a time, as far as its records go */

struct pager {
    char *path;
    int fd;
    int read_only;
    int locked;
    chip_io io;
    chip_geometry geo;
    uint32_t pages;
    /* Layout. */
    uint64_t rom_off, nvm_off, otp_off, table_off, log_off;
    /* Current log generation, as last read or written. */
    uint64_t gen;
    uint32_t salt;
    uint64_t log_pos;          /* where the next record goes */
    uint64_t log_end;          /* file size: the log may grow past LOG_DEFAULT */
    uint64_t log_dirty;        /* every log byte from here to log_end is zero: what a wipe must cover */
    uint32_t chain;            /* CRC of the last record (salt before the first) */
    uint64_t commits;          /* commit number of the last record or checkpoint */
    uint32_t rom_crc;          /* ROM is written once: its CRC is computed once */
    /* Body extents of the current slot: ROM and NVM bytes in place past them
     * are blank (zero) and are neither read nor checked (0 in a slot: unknown,
     * the whole region). */
    uint32_t rom_extent, nvm_extent;
    uint32_t zero_page_crc;    /* CRC-32 of a blank NVM page: its page-table entry */
    /* What open read (header area and ROM start), used by the first read. */
    uint8_t head[HEAD_READ];
    size_t head_len;
    uint64_t head_size;
    int head_fresh;
    uint8_t *table;            /* OTP, page table and the log's first chunk as read together */
    uint8_t *logbuf;           /* log bytes as read */
    size_t logbuf_cap;
    int unsynced;              /* records written without fdatasync since the last sync */
    uint8_t header_seen[HEADER_AREA - 256]; /* the two slots as last read/written */
    int have_file;             /* an image exists (read or written) */
    /* Pages and OTP the log holds since the last checkpoint. */
    uint8_t *in_log;
    int otp_in_log;
    uint8_t *buf;              /* record scratch */
    size_t buf_cap;
    char err[384];
};

/* ---- helpers ---- */
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32); }
static uint32_t crc_of(const void *p, size_t n)
{
    return image_crc32_final(image_crc32_update(IMAGE_CRC32_INIT, p, n));
}

static void fail(pager *pg, const char *what, int errnum)
{
    if (errnum)
        snprintf(pg->err, sizeof pg->err, "%s: %s: %s", pg->path, what, strerror(errnum));
    else
        snprintf(pg->err, sizeof pg->err, "%s: %s", pg->path, what);
}

static void note_holder(pager *pg);
static long holder_pid(pager *pg);

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
}

/* ---- the real system calls (default chip_io) ---- */
static ssize_t sys_pwrite(void *ctx, int fd, const void *b, size_t n, off_t off)
{
    (void)ctx;
    return pwrite(fd, b, n, off);
}
static ssize_t sys_pread(void *ctx, int fd, void *b, size_t n, off_t off)
{
    (void)ctx;
    return pread(fd, b, n, off);
}
static int sys_sync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}
static int sys_truncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len);
}
static const chip_io default_io = {NULL, sys_pwrite, sys_pread, sys_sync, sys_truncate};

const chip_io *chip_io_default(void) { return &default_io; }

static int write_at(pager *pg, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pg->io.pwrite(pg->io.ctx, pg->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fail(pg, "write", n < 0 ? errno : ENOSPC);
            return CHIP_ERR_IO;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return CHIP_OK;
}

/* Reads; returns the number of bytes read (short at end of file), -1 on error. */
static ssize_t read_at(pager *pg, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pg->io.pread(pg->io.ctx, pg->fd, p + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int sync_file(pager *pg)
{
    if (pg->io.sync(pg->io.ctx, pg->fd) != 0) {
        fail(pg, "fdatasync", errno);
        return CHIP_ERR_IO;
    }
    pg->unsynced = 0;
    return CHIP_OK;
}

/* ---- layout ---- */
static int geometry_plausible(const chip_geometry *g)
{
    uint32_t ps = g->nvm_page_size;
    if (ps < 16 || ps > 4096 || (ps & (ps - 1)) != 0) return 0;
    if (g->nvm_size < CHIP_NVM_SYSTEM_SIZE + 80 || g->nvm_size % ps != 0) return 0;
    if (g->nvm_size > 64u * 1024u * 1024u || g->rom_size > 64u * 1024u * 1024u) return 0;
    if (g->ram_size < 256 || g->ram_size > 1024u * 1024u) return 0;
    if (g->otp_size < 8 || g->otp_size > 4096) return 0;
    return 1;
}

static void layout(pager *pg, const chip_geometry *g)
{
    pg->geo = *g;
    pg->pages = g->nvm_size / g->nvm_page_size;
    pg->rom_off = HEADER_AREA;
    pg->nvm_off = pg->rom_off + g->rom_size;
    pg->otp_off = pg->nvm_off + g->nvm_size;
    pg->table_off = pg->otp_off + g->otp_size;
    uint64_t end = pg->table_off + (uint64_t)pg->pages * TABLE_ENTRY;
    pg->log_off = (end + LOG_ALIGN - 1) / LOG_ALIGN * LOG_ALIGN;
}

static size_t record_size(const pager *pg, uint32_t npages, int with_otp)
{
    size_t n = REC_HDR + (size_t)npages * (8u + pg->geo.nvm_page_size) +
               (with_otp ? pg->geo.otp_size : 0) + 4u;
    return (n + 7u) & ~(size_t)7u;
}

/* ---- header slots ---- */
/* Generation 1 (a new image) is in slot A, 2 in B, 3 in A... */
static unsigned slot_of(uint64_t gen) { return (unsigned)((gen + 1) & 1); }

typedef struct slot {
    uint32_t flags;
    chip_geometry geo;
    uint64_t commits, nvm_page_writes, otp_writes, gen;
    uint32_t rom_crc, otp_crc, salt;
    uint64_t log_off;
    uint32_t rom_extent, nvm_extent;
} slot;

static void slot_encode(uint8_t *h, const slot *s)
{
    memset(h, 0, SLOT_SIZE);
    memcpy(h, IMAGE_MAGIC, 8);
    put16(h + 8, FORMAT_VERSION);
    put16(h + 10, SLOT_SIZE);
    put32(h + 12, s->flags);
    put32(h + 16, s->geo.rom_size);
    put32(h + 20, s->geo.nvm_size);
    put32(h + 24, s->geo.nvm_page_size);
    put32(h + 28, s->geo.ram_size);
    put32(h + 32, s->geo.otp_size);
    put32(h + 36, TABLE_ENTRY);
    put64(h + 40, s->commits);
    put64(h + 48, s->nvm_page_writes);
    put64(h + 56, s->otp_writes);
    put32(h + 64, s->rom_crc);
    put32(h + 68, s->otp_crc);
    put64(h + 72, s->gen);
    put32(h + 80, s->salt);
    put32(h + 84, (uint32_t)s->log_off);
    put32(h + 88, s->rom_extent);
    put32(h + 92, s->nvm_extent);
    put32(h + 124, crc_of(h, 124));
}

/* 0: valid; otherwise a CHIP_ERR_* with the reason in `why`. */
static int slot_decode(const uint8_t *h, slot *s, const char **why, unsigned *version)
{
    *version = get16(h + 8);
    if (memcmp(h, IMAGE_MAGIC, 8) != 0) { *why = "not a cardvm card image (bad magic)"; return CHIP_ERR_FORMAT; }
    if (get16(h + 8) != FORMAT_VERSION) { *why = "version"; return CHIP_ERR_VERSION; }
    if (get16(h + 10) != SLOT_SIZE || get32(h + 124) != crc_of(h, 124)) {
        *why = "card image header checksum mismatch (corrupt header)";
        return CHIP_ERR_FORMAT;
    }
    s->flags = get32(h + 12);
    s->geo.rom_size = get32(h + 16);
    s->geo.nvm_size = get32(h + 20);
    s->geo.nvm_page_size = get32(h + 24);
    s->geo.ram_size = get32(h + 28);
    s->geo.otp_size = get32(h + 32);
    s->commits = get64(h + 40);
    s->nvm_page_writes = get64(h + 48);
    s->otp_writes = get64(h + 56);
    s->rom_crc = get32(h + 64);
    s->otp_crc = get32(h + 68);
    s->gen = get64(h + 72);
    s->salt = get32(h + 80);
    s->log_off = get32(h + 84);
    s->rom_extent = get32(h + 88);
    s->nvm_extent = get32(h + 92);
    if (!geometry_plausible(&s->geo) || get32(h + 36) != TABLE_ENTRY || s->rom_extent > s->geo.rom_size ||
        s->nvm_extent > s->geo.nvm_size || s->nvm_extent % s->geo.nvm_page_size != 0) {
        *why = "card image header has impossible region sizes";
        return CHIP_ERR_FORMAT;
    }
    return CHIP_OK;
}

/* Pick the current slot from the header area: the valid one with the higher
 * generation (a torn slot write leaves the other one). */
static int pick_slot(pager *pg, const uint8_t *area, size_t have, slot *out, char *err, size_t errlen)
{
    if (have < 8) {
        snprintf(pg->err, sizeof pg->err, "%s: not a cardvm card image (too short)", pg->path);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    if (memcmp(area, IMAGE_MAGIC, 8) != 0 && (have < 2 * SLOT_SIZE || memcmp(area + SLOT_SIZE, IMAGE_MAGIC, 8) != 0)) {
        snprintf(pg->err, sizeof pg->err, "%s: not a cardvm card image (bad magic)", pg->path);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    if (have < HEADER_AREA) {
        snprintf(pg->err, sizeof pg->err, "%s: card image is truncated (incomplete header)", pg->path);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    slot s[2];
    const char *why[2] = {"", ""};
    unsigned ver[2];
    int rc[2];
    for (int i = 0; i < 2; i++) rc[i] = slot_decode(area + i * SLOT_SIZE, &s[i], &why[i], &ver[i]);
    int pick = -1;
    if (!rc[0] && !rc[1]) pick = s[1].gen > s[0].gen ? 1 : 0;
    else if (!rc[0]) pick = 0;
    else if (!rc[1]) pick = 1;
    if (pick < 0) {
        int r = rc[0] == CHIP_ERR_VERSION ? rc[0] : rc[1] == CHIP_ERR_VERSION ? rc[1] : rc[0];
        if (r == CHIP_ERR_VERSION) {
            unsigned v = rc[0] == CHIP_ERR_VERSION ? ver[0] : ver[1];
            snprintf(pg->err, sizeof pg->err, "%s: card image format version %u, this cardvm reads version %u%s",
                     pg->path, v, FORMAT_VERSION, v == 1 ? " (re-create the card)" : "");
        } else {
            snprintf(pg->err, sizeof pg->err, "%s: %s", pg->path, why[0]);
        }
        set_err(err, errlen, pg->err);
        return r;
    }
    *out = s[pick];
    return CHIP_OK;
}

/* ---- open / new / close ---- */
static pager *pager_alloc(const char *path, const chip_io *io)
{
    pager *pg = calloc(1, sizeof *pg);
    if (!pg) return NULL;
    pg->path = strdup(path);
    if (!pg->path) {
        free(pg);
        return NULL;
    }
    pg->fd = -1;
    pg->io = io ? *io : default_io;
    pg->log_dirty = UINT64_MAX;   /* not read yet: a wipe covers everything */
    return pg;
}

static int pager_size_buffers(pager *pg)
{
    static const uint8_t blank[4096];
    free(pg->in_log);
    free(pg->table);
    pg->in_log = calloc(pg->pages ? pg->pages : 1, 1);
    pg->table = malloc((size_t)(pg->log_off - pg->otp_off) + LOG_CHUNK);
    pg->zero_page_crc = crc_of(blank, pg->geo.nvm_page_size);
    return pg->in_log && pg->table ? CHIP_OK : CHIP_ERR_NOMEM;
}

/* flock(LOCK_EX), polling for at most wait_ms; the pid of the holder in the
 * message when it does not come. */
static int take_flock(pager *pg, unsigned wait_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned sleep_us = 200;
    for (;;) {
        if (flock(pg->fd, LOCK_EX | LOCK_NB) == 0) return CHIP_OK;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            fail(pg, "cannot lock", errno);
            return CHIP_ERR_IO;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long ms = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= (long long)wait_ms) {
            long pid = holder_pid(pg);
            if (pid > 0)
                snprintf(pg->err, sizeof pg->err, "%s: card image in use by pid %ld", pg->path, pid);
            else
                snprintf(pg->err, sizeof pg->err, "%s: card image in use by another process", pg->path);
            return CHIP_ERR_BUSY;
        }
        struct timespec ts = {0, (long)sleep_us * 1000L};
        nanosleep(&ts, NULL);
        if (sleep_us < 20000) sleep_us *= 2;
    }
}

/* The path must still name the file we hold (nobody renamed another over it). */
static int same_file(pager *pg, const struct stat *held)
{
    struct stat a;
    if (stat(pg->path, &a) != 0 || a.st_dev != held->st_dev || a.st_ino != held->st_ino) {
        fail(pg, "the card image file was replaced; open it again", 0);
        return 0;
    }
    return 1;
}

int pager_new(const char *path, const chip_io *io, pager **out)
{
    pager *pg = pager_alloc(path, io);
    if (!pg) return CHIP_ERR_NOMEM;
    *out = pg;
    return CHIP_OK;
}

int pager_open(const char *path, unsigned mode, unsigned wait_ms, const chip_io *io, pager **out,
               chip_geometry *geo, char *err, size_t errlen)
{
    pager *pg = pager_alloc(path, io);
    if (!pg) return CHIP_ERR_NOMEM;
    int read_only = (mode & PAGER_READ_ONLY) != 0;
    pg->read_only = read_only;
    int oflags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    /* An open reads the card, and an access-time update would make every
     * read of it an inode write for the file system's journal (a campaign
     * opens thousands of cards). Only the file's owner may ask for that;
     * anyone else opens it the usual way. */
    pg->fd = open(path, oflags | O_NOATIME);
    if (pg->fd < 0 && errno == EPERM) pg->fd = open(path, oflags);
    if (pg->fd < 0) {
        fail(pg, read_only ? "cannot open" : "cannot open for writing", errno);
        set_err(err, errlen, pg->err);
        pager_close(pg);
        return CHIP_ERR_IO;
    }
    struct stat st;
    if (fstat(pg->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(pg, "not a regular file", 0);
        set_err(err, errlen, pg->err);
        pager_close(pg);
        return CHIP_ERR_IO;
    }
    if ((mode & PAGER_LOCK) && !read_only) {
        /* The writer lock first, so that what is read next is current. */
        int lrc = take_flock(pg, wait_ms);
        if (!lrc && !same_file(pg, &st)) lrc = CHIP_ERR_IO;
        if (lrc) {
            set_err(err, errlen, pg->err);
            pager_close(pg);
            return lrc;
        }
        pg->locked = 1;
        note_holder(pg);
    }
    ssize_t n = read_at(pg, pg->head, sizeof pg->head, 0);
    slot s;
    int rc = n < 0 ? CHIP_ERR_IO : pick_slot(pg, pg->head, (size_t)n, &s, err, errlen);
    if (n < 0) {
        fail(pg, "cannot read", errno);
        set_err(err, errlen, pg->err);
    }
    if (rc) {
        pager_close(pg);
        return rc;
    }
    layout(pg, &s.geo);
    if (s.log_off != pg->log_off) {
        fail(pg, "card image header has impossible region sizes", 0);
        set_err(err, errlen, pg->err);
        pager_close(pg);
        return CHIP_ERR_FORMAT;
    }
    if ((uint64_t)st.st_size < pg->log_off + LOG_DEFAULT) {
        fail(pg, "card image is truncated", 0);
        set_err(err, errlen, pg->err);
        pager_close(pg);
        return CHIP_ERR_FORMAT;
    }
    if (pager_size_buffers(pg)) {
        pager_close(pg);
        return CHIP_ERR_NOMEM;
    }
    *geo = s.geo;
    pg->have_file = 1;
    pg->head_len = (size_t)n;
    pg->head_size = (uint64_t)st.st_size;
    pg->head_fresh = 1;
    *out = pg;
    return CHIP_OK;
}

void pager_close(pager *pg)
{
    if (!pg) return;
    if (pg->fd >= 0) close(pg->fd);   /* drops the flock */
    if (pg->buf) memset(pg->buf, 0, pg->buf_cap);
    free(pg->buf);
    free(pg->logbuf);   /* wiped after every read */
    free(pg->table);
    free(pg->in_log);
    free(pg->path);
    free(pg);
}

const char *pager_error(const pager *pg) { return pg->err; }
uint64_t pager_log_used(const pager *pg) { return pg->log_pos > pg->log_off ? pg->log_pos - pg->log_off : 0; }
int pager_is_locked(const pager *pg) { return pg->locked; }

static int grow_buf(pager *pg, size_t need)
{
    if (pg->buf_cap >= need) return CHIP_OK;
    uint8_t *b = malloc(need);
    if (!b) return CHIP_ERR_NOMEM;
    if (pg->buf) {
        memset(pg->buf, 0, pg->buf_cap);
        free(pg->buf);
    }
    pg->buf = b;
    pg->buf_cap = need;
    return CHIP_OK;
}

/* ---- reading ---- */

/* Check one record at `p` (at most `avail` bytes). Returns its length, or 0
 * when it is not the next valid record of this generation. */
static size_t record_check(const pager *pg, const uint8_t *p, size_t avail, uint32_t salt, uint64_t seq,
                           uint32_t chain)
{
    if (avail < REC_HDR + 8 || get32(p) != REC_MAGIC || get32(p + 4) != salt || get64(p + 8) != seq) return 0;
    uint32_t np = get32(p + 16), otp_len = get32(p + 20), len = get32(p + 28);
    if (np > pg->pages || (otp_len != 0 && otp_len != pg->geo.otp_size)) return 0;
    if (len != record_size(pg, np, otp_len != 0) || len > avail) return 0;
    size_t body = REC_HDR + (size_t)np * (8u + pg->geo.nvm_page_size) + otp_len;
    uint32_t crc = image_crc32_final(image_crc32_update(chain, p, body));
    if (get32(p + body) != crc) return 0;
    for (uint32_t i = 0; i < np; i++)
        if (get32(p + REC_HDR + (size_t)i * (8u + pg->geo.nvm_page_size)) >= pg->pages) return 0;
    return len;
}

/* Bytes up to and including the last nonzero one. The log region is laid
 * down as zeros and written only by records, so a wipe need not cover the
 * zeros after the last record ever written (a card's log is mostly unused). */
static size_t nonzero_extent(const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p + n - 8, 8);
        if (w) break;
        n -= 8;
    }
    while (n && !p[n - 1]) n--;
    return n;
}

/* Make the log buffer hold log bytes [0, need) (need <= log_len), reading
 * ahead by LOG_CHUNK: a log is read only as far as its records go. */
static int log_fill(pager *pg, size_t *have, size_t need, size_t log_len)
{
    if (need <= *have) return CHIP_OK;
    size_t want = need - *have < LOG_CHUNK ? *have + LOG_CHUNK : need;
    if (want > log_len) want = log_len;
    if (want > pg->logbuf_cap) {
        size_t cap = pg->logbuf_cap ? pg->logbuf_cap : LOG_CHUNK;
        while (cap < want) cap *= 2;
        uint8_t *b = malloc(cap);
        if (!b) return CHIP_ERR_NOMEM;
        if (pg->logbuf) {
            memcpy(b, pg->logbuf, *have);
            memset(pg->logbuf, 0, *have);
            free(pg->logbuf);
        }
        pg->logbuf = b;
        pg->logbuf_cap = cap;
    }
    if (read_at(pg, pg->logbuf + *have, want - *have, pg->log_off + *have) != (ssize_t)(want - *have)) {
        fail(pg, "card image could not be read", errno);
        return CHIP_ERR_IO;
    }
    *have = want;
    return CHIP_OK;
}

/* Bring the record at log offset pos into the buffer (as much of it as its
 * header claims, within the log). */
static int log_fill_record(pager *pg, size_t *have, size_t pos, size_t log_len)
{
    int rc = log_fill(pg, have, pos + REC_HDR + 8 <= log_len ? pos + REC_HDR + 8 : log_len, log_len);
    if (rc || *have < pos + REC_HDR + 8) return rc;
    size_t len = get32(pg->logbuf + pos + 28);
    if (get32(pg->logbuf + pos) != REC_MAGIC || len > log_len - pos) return CHIP_OK;
    return log_fill(pg, have, pos + len, log_len);
}

/* One attempt at reading header, body and log. Returns CHIP_OK, an error, or
 * 1 when the header changed meanwhile (retry). Reads only the body extents
 * (the rest of each region is blank by the slot's word) and the log as far
 * as its records go. */
static int read_once(pager *pg, pager_state *st, char *err, size_t errlen)
{
    uint8_t area[HEADER_AREA], again[HEADER_AREA];
    const uint8_t *rom_head = NULL;
    size_t rom_head_len = 0, n;
    uint64_t file_size;
    if (pg->head_fresh) {
        /* read at open (under the lock when there is one) */
        pg->head_fresh = 0;
        n = pg->head_len < HEADER_AREA ? pg->head_len : HEADER_AREA;
        memcpy(area, pg->head, n);
        file_size = pg->head_size;
        if (pg->head_len > HEADER_AREA) {
            rom_head = pg->head + HEADER_AREA;
            rom_head_len = pg->head_len - HEADER_AREA;
        }
    } else {
        ssize_t r = read_at(pg, area, sizeof area, 0);
        if (r < 0) {
            fail(pg, "cannot read", errno);
            set_err(err, errlen, pg->err);
            return CHIP_ERR_IO;
        }
        n = (size_t)r;
        struct stat sb;
        if (fstat(pg->fd, &sb) != 0) {
            fail(pg, "stat", errno);
            set_err(err, errlen, pg->err);
            return CHIP_ERR_IO;
        }
        file_size = (uint64_t)sb.st_size;
    }
    slot s;
    int rc = pick_slot(pg, area, n, &s, err, errlen);
    if (rc) return rc;
    if (memcmp(&s.geo, &pg->geo, sizeof s.geo) != 0) {
        fail(pg, "the card image was replaced by one of another geometry", 0);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    if (file_size < pg->log_off + LOG_DEFAULT) {
        fail(pg, "card image is truncated", 0);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    const chip_geometry *g = &pg->geo;
    uint32_t ps = g->nvm_page_size;
    uint32_t rom_ext = s.rom_extent ? s.rom_extent : g->rom_size;
    uint32_t nvm_ext = s.nvm_extent ? s.nvm_extent : g->nvm_size;
    size_t log_len = (size_t)(file_size - pg->log_off), have = 0;
    const uint8_t *table = pg->table + g->otp_size;
    /* The buffers past the extents become zero (the caller says how much of
     * them may not be). */
    if (st->rom_clean_from > rom_ext) memset(st->rom + rom_ext, 0, st->rom_clean_from - rom_ext);
    st->rom_clean_from = rom_ext;
    if (st->nvm_clean_from > nvm_ext) memset(st->nvm + nvm_ext, 0, st->nvm_clean_from - nvm_ext);
    st->nvm_clean_from = nvm_ext;
    size_t from_head = rom_head_len < rom_ext ? rom_head_len : rom_ext;
    if (from_head) memcpy(st->rom, rom_head, from_head);
    /* OTP, page table and the start of the log lie together: one read. */
    size_t to_log = (size_t)(pg->log_off - pg->otp_off), first_log = log_len < LOG_CHUNK ? log_len : LOG_CHUNK;
    rc = CHIP_OK;
    if ((rom_ext > from_head &&
         read_at(pg, st->rom + from_head, rom_ext - from_head, pg->rom_off + from_head) != (ssize_t)(rom_ext - from_head)) ||
        read_at(pg, st->nvm, nvm_ext, pg->nvm_off) != (ssize_t)nvm_ext ||
        read_at(pg, pg->table, to_log + first_log, pg->otp_off) != (ssize_t)(to_log + first_log)) {
        fail(pg, "card image could not be read", errno);
        set_err(err, errlen, pg->err);
        rc = CHIP_ERR_IO;
    }
    if (!rc) {
        memcpy(st->otp, pg->table, g->otp_size);
        if (pg->logbuf_cap < first_log) {
            free(pg->logbuf);   /* holds nothing: wiped after every read */
            pg->logbuf = malloc(LOG_CHUNK);
            pg->logbuf_cap = pg->logbuf ? LOG_CHUNK : 0;
        }
        if (!pg->logbuf) rc = CHIP_ERR_NOMEM;
        else {
            memcpy(pg->logbuf, pg->table + to_log, first_log);
            memset(pg->table + to_log, 0, first_log);
            have = first_log;
        }
    }
    /* Replay the log over the body. */
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    uint64_t commits = s.commits, npw = s.nvm_page_writes, ow = s.otp_writes;
    uint32_t flags = s.flags, chain = s.salt;
    size_t pos = 0;
    for (uint32_t i = 0; i < pg->pages && !rc; i++) st->wear[i] = get32(table + (size_t)i * TABLE_ENTRY);
    while (!rc) {
        rc = log_fill_record(pg, &have, pos, log_len);
        if (rc) {
            set_err(err, errlen, pg->err);
            break;
        }
        size_t len = record_check(pg, pg->logbuf + pos, have - pos, s.salt, commits + 1, chain);
        if (!len) break;
        const uint8_t *p = pg->logbuf + pos;
        uint32_t np = get32(p + 16), otp_len = get32(p + 20);
        const uint8_t *e = p + REC_HDR;
        for (uint32_t i = 0; i < np; i++, e += 8u + ps) {
            uint32_t idx = get32(e);
            st->wear[idx] = get32(e + 4);
            memcpy(st->nvm + (size_t)idx * ps, e + 8, ps);
            if ((idx + 1u) * ps > st->nvm_clean_from) st->nvm_clean_from = (idx + 1u) * ps;
            pg->in_log[idx] = 1;
        }
        if (otp_len) {
            memcpy(st->otp, e, otp_len);
            pg->otp_in_log = 1;
        }
        commits = get64(p + 8);
        flags = get32(p + 24);
        npw = get64(p + 32);
        ow = get64(p + 40);
        size_t body = REC_HDR + (size_t)np * (8u + ps) + otp_len;
        chain = get32(p + body);
        pos += len;
    }
    /* Without the lock a checkpoint may have intervened: read the header
     * again (a writer holding the lock cannot be overtaken). */
    if (!rc && !pg->locked) {
        if (read_at(pg, again, sizeof again, 0) != (ssize_t)sizeof again) rc = CHIP_ERR_IO;
        else if (memcmp(area, again, 2 * SLOT_SIZE) != 0) rc = 1;
    }
    /* Integrity of what the log did not replace. */
    if (!rc) {
        uint32_t crc = crc_of(st->rom, rom_ext);
        if (image_crc32_zero_extend(crc, g->rom_size - rom_ext) != s.rom_crc) {
            fail(pg, "card image checksum mismatch (corrupt contents: ROM)", 0);
            rc = CHIP_ERR_FORMAT;
        }
    }
    if (!rc && !pg->otp_in_log && crc_of(st->otp, g->otp_size) != s.otp_crc) {
        fail(pg, "card image checksum mismatch (corrupt contents: OTP)", 0);
        rc = CHIP_ERR_FORMAT;
    }
    for (uint32_t i = 0; i < pg->pages && !rc; i++) {
        if (pg->in_log[i]) continue;
        uint32_t want = get32(table + (size_t)i * TABLE_ENTRY + 4);
        /* a blank page (past the extent) is not read: its entry must say blank */
        uint32_t have_crc = (size_t)i * ps < nvm_ext ? crc_of(st->nvm + (size_t)i * ps, ps) : pg->zero_page_crc;
        if (have_crc != want) {
            char what[96];
            snprintf(what, sizeof what, "card image checksum mismatch (corrupt contents: NVM page %u)", i);
            fail(pg, what, 0);
            rc = CHIP_ERR_FORMAT;
        }
    }
    if (rc < 0) set_err(err, errlen, pg->err);
    if (!rc) {
        st->flags = flags;
        st->commits = commits;
        st->nvm_page_writes = npw;
        st->otp_writes = ow;
        pg->gen = s.gen;
        pg->salt = s.salt;
        pg->chain = chain;
        pg->commits = commits;
        pg->log_pos = pg->log_off + pos;
        pg->log_end = file_size;
        /* The wipe must cover every byte any record ever wrote: known when the
         * whole log was read, else found when a wipe needs it. */
        pg->log_dirty = have == log_len ? pg->log_off + nonzero_extent(pg->logbuf, have) : UINT64_MAX;
        pg->rom_crc = s.rom_crc;
        pg->rom_extent = s.rom_extent;
        pg->nvm_extent = s.nvm_extent;
        pg->unsynced = 0;
        memcpy(pg->header_seen, area, sizeof pg->header_seen);
    }
    if (have) memset(pg->logbuf, 0, nonzero_extent(pg->logbuf, have));   /* dead records may hold erased secrets */
    return rc;
}

int pager_read(pager *pg, pager_state *st, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < REC_MAX_READS; attempt++) {
        int rc = read_once(pg, st, err, errlen);
        if (rc != 1) return rc;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fail(pg, "the card image kept changing while being read", 0);
    set_err(err, errlen, pg->err);
    return CHIP_ERR_BUSY;
}

/* ---- locking ---- */
/* Who holds the lock: flock does not say, so the holder also takes a POSIX
 * record lock on one byte, which F_GETLK reports with its pid. Writing the
 * pid into the file would change its mtime, which readers (the IFD handler)
 * take for a new card. Informational only: a POSIX lock is dropped when the
 * process closes any descriptor of the file, then the message has no pid. */
static void note_holder(pager *pg)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = HOLDER_OFF, .l_len = 1};
    (void)fcntl(pg->fd, F_SETLK, &fl);
}

static long holder_pid(pager *pg)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = HOLDER_OFF, .l_len = 1};
    if (fcntl(pg->fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
    return (long)fl.l_pid;
}

/* Is there a valid record at the end of the log as last read or written?
 * Only then did another writer commit: a torn record left there by a writer
 * that was killed (a recovering open rolled it back) has the header of the
 * next record but does not check, and must not be taken for a change. */
static int next_record_valid(pager *pg, uint64_t file_size)
{
    if (pg->log_pos + REC_HDR + 8 > file_size) return 0;
    uint8_t peek[REC_HDR];
    if (read_at(pg, peek, sizeof peek, pg->log_pos) != (ssize_t)sizeof peek || get32(peek) != REC_MAGIC ||
        get32(peek + 4) != pg->salt || get64(peek + 8) != pg->commits + 1)
        return 0;
    size_t len = get32(peek + 28);
    if (len < REC_HDR + 8 || len > file_size - pg->log_pos || len > record_size(pg, pg->pages, 1)) return 0;
    uint8_t *rec = malloc(len);
    if (!rec) return 1;   /* cannot tell: reloading is the safe side */
    int valid = read_at(pg, rec, len, pg->log_pos) == (ssize_t)len &&
                record_check(pg, rec, len, pg->salt, pg->commits + 1, pg->chain) != 0;
    memset(rec, 0, len);
    free(rec);
    return valid;
}

int pager_lock(pager *pg, unsigned wait_ms, int *changed)
{
    *changed = 0;
    if (pg->locked) return CHIP_OK;
    if (pg->read_only) {
        fail(pg, "opened read-only", 0);
        return CHIP_ERR_IO;
    }
    if (pg->fd < 0) return CHIP_OK;    /* new image: locked when created */
    int rc = take_flock(pg, wait_ms);
    if (rc) return rc;
    pg->locked = 1;
    /* Did another writer change the file since we read it? The path may even
     * name another file now. */
    struct stat b;
    if (fstat(pg->fd, &b) != 0 || !same_file(pg, &b)) {
        flock(pg->fd, LOCK_UN);
        pg->locked = 0;
        return CHIP_ERR_IO;
    }
    uint8_t area[2 * SLOT_SIZE];
    if (read_at(pg, area, sizeof area, 0) != (ssize_t)sizeof area || memcmp(area, pg->header_seen, sizeof area) != 0)
        *changed = 1;
    else if (next_record_valid(pg, (uint64_t)b.st_size))
        *changed = 1;
    if ((uint64_t)b.st_size != pg->log_end) *changed = 1;
    note_holder(pg);
    return CHIP_OK;
}

void pager_unlock(pager *pg)
{
    if (!pg->locked) return;
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = HOLDER_OFF, .l_len = 1};
    (void)fcntl(pg->fd, F_SETLK, &fl);
    flock(pg->fd, LOCK_UN);
    pg->locked = 0;
}

/* ---- writing ---- */
static uint32_t new_salt(uint64_t gen)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    return r ^ (uint32_t)(gen * 0x9E3779B9u);
}

static void slot_from_state(const pager *pg, const pager_state *st, uint64_t gen, uint32_t salt,
                            uint64_t log_off, slot *s)
{
    memset(s, 0, sizeof *s);
    s->flags = st->flags;
    s->geo = st->geo;
    s->commits = st->commits;
    s->nvm_page_writes = st->nvm_page_writes;
    s->otp_writes = st->otp_writes;
    s->gen = gen;
    s->salt = salt;
    s->log_off = log_off;
    s->rom_crc = pg->rom_crc;
    s->otp_crc = crc_of(st->otp, st->geo.otp_size);
    s->rom_extent = pg->rom_extent;
    s->nvm_extent = pg->nvm_extent;
}

/* NVM bytes up to the end of the last page in [0, len) that is not blank. */
static uint32_t nvm_extent_of(const pager *pg, const uint8_t *nvm, size_t len)
{
    size_t e = nonzero_extent(nvm, len);
    uint32_t ps = pg->geo.nvm_page_size;
    return (uint32_t)((e + ps - 1) / ps * ps);
}

int pager_write_all(pager *pg, const pager_state *st, int sync)
{
    pg->err[0] = 0;
    if (pg->fd < 0) {
        /* A new image: 0600, since it will hold keys. O_NOFOLLOW refuses a
         * planted symlink at a path that is being created. */
        struct stat sb;
        int exists = lstat(pg->path, &sb) == 0;
        int flags = O_RDWR | O_CLOEXEC | O_CREAT | (exists ? 0 : O_EXCL | O_NOFOLLOW);
        pg->fd = open(pg->path, flags, 0600);
        if (pg->fd < 0) {
            fail(pg, "cannot create", errno);
            return CHIP_ERR_IO;
        }
        if (fstat(pg->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            fail(pg, "not a regular file", 0);
            close(pg->fd);
            pg->fd = -1;
            return CHIP_ERR_IO;
        }
        if (flock(pg->fd, LOCK_EX | LOCK_NB) != 0) {
            long pid = holder_pid(pg);
            if (pid > 0)
                snprintf(pg->err, sizeof pg->err, "%s: card image in use by pid %ld", pg->path, pid);
            else
                snprintf(pg->err, sizeof pg->err, "%s: card image in use by another process", pg->path);
            close(pg->fd);
            pg->fd = -1;
            return CHIP_ERR_BUSY;
        }
        pg->locked = 1;
        note_holder(pg);
    }
    if (!pg->locked) {
        fail(pg, "writing without the lock", 0);
        return CHIP_ERR_IO;
    }
    if (!pg->have_file || memcmp(&pg->geo, &st->geo, sizeof st->geo) != 0) {
        layout(pg, &st->geo);
        if (pager_size_buffers(pg)) return CHIP_ERR_NOMEM;
    }
    const chip_geometry *g = &st->geo;
    uint64_t gen = pg->gen + 1;
    uint32_t salt = new_salt(gen);
    pg->rom_crc = crc_of(st->rom, g->rom_size);
    pg->rom_extent = (uint32_t)nonzero_extent(st->rom, g->rom_size);
    pg->nvm_extent = nvm_extent_of(pg, st->nvm, g->nvm_size);
    slot s;
    slot_from_state(pg, st, gen, salt, pg->log_off, &s);
    uint8_t area[HEADER_AREA];
    memset(area, 0, sizeof area);
    slot_encode(area + slot_of(gen) * SLOT_SIZE, &s);
    size_t table_len = (size_t)pg->pages * TABLE_ENTRY;
    uint8_t *table = malloc(table_len);
    if (!table) return CHIP_ERR_NOMEM;
    for (uint32_t i = 0; i < pg->pages; i++) {
        put32(table + (size_t)i * TABLE_ENTRY, st->wear[i]);
        put32(table + (size_t)i * TABLE_ENTRY + 4, crc_of(st->nvm + (size_t)i * g->nvm_page_size, g->nvm_page_size));
    }
    uint64_t end = pg->log_off + LOG_DEFAULT;
    /* The whole file is rewritten: shrink first so that an older, bigger log
     * cannot survive, then lay the log region down as zeros so that later
     * commits overwrite allocated blocks (fdatasync then has no metadata).
     * ROM and NVM past their extents are zero by the slot's word and stay
     * holes, which read as zeros: a new card costs the disk what it holds
     * (a default card: about 150 KB written and synced instead of 530 KB). */
    int rc = pg->io.truncate(pg->io.ctx, pg->fd, 0) == 0 ? CHIP_OK : (fail(pg, "ftruncate", errno), CHIP_ERR_IO);
    if (!rc) rc = write_at(pg, area, sizeof area, 0);
    if (!rc) rc = write_at(pg, st->rom, pg->rom_extent, pg->rom_off);
    if (!rc) rc = write_at(pg, st->nvm, pg->nvm_extent, pg->nvm_off);
    if (!rc) rc = write_at(pg, st->otp, g->otp_size, pg->otp_off);
    if (!rc) rc = write_at(pg, table, table_len, pg->table_off);
    free(table);
    if (!rc) {
        static const uint8_t zeros[65536];
        for (uint64_t at = pg->table_off + table_len; !rc && at < end;) {
            size_t n = end - at < 65536 ? (size_t)(end - at) : 65536;
            rc = write_at(pg, zeros, n, at);
            at += n;
        }
    }
    if (!rc && sync) rc = sync_file(pg);
    if (rc) return rc;
    pg->have_file = 1;
    pg->gen = gen;
    pg->salt = salt;
    pg->chain = salt;
    pg->commits = st->commits;
    pg->log_pos = pg->log_off;
    pg->log_end = end;
    pg->log_dirty = pg->log_off;
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    memcpy(pg->header_seen, area, sizeof pg->header_seen);
    return CHIP_OK;
}

/* The log was read only as far as its records go: find the last byte any
 * record ever wrote (unknown: the whole log). */
static void find_log_dirty(pager *pg)
{
    uint8_t *b = malloc(65536);
    uint64_t dirty = pg->log_off;
    for (uint64_t at = pg->log_off; b && at < pg->log_end;) {
        size_t n = pg->log_end - at < 65536 ? (size_t)(pg->log_end - at) : 65536;
        if (read_at(pg, b, n, at) != (ssize_t)n) {
            dirty = pg->log_end;
            break;
        }
        size_t e = nonzero_extent(b, n);
        if (e) dirty = at + e;
        memset(b, 0, e);
        at += n;
    }
    pg->log_dirty = b ? dirty : pg->log_end;
    free(b);
}

int pager_checkpoint_due(const pager *pg) { return pager_log_used(pg) + 8192u >= LOG_DEFAULT; }

/* Copy every page the log holds into place, sync, then switch generation. */
int pager_checkpoint(pager *pg, const pager_state *st, int sync, int wipe)
{
    if (!pg->locked || pg->fd < 0) return CHIP_ERR_IO;
    const chip_geometry *g = &st->geo;
    uint32_t ps = g->nvm_page_size;
    int rc = CHIP_OK;
    /* Records written without a sync must be on disk before the body they
     * cover changes, or a host crash could keep the new body and lose them. */
    if (sync && pg->unsynced) rc = sync_file(pg);
    if (rc) return rc;
    /* The new extent: nothing past the old one or the last page the log
     * holds can be nonzero. Pages that enter it are written in place too, so
     * that every byte inside the extent is state. */
    uint32_t old_pages = pg->nvm_extent ? pg->nvm_extent / ps : pg->pages, last = 0;
    for (uint32_t i = 0; i < pg->pages; i++)
        if (pg->in_log[i]) last = i + 1;
    size_t scan = (size_t)(last > old_pages ? last : old_pages) * ps;
    uint32_t new_extent = nvm_extent_of(pg, st->nvm, scan);
    uint32_t new_pages = new_extent / ps;
    /* an image from before extents: ROM (checked whole at open) gets one too */
    if (!pg->rom_extent) pg->rom_extent = (uint32_t)nonzero_extent(st->rom, g->rom_size);
#define CKPT_WRITES(i) (pg->in_log[i] || ((i) >= old_pages && (i) < new_pages))
    for (uint32_t i = 0; i < pg->pages && !rc;) {
        if (!CKPT_WRITES(i)) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < pg->pages && CKPT_WRITES(j)) j++;
        rc = write_at(pg, st->nvm + (size_t)i * ps, (size_t)(j - i) * ps, pg->nvm_off + (uint64_t)i * ps);
        if (!rc) {
            size_t tl = (size_t)(j - i) * TABLE_ENTRY;
            if (grow_buf(pg, tl)) return CHIP_ERR_NOMEM;
            for (uint32_t k = i; k < j; k++) {
                put32(pg->buf + (size_t)(k - i) * TABLE_ENTRY, st->wear[k]);
                put32(pg->buf + (size_t)(k - i) * TABLE_ENTRY + 4, crc_of(st->nvm + (size_t)k * ps, ps));
            }
            rc = write_at(pg, pg->buf, tl, pg->table_off + (uint64_t)i * TABLE_ENTRY);
        }
        i = j;
    }
#undef CKPT_WRITES
    if (!rc && pg->otp_in_log) rc = write_at(pg, st->otp, g->otp_size, pg->otp_off);
    if (!rc && sync) rc = sync_file(pg);
    if (rc) return rc;
    uint64_t gen = pg->gen + 1;
    uint32_t salt = new_salt(gen);
    slot s;
    slot_from_state(pg, st, gen, salt, pg->log_off, &s);
    s.nvm_extent = new_extent;
    s.commits = pg->commits;
    uint8_t h[SLOT_SIZE];
    slot_encode(h, &s);
    rc = write_at(pg, h, sizeof h, slot_of(gen) * SLOT_SIZE);
    if (!rc && sync) rc = sync_file(pg);
    if (rc) return rc;
    memcpy(pg->header_seen + slot_of(gen) * SLOT_SIZE, h, SLOT_SIZE);
    pg->nvm_extent = new_extent;
    pg->gen = gen;
    pg->salt = salt;
    pg->chain = salt;
    pg->log_pos = pg->log_off;
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    if (wipe) {
        /* Old records are dead (wrong salt) but still hold the bytes of
         * erased data: overwrite the log region up to the last byte any
         * record ever reached (the rest is zeros already). */
        static const uint8_t zeros[65536];
        if (pg->log_dirty == UINT64_MAX) find_log_dirty(pg);
        uint64_t end = pg->log_dirty < pg->log_end ? pg->log_dirty : pg->log_end;
        for (uint64_t at = pg->log_off; !rc && at < end;) {
            size_t n = end - at < 65536 ? (size_t)(end - at) : 65536;
            rc = write_at(pg, zeros, n, at);
            at += n;
        }
        if (!rc && sync) rc = sync_file(pg);
        if (!rc) pg->log_dirty = pg->log_off;
    }
    return rc;
}

int pager_commit(pager *pg, const pager_record *r, int sync)
{
    pg->err[0] = 0;
    if (!pg->locked || pg->fd < 0) {
        fail(pg, "commit without the writer lock", 0);
        return CHIP_ERR_IO;
    }
    const chip_geometry *g = &pg->geo;
    uint32_t ps = g->nvm_page_size;
    size_t len = record_size(pg, r->npages, r->otp != NULL);
    if (grow_buf(pg, len)) return CHIP_ERR_NOMEM;
    uint8_t *p = pg->buf;
    memset(p, 0, len);
    put32(p, REC_MAGIC);
    put32(p + 4, pg->salt);
    put64(p + 8, pg->commits + 1);
    put32(p + 16, r->npages);
    put32(p + 20, r->otp ? g->otp_size : 0);
    put32(p + 24, r->flags);
    put32(p + 28, (uint32_t)len);
    put64(p + 32, r->nvm_page_writes);
    put64(p + 40, r->otp_writes);
    uint8_t *e = p + REC_HDR;
    for (uint32_t i = 0; i < r->npages; i++, e += 8u + ps) {
        put32(e, r->pages[i].index);
        put32(e + 4, r->wear[r->pages[i].index]);
        memcpy(e + 8, r->pages[i].data, ps);
    }
    if (r->otp) {
        memcpy(e, r->otp, g->otp_size);
        e += g->otp_size;
    }
    uint32_t crc = image_crc32_final(image_crc32_update(pg->chain, p, (size_t)(e - p)));
    put32(e, crc);
    uint64_t at = pg->log_pos;
    /* before the write: a failed one may still have put some of it there */
    if (at + len > pg->log_dirty) pg->log_dirty = at + len;
    int rc = write_at(pg, p, len, at);
    if (!rc && sync) rc = sync_file(pg);
    memset(p, 0, len);   /* page images may hold keys */
    if (rc) {
        /* The record may be whole in the page cache: spoil its magic so that
         * a later open does not resurrect a commit the card reported failed.
         * The next commit overwrites it in any case. */
        uint8_t z[4] = {0};
        char keep[sizeof pg->err];
        memcpy(keep, pg->err, sizeof keep);
        if (pg->io.pwrite(pg->io.ctx, pg->fd, z, sizeof z, (off_t)at) == (ssize_t)sizeof z && sync)
            (void)pg->io.sync(pg->io.ctx, pg->fd);
        memcpy(pg->err, keep, sizeof keep);
        return rc;
    }
    pg->log_pos = at + len;
    if (pg->log_pos > pg->log_end) pg->log_end = pg->log_pos;
    if (!sync) pg->unsynced = 1;
    pg->chain = crc;
    pg->commits++;
    for (uint32_t i = 0; i < r->npages; i++) pg->in_log[r->pages[i].index] = 1;
    if (r->otp) pg->otp_in_log = 1;
    return CHIP_OK;
}
