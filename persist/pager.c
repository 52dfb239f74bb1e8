/*
 * pager.c — the card image file: header slots, in-place body, log records,
 * checkpoint, recovery, writer lock. See pager.h for the design and
 * docs/image-format.md for the bytes.
 */
#define _DEFAULT_SOURCE 1
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
    uint32_t chain;            /* CRC of the last record (salt before the first) */
    uint64_t commits;          /* commit number of the last record or checkpoint */
    uint32_t rom_crc;          /* ROM is written once: its CRC is computed once */
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
    if (!geometry_plausible(&s->geo) || get32(h + 36) != TABLE_ENTRY) {
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
    return pg;
}

static int pager_size_buffers(pager *pg)
{
    free(pg->in_log);
    pg->in_log = calloc(pg->pages ? pg->pages : 1, 1);
    return pg->in_log ? CHIP_OK : CHIP_ERR_NOMEM;
}

int pager_new(const char *path, const chip_io *io, pager **out)
{
    pager *pg = pager_alloc(path, io);
    if (!pg) return CHIP_ERR_NOMEM;
    *out = pg;
    return CHIP_OK;
}

int pager_open(const char *path, int read_only, const chip_io *io, pager **out,
               chip_geometry *geo, char *err, size_t errlen)
{
    pager *pg = pager_alloc(path, io);
    if (!pg) return CHIP_ERR_NOMEM;
    pg->read_only = read_only;
    pg->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
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
    uint8_t area[HEADER_AREA];
    ssize_t n = read_at(pg, area, sizeof area, 0);
    slot s;
    int rc = n < 0 ? CHIP_ERR_IO : pick_slot(pg, area, (size_t)n, &s, err, errlen);
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
    *out = pg;
    return CHIP_OK;
}

