/*
 * chip.c — chip memory regions, the card image file, commit and tear
 * injection. The file format is described byte by byte in
 * docs/image-format.md; keep the two in step.
 */
#include "chip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"

#define IMAGE_MAGIC "CVMIMAGE"
#define IMAGE_FORMAT_VERSION 1u
#define IMAGE_HEADER_SIZE 128u
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
    uint32_t flags;            /* IMAGE_FLAG_* as persisted */
    enum chip_sync sync;

    uint8_t *rom;
    uint8_t *nvm, *nvm_committed;
    uint8_t *otp, *otp_committed;
    uint8_t *ram;
    uint32_t ram_reserved;

    uint32_t pages;            /* nvm_size / nvm_page_size */
    uint32_t page_shift;
    uint32_t *wear;            /* per NVM page, lifetime writes */
    uint8_t *dirty_pages;      /* one byte per page: written since commit */
    int dirty;                 /* any NVM/OTP write since commit */

    uint64_t nvm_page_writes, otp_writes, commits;

    int powered;
    uint32_t tear_at;          /* 0 = disarmed */
    uint32_t writes_since_arm;
    int tear_fired;

    uint32_t rom_crc_state;    /* CRC state after ROM; valid once masked */
    int rom_crc_valid;
};

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
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
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

static uint32_t wear_bytes(const chip *c) { return c->pages * 4u; }

static uint64_t body_size(const chip_geometry *g)
{
    return (uint64_t)g->rom_size + g->nvm_size + g->otp_size + (uint64_t)(g->nvm_size / g->nvm_page_size) * 4u;
}

static void chip_free_buffers(chip *c)
{
    free(c->path);
    free(c->rom);
    free(c->nvm);
    free(c->nvm_committed);
    free(c->otp);
    free(c->otp_committed);
    free(c->ram);
    free(c->wear);
    free(c->dirty_pages);
    free(c);
}