void pager_close(pager *pg)
{
    if (!pg) return;
    if (pg->fd >= 0) close(pg->fd);   /* drops the flock */
    if (pg->buf) memset(pg->buf, 0, pg->buf_cap);
    free(pg->buf);
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

/* One attempt at reading header, body and log. Returns CHIP_OK, an error, or
 * 1 when the header changed meanwhile (retry). */
static int read_once(pager *pg, pager_state *st, char *err, size_t errlen)
{
    uint8_t area[HEADER_AREA], again[HEADER_AREA];
    ssize_t n = read_at(pg, area, sizeof area, 0);
    if (n < 0) {
        fail(pg, "cannot read", errno);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_IO;
    }
    slot s;
    int rc = pick_slot(pg, area, (size_t)n, &s, err, errlen);
    if (rc) return rc;
    if (memcmp(&s.geo, &pg->geo, sizeof s.geo) != 0) {
        fail(pg, "the card image was replaced by one of another geometry", 0);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    struct stat sb;
    if (fstat(pg->fd, &sb) != 0) {
        fail(pg, "stat", errno);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_IO;
    }
    uint64_t file_size = (uint64_t)sb.st_size;
    if (file_size < pg->log_off + LOG_DEFAULT) {
        fail(pg, "card image is truncated", 0);
        set_err(err, errlen, pg->err);
        return CHIP_ERR_FORMAT;
    }
    const chip_geometry *g = &pg->geo;
    size_t table_len = (size_t)pg->pages * TABLE_ENTRY;
    uint8_t *table = malloc(table_len);
    size_t log_len = (size_t)(file_size - pg->log_off);
    uint8_t *log = malloc(log_len ? log_len : 1);
    if (!table || !log) {
        free(table);
        free(log);
        return CHIP_ERR_NOMEM;
    }
    rc = CHIP_OK;
    if (read_at(pg, st->rom, g->rom_size, pg->rom_off) != (ssize_t)g->rom_size ||
        read_at(pg, st->nvm, g->nvm_size, pg->nvm_off) != (ssize_t)g->nvm_size ||
        read_at(pg, st->otp, g->otp_size, pg->otp_off) != (ssize_t)g->otp_size ||
        read_at(pg, table, table_len, pg->table_off) != (ssize_t)table_len ||
        read_at(pg, log, log_len, pg->log_off) != (ssize_t)log_len) {
        fail(pg, "card image could not be read", errno);
        set_err(err, errlen, pg->err);
        rc = CHIP_ERR_IO;
    }
    if (!rc && read_at(pg, again, sizeof again, 0) != (ssize_t)sizeof again) rc = CHIP_ERR_IO;
    if (!rc && memcmp(area, again, 2 * SLOT_SIZE) != 0) rc = 1;   /* a checkpoint intervened */
    /* Replay the log over the body. */
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    uint64_t commits = s.commits, npw = s.nvm_page_writes, ow = s.otp_writes;
    uint32_t flags = s.flags, chain = s.salt;
    size_t pos = 0;
    for (uint32_t i = 0; i < pg->pages && !rc; i++) st->wear[i] = get32(table + (size_t)i * TABLE_ENTRY);
    while (!rc) {
        size_t len = record_check(pg, log + pos, log_len - pos, s.salt, commits + 1, chain);
        if (!len) break;
        const uint8_t *p = log + pos;
        uint32_t np = get32(p + 16), otp_len = get32(p + 20);
        const uint8_t *e = p + REC_HDR;
        for (uint32_t i = 0; i < np; i++, e += 8u + g->nvm_page_size) {
            uint32_t idx = get32(e);
            st->wear[idx] = get32(e + 4);
            memcpy(st->nvm + (size_t)idx * g->nvm_page_size, e + 8, g->nvm_page_size);
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
        size_t body = REC_HDR + (size_t)np * (8u + g->nvm_page_size) + otp_len;
        chain = get32(p + body);
        pos += len;
    }
    /* Integrity of what the log did not replace. */
    if (!rc && crc_of(st->rom, g->rom_size) != s.rom_crc) {
        fail(pg, "card image checksum mismatch (corrupt contents: ROM)", 0);
        rc = CHIP_ERR_FORMAT;
    }
    if (!rc && !pg->otp_in_log && crc_of(st->otp, g->otp_size) != s.otp_crc) {
        fail(pg, "card image checksum mismatch (corrupt contents: OTP)", 0);
        rc = CHIP_ERR_FORMAT;
    }
    for (uint32_t i = 0; i < pg->pages && !rc; i++) {
        if (pg->in_log[i]) continue;
        if (crc_of(st->nvm + (size_t)i * g->nvm_page_size, g->nvm_page_size) != get32(table + (size_t)i * TABLE_ENTRY + 4)) {
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
        pg->rom_crc = s.rom_crc;
        memcpy(pg->header_seen, area, sizeof pg->header_seen);
    }
    free(table);
    memset(log, 0, log_len);
    free(log);
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

int pager_lock(pager *pg, unsigned wait_ms, int *changed)
{
    *changed = 0;
    if (pg->locked) return CHIP_OK;
    if (pg->read_only) {
        fail(pg, "opened read-only", 0);
        return CHIP_ERR_IO;
    }
    if (pg->fd < 0) return CHIP_OK;    /* new image: locked when created */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned sleep_us = 200;
    for (;;) {
        if (flock(pg->fd, LOCK_EX | LOCK_NB) == 0) break;
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
    pg->locked = 1;
    /* Did another writer change the file since we read it? The path may even
     * name another file now. */
    struct stat a, b;
    if (stat(pg->path, &a) != 0 || fstat(pg->fd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        flock(pg->fd, LOCK_UN);
        pg->locked = 0;
        fail(pg, "the card image file was replaced; open it again", 0);
        return CHIP_ERR_IO;
    }
    uint8_t area[2 * SLOT_SIZE];
    if (read_at(pg, area, sizeof area, 0) != (ssize_t)sizeof area || memcmp(area, pg->header_seen, sizeof area) != 0) {
        *changed = 1;
    } else if (pg->log_pos + REC_HDR + 8 <= (uint64_t)b.st_size) {
        uint8_t peek[REC_HDR];
        if (read_at(pg, peek, sizeof peek, pg->log_pos) == (ssize_t)sizeof peek && get32(peek) == REC_MAGIC &&
            get32(peek + 4) == pg->salt && get64(peek + 8) == pg->commits + 1)
            *changed = 1;
    }
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
     * commits overwrite allocated blocks (fdatasync then has no metadata). */
    int rc = pg->io.truncate(pg->io.ctx, pg->fd, 0) == 0 ? CHIP_OK : (fail(pg, "ftruncate", errno), CHIP_ERR_IO);
    if (!rc) rc = write_at(pg, area, sizeof area, 0);
    if (!rc) rc = write_at(pg, st->rom, g->rom_size, pg->rom_off);
    if (!rc) rc = write_at(pg, st->nvm, g->nvm_size, pg->nvm_off);
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
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    memcpy(pg->header_seen, area, sizeof pg->header_seen);
    return CHIP_OK;
}

int pager_checkpoint_due(const pager *pg) { return pager_log_used(pg) + 8192u >= LOG_DEFAULT; }

/* Copy every page the log holds into place, sync, then switch generation. */
int pager_checkpoint(pager *pg, const pager_state *st, int sync, int wipe)
{
    if (!pg->locked || pg->fd < 0) return CHIP_ERR_IO;
    const chip_geometry *g = &st->geo;
    uint32_t ps = g->nvm_page_size;
    int rc = CHIP_OK;
    for (uint32_t i = 0; i < pg->pages && !rc;) {
        if (!pg->in_log[i]) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < pg->pages && pg->in_log[j]) j++;
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
    if (!rc && pg->otp_in_log) rc = write_at(pg, st->otp, g->otp_size, pg->otp_off);
    if (!rc && sync) rc = sync_file(pg);
    if (rc) return rc;
    uint64_t gen = pg->gen + 1;
    uint32_t salt = new_salt(gen);
    slot s;
    slot_from_state(pg, st, gen, salt, pg->log_off, &s);
    s.commits = pg->commits;
    uint8_t h[SLOT_SIZE];
    slot_encode(h, &s);
    rc = write_at(pg, h, sizeof h, slot_of(gen) * SLOT_SIZE);
    if (!rc && sync) rc = sync_file(pg);
    if (rc) return rc;
    memcpy(pg->header_seen + slot_of(gen) * SLOT_SIZE, h, SLOT_SIZE);
    pg->gen = gen;
    pg->salt = salt;
    pg->chain = salt;
    pg->log_pos = pg->log_off;
    memset(pg->in_log, 0, pg->pages);
    pg->otp_in_log = 0;
    if (wipe) {
        /* Old records are dead (wrong salt) but still hold the bytes of
         * erased data: overwrite the whole log region. */
        static const uint8_t zeros[65536];
        for (uint64_t at = pg->log_off; !rc && at < pg->log_end;) {
            size_t n = pg->log_end - at < 65536 ? (size_t)(pg->log_end - at) : 65536;
            rc = write_at(pg, zeros, n, at);
            at += n;
        }
        if (!rc && sync) rc = sync_file(pg);
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
    pg->chain = crc;
    pg->commits++;
    for (uint32_t i = 0; i < r->npages; i++) pg->in_log[r->pages[i].index] = 1;
    if (r->otp) pg->otp_in_log = 1;
    return CHIP_OK;
}