static int chip_alloc(const chip_geometry *g, const char *path, chip **out)
{
    chip *c = calloc(1, sizeof *c);
    if (!c) return CHIP_ERR_NOMEM;
    c->geo = *g;
    c->pages = g->nvm_size / g->nvm_page_size;
    while ((1u << c->page_shift) < g->nvm_page_size) c->page_shift++;
    c->rom = calloc(1, g->rom_size ? g->rom_size : 1);
    c->nvm = calloc(1, g->nvm_size);
    c->nvm_committed = calloc(1, g->nvm_size);
    c->otp = calloc(1, g->otp_size);
    c->otp_committed = calloc(1, g->otp_size);
    c->ram = calloc(1, g->ram_size);
    c->wear = calloc(c->pages, sizeof(uint32_t));
    c->dirty_pages = calloc(c->pages, 1);
    if (path) c->path = strdup(path);
    if (!c->rom || !c->nvm || !c->nvm_committed || !c->otp || !c->otp_committed || !c->ram ||
        !c->wear || !c->dirty_pages || (path && !c->path)) {
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
    int rc = chip_alloc(g, path, &c);
    if (rc) return rc;
    c->flags = IMAGE_FLAG_MASKING;
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
    /* Secrets may sit in any region; do not leave them in freed host memory. */
    memset(c->nvm, 0, c->geo.nvm_size);
    memset(c->nvm_committed, 0, c->geo.nvm_size);
    memset(c->ram, 0, c->geo.ram_size);
    memset(c->otp, 0, c->geo.otp_size);
    chip_free_buffers(c);
}

void chip_end_masking(chip *c) { c->flags &= ~IMAGE_FLAG_MASKING; c->dirty = 1; }
int chip_is_masking(const chip *c) { return (c->flags & IMAGE_FLAG_MASKING) != 0; }
const chip_geometry *chip_get_geometry(const chip *c) { return &c->geo; }
const char *chip_path(const chip *c) { return c->path; }
void chip_set_sync(chip *c, enum chip_sync mode) { c->sync = mode; }
int chip_is_powered(const chip *c) { return c->powered; }
int chip_is_dirty(const chip *c) { return c->dirty; }

/* ---- image file ---- */
static void set_err(char *err, size_t errlen, const char *path, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", path, what);
}

static uint32_t body_crc(chip *c)
{
    if (!c->rom_crc_valid || chip_is_masking(c)) {
        c->rom_crc_state = image_crc32_update(IMAGE_CRC32_INIT, c->rom, c->geo.rom_size);
        c->rom_crc_valid = !chip_is_masking(c);
    }
    uint32_t s = c->rom_crc_state;
    s = image_crc32_update(s, c->nvm_committed, c->geo.nvm_size);
    s = image_crc32_update(s, c->otp_committed, c->geo.otp_size);
    uint8_t w[4];
    for (uint32_t i = 0; i < c->pages; i++) {
        put32(w, c->wear[i]);
        s = image_crc32_update(s, w, 4);
    }
    return image_crc32_final(s);
}

static void build_header(chip *c, uint8_t *h, uint32_t crc)
{
    memset(h, 0, IMAGE_HEADER_SIZE);
    memcpy(h, IMAGE_MAGIC, 8);
    put16(h + 8, IMAGE_FORMAT_VERSION);
    put16(h + 10, IMAGE_HEADER_SIZE);
    put32(h + 12, c->flags);
    put32(h + 16, c->geo.rom_size);
    put32(h + 20, c->geo.nvm_size);
    put32(h + 24, c->geo.nvm_page_size);
    put32(h + 28, c->geo.ram_size);
    put32(h + 32, c->geo.otp_size);
    put32(h + 36, wear_bytes(c));
    put64(h + 40, c->commits);
    put64(h + 48, c->nvm_page_writes);
    put64(h + 56, c->otp_writes);
    put32(h + 64, crc);
    put32(h + 124, image_crc32_final(image_crc32_update(IMAGE_CRC32_INIT, h, 124)));
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *dup = strdup(path);
    if (!dup) return -1;
    char *slash = strrchr(dup, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == dup) slash[1] = 0; else *slash = 0;
        dir = dup;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = -1;
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(dup);
    return rc;
}

/* Write the committed copies as a whole new file, then rename it into place:
 * rename(2) is atomic, so readers and a later open see old or new, never a mix. */
static int write_image(chip *c)
{
    uint8_t hdr[IMAGE_HEADER_SIZE];
    build_header(c, hdr, body_crc(c));
    size_t plen = strlen(c->path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return CHIP_ERR_NOMEM;
    snprintf(tmp, plen + 32, "%s.tmp.%ld", c->path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(tmp);
        return CHIP_ERR_IO;
    }
    uint8_t *wear = malloc(wear_bytes(c));
    int ok = wear != NULL;
    if (ok) {
        for (uint32_t i = 0; i < c->pages; i++) put32(wear + 4 * i, c->wear[i]);
        ok = write_all(fd, hdr, sizeof hdr) == 0 &&
             write_all(fd, c->rom, c->geo.rom_size) == 0 &&
             write_all(fd, c->nvm_committed, c->geo.nvm_size) == 0 &&
             write_all(fd, c->otp_committed, c->geo.otp_size) == 0 &&
             write_all(fd, wear, wear_bytes(c)) == 0;
    }
    free(wear);
    if (ok && c->sync == CHIP_SYNC_FULL) ok = fsync(fd) == 0;
    if (close(fd) != 0) ok = 0;
    if (ok) ok = rename(tmp, c->path) == 0;
    if (!ok) unlink(tmp);
    free(tmp);
    if (ok && c->sync == CHIP_SYNC_FULL) fsync_dir_of(c->path);
    return ok ? CHIP_OK : CHIP_ERR_IO;
}

int chip_open(const char *path, chip **out, char *err, size_t errlen)
{
    if (!path || !out) return CHIP_ERR_ARG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, path, strerror(errno));
        return CHIP_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        set_err(err, errlen, path, "not a regular file");
        return CHIP_ERR_IO;
    }
    uint8_t h[IMAGE_HEADER_SIZE];
    ssize_t n = pread(fd, h, sizeof h, 0);
    if (n != (ssize_t)sizeof h || memcmp(h, IMAGE_MAGIC, 8) != 0) {
        close(fd);
        set_err(err, errlen, path, n < 8 ? "not a cardvm card image (too short)"
                                   : memcmp(h, IMAGE_MAGIC, 8) != 0 ? "not a cardvm card image (bad magic)"
                                                                    : "card image is truncated (incomplete header)");
        return CHIP_ERR_FORMAT;
    }
    if (get16(h + 8) != IMAGE_FORMAT_VERSION) {
        close(fd);
        char msg[96];
        snprintf(msg, sizeof msg, "card image format version %u, this cardvm reads version %u",
                 get16(h + 8), IMAGE_FORMAT_VERSION);
        set_err(err, errlen, path, msg);
        return CHIP_ERR_VERSION;
    }
    if (get16(h + 10) != IMAGE_HEADER_SIZE ||
        get32(h + 124) != image_crc32_final(image_crc32_update(IMAGE_CRC32_INIT, h, 124))) {
        close(fd);
        set_err(err, errlen, path, "card image header checksum mismatch (corrupt header)");
        return CHIP_ERR_FORMAT;
    }
    chip_geometry g = {get32(h + 16), get32(h + 20), get32(h + 24), get32(h + 28), get32(h + 32)};
    if (!geometry_ok(&g) || get32(h + 36) != (g.nvm_size / g.nvm_page_size) * 4u) {
        close(fd);
        set_err(err, errlen, path, "card image header has impossible region sizes");
        return CHIP_ERR_FORMAT;
    }
    if ((uint64_t)st.st_size != IMAGE_HEADER_SIZE + body_size(&g)) {
        close(fd);
        set_err(err, errlen, path, (uint64_t)st.st_size < IMAGE_HEADER_SIZE + body_size(&g)
                                       ? "card image is truncated"
                                       : "card image has trailing bytes");
        return CHIP_ERR_FORMAT;
    }
    chip *c;
    int rc = chip_alloc(&g, path, &c);
    if (rc) {
        close(fd);
        set_err(err, errlen, path, chip_strerror(rc));
        return rc;
    }
    uint8_t *wear = malloc(wear_bytes(c));
    off_t pos = IMAGE_HEADER_SIZE;
    int ok = wear != NULL;
    struct { void *buf; size_t len; } parts[] = {
        {c->rom, g.rom_size}, {c->nvm_committed, g.nvm_size},
        {c->otp_committed, g.otp_size}, {wear, wear_bytes(c)},
    };
    for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) {
        size_t got = 0;
        while (got < parts[i].len) {
            ssize_t r = pread(fd, (uint8_t *)parts[i].buf + got, parts[i].len - got, pos);
            if (r <= 0) {
                if (r < 0 && errno == EINTR) continue;
                ok = 0;
                break;
            }
            got += (size_t)r;
            pos += r;
        }
    }
    close(fd);
    if (!ok) {
        free(wear);
        chip_free_buffers(c);
        set_err(err, errlen, path, "card image could not be read");
        return CHIP_ERR_IO;
    }
    for (uint32_t i = 0; i < c->pages; i++) c->wear[i] = get32(wear + 4 * i);
    free(wear);
    c->flags = get32(h + 12);
    c->commits = get64(h + 40);
    c->nvm_page_writes = get64(h + 48);
    c->otp_writes = get64(h + 56);
    if (body_crc(c) != get32(h + 64)) {
        chip_free_buffers(c);
        set_err(err, errlen, path, "card image checksum mismatch (corrupt contents)");
        return CHIP_ERR_FORMAT;
    }
    memcpy(c->nvm, c->nvm_committed, g.nvm_size);
    memcpy(c->otp, c->otp_committed, g.otp_size);
    c->powered = 0;
    *out = c;
    return CHIP_OK;
}

int chip_commit(chip *c)
{
    if (!c->powered) return CHIP_ERR_POWER;
    if (!c->dirty && c->commits > 0) return CHIP_OK;
    /* Copy only the pages touched since the last commit. */
    uint32_t ps = c->geo.nvm_page_size;
    for (uint32_t p = 0; p < c->pages; p++) {
        if (c->dirty_pages[p]) {
            memcpy(c->nvm_committed + (size_t)p * ps, c->nvm + (size_t)p * ps, ps);
            c->dirty_pages[p] = 0;
        }
    }
    memcpy(c->otp_committed, c->otp, c->geo.otp_size);
    c->commits++;
    c->dirty = 0;
    if (!c->path) return CHIP_OK;
    int rc = write_image(c);
    if (rc) {
        /* The file still holds the previous commit; keep memory in step with
         * it so that what the card believes durable is durable. */
        c->commits--;
        c->dirty = 1;
        memset(c->dirty_pages, 1, c->pages);
    }
    return rc;
}

void chip_rollback(chip *c)
{
    uint32_t ps = c->geo.nvm_page_size;
    for (uint32_t p = 0; p < c->pages; p++) {
        if (c->dirty_pages[p]) {
            memcpy(c->nvm + (size_t)p * ps, c->nvm_committed + (size_t)p * ps, ps);
            c->dirty_pages[p] = 0;
        }
    }
    memcpy(c->otp, c->otp_committed, c->geo.otp_size);
    if (c->commits > 0) c->dirty = 0;
}

void chip_power_on(chip *c)
{
    chip_rollback(c);
    memset(c->ram, 0, c->geo.ram_size);
    c->powered = 1;
    c->tear_fired = 0;
    c->tear_at = 0;
    c->writes_since_arm = 0;
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
    c->rom_crc_valid = 0;
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
        c->dirty_pages[page] = 1;
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
