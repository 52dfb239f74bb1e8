/*
 * chip.h — the simulated chip memory of one card, and its card image file.
 *
 * A chip has four regions, sized when the card is made (masked):
 *
 *   ROM   written only while the chip is being masked; read-only afterwards.
 *   NVM   EEPROM, page based. Every write is counted per page (wear), and all
 *         writes made since the last commit become durable together.
 *   RAM   volatile; cleared at every power-on and reset. Modules reserve
 *         their fixed RAM blocks once (chip_ram_reserve) and may use the rest
 *         as an arena; nothing in RAM survives chip_power_on().
 *   OTP   one-time programmable bits: a write may set bits, never clear one.
 *
 * Persistence model. The chip keeps two copies of NVM+OTP: the working copy
 * that code reads and writes, and the last committed copy. chip_commit() makes
 * the working copy durable: the pager (pager.h) appends the pages written
 * since the last commit to a log inside the image file and syncs it, so a
 * commit costs the pages it wrote plus one fdatasync, whatever the size of
 * ROM and NVM, and a host process killed (or a host crashed) at any instant
 * leaves the previous or the new state on disk, never a mix. The committed
 * copy in memory changes only once the file has it: a failed commit
 * (CHIP_ERR_IO, message in chip_error()) leaves the chip and the file in the
 * previous state, and chip_rollback() brings the working copy back to it. The
 * card object commits once per APDU, so everything one command writes is
 * atomic. chip_power_on() discards uncommitted work, which is exactly what a
 * power cut does to a command that had not finished.
 *
 * Commit now. A check against a secret with a try limit must make its
 * decremented counter durable *before* it compares: chip_commit_now(off, len)
 * commits just those NVM bytes at once (the rest of the command's writes stay
 * uncommitted), so no kill, power cut or crash can undo a try that was
 * compared.
 *
 * Writers and readers. A writer holds the image's lock from chip_acquire()
 * (the card calls it at power-on) until chip_release() (power-off) or
 * chip_close(); a second writer waits (chip_set_lock_wait, default
 * CHIP_LOCK_WAIT_MS or $CARDVM_LOCK_WAIT_MS) and then fails with
 * CHIP_ERR_BUSY, "card image in use by pid N". When the lock is taken the chip
 * reloads the file if another writer changed it since it was read, so no
 * update is lost. A chip that commits without chip_acquire takes the lock at
 * that commit and refuses (CHIP_ERR_BUSY) if the file changed since it was
 * read. A chip opened CHIP_OPEN_READ_ONLY takes no lock and sees the last
 * committed state; it refuses to commit.
 *
 * Durability. CHIP_DURABLE_FULL (default): every commit is synced before it
 * returns. CHIP_DURABLE_LAB: commits stay in memory and the card is saved to
 * its file (one log record, not synced) by chip_save(), chip_power_off() and
 * chip_close(); for simulations and campaigns on throw-away cards. A killed
 * process loses everything since the last save; a crashed host may lose
 * saves since the last checkpoint, which lab mode syncs like full mode: the
 * file always holds one whole saved state (docs/image-format.md).
 *
 * Opening many cards (campaigns). An open reads only what the image holds:
 * the body up to the extents its header records, the page table and the log
 * as far as its records go. CHIP_OPEN_LOCK takes the writer lock at open;
 * chip_open_pooled reuses the wiped buffers of chips closed before (a
 * chip_pool per thread), so that an open neither allocates nor zeroes them.
 *
 * Tear injection (tests only). chip_set_tear(chip, n) arms a power cut after
 * the n-th NVM/OTP page write from now. When it fires the chip goes "dead":
 * every later read or write fails with CHIP_ERR_POWER and chip_commit() refuses,
 * until chip_power_on(), which rolls back to the last committed state. Code
 * above this layer therefore must check every write's result and unwind.
 *
 * NVM heap. NVM beyond the fixed system area is managed as a heap of blocks,
 * each tagged with a kind and an id so that modules can find their data again
 * after the card is reopened (chip_nvm_find). The heap's metadata lives in NVM
 * itself and so commits and rolls back with everything else.
 *
 * All functions are reentrant: a chip holds all of its state, so many chips
 * can live in one process.
 */
#ifndef CARDVM_CHIP_H
#define CARDVM_CHIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. 0 is success; errors are negative. */
enum chip_status {
    CHIP_OK = 0,
    CHIP_ERR_RANGE = -1,     /* offset/length outside the region */
    CHIP_ERR_ROM = -2,       /* ROM write after masking */
    CHIP_ERR_OTP = -3,       /* OTP write would clear a burnt bit */
    CHIP_ERR_POWER = -4,     /* power was cut (tear injection) */
    CHIP_ERR_FULL = -5,      /* no space left in the region */
    CHIP_ERR_IO = -6,        /* image file could not be read or written */
    CHIP_ERR_FORMAT = -7,    /* not a card image, truncated, bad checksum */
    CHIP_ERR_VERSION = -8,   /* card image of another format version */
    CHIP_ERR_ARG = -9,       /* bad argument (sizes, pointers) */
    CHIP_ERR_NOMEM = -10,    /* host allocation failed */
    CHIP_ERR_BUSY = -11,     /* image held by another writer (lock wait expired) */
};

/* Human-readable text of a chip_status. Never NULL. */
const char *chip_strerror(int status);

/* Sizes and identity chosen when the chip is made. */
typedef struct chip_geometry {
    uint32_t rom_size;       /* bytes */
    uint32_t nvm_size;       /* bytes, a multiple of nvm_page_size */
    uint32_t nvm_page_size;  /* bytes, power of two, 16..4096 */
    uint32_t ram_size;       /* bytes */
    uint32_t otp_size;       /* bytes */
} chip_geometry;

/* Defaults like a real secure element: ROM 256 KiB, NVM 128 KiB in 64-byte
 * pages, RAM 8 KiB, OTP 64 bytes. */
void chip_geometry_default(chip_geometry *g);

typedef struct chip chip;

/* Durability of chip_commit() (see top). */
enum chip_durability { CHIP_DURABLE_FULL = 0, CHIP_DURABLE_LAB = 1 };
/* Older names: CHIP_SYNC_OFF is lab mode. */
enum chip_sync { CHIP_SYNC_FULL = CHIP_DURABLE_FULL, CHIP_SYNC_OFF = CHIP_DURABLE_LAB };

/* Default bounded wait for the writer lock, in milliseconds. */
#define CHIP_LOCK_WAIT_MS 30000u

/* The system calls of the image file, replaceable for crash and I/O-error
 * tests (test/persist). Each returns like the system call it stands for. */
typedef struct chip_io {
    void *ctx;
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
    int (*sync)(void *ctx, int fd);                   /* fdatasync */
    int (*truncate)(void *ctx, int fd, off_t len);    /* ftruncate */
} chip_io;
const chip_io *chip_io_default(void);

/*
 * Make a new chip in masking state (ROM writable), all regions zero, bound to
 * the image file `path` (not written until chip_commit). Fails with
 * CHIP_ERR_ARG on unusable geometry. `path` may be NULL for a chip that only
 * lives in memory (tests, benchmarks); chip_commit then only moves the working
 * copy to the committed copy.
 */
int chip_create(const chip_geometry *g, const char *path, chip **out);

/*
 * Open an existing image. Validates magic, format version, sizes, length and
 * checksums before anything is used; a bad file is never rewritten. On error,
 * `err` (if not NULL) receives a one-line message naming the file and the
 * problem. The chip is powered off until chip_power_on().
 */
int chip_open(const char *path, chip **out, char *err, size_t errlen);
/* chip_open with flags: CHIP_OPEN_READ_ONLY for readers (no lock, no commit),
 * and an I/O table (NULL: the real system calls). */
#define CHIP_OPEN_READ_ONLY 1u
int chip_open_ex(const char *path, unsigned flags, const chip_io *io, chip **out, char *err,
                 size_t errlen);
/* CHIP_OPEN_LOCK: take the writer lock at open, as chip_acquire would (for a
 * chip about to be powered: what is read is current, no second look). */
#define CHIP_OPEN_LOCK 2u

/* Many cards one after another (a campaign worker): a pool keeps the buffers
 * of closed chips, wiped, for the next chip_open_pooled of the same
 * geometry, so that an open neither allocates nor zeroes them again. One
 * pool per thread; free it after its chips are closed. */
typedef struct chip_pool chip_pool;
int chip_pool_new(chip_pool **out);
void chip_pool_free(chip_pool *pool);
/* lock_wait_ms: the bounded wait of CHIP_OPEN_LOCK and later locks (0: the
 * default, as chip_set_lock_wait). */
int chip_open_pooled(const char *path, unsigned flags, unsigned lock_wait_ms, chip_pool *pool, chip **out,
                     char *err, size_t errlen);

/* Many cards from one template (a factory): chip_clone makes a chip that
 * lives in memory only, holding src's committed state (ROM, NVM, OTP, wear,
 * counters); chip_save_as then writes the committed state of such a chip as
 * the whole image file `path` (created 0600, or replaced in place), synced,
 * and binds the chip to it. A card made this way reaches its file once,
 * finished: no copy of the template is customized on disk, and nothing it
 * erased while being made (a decrypted or sealed customization software)
 * was ever in its file, so no scrub is due. CHIP_ERR_ARG when c already has
 * a file. */
int chip_clone(const chip *src, chip **out);
int chip_save_as(chip *c, const char *path);

/* Free the chip. Uncommitted work is lost (as if power were cut); in lab
 * mode committed work is saved first. Releases the writer lock. */
void chip_close(chip *c);

/* End masking: ROM becomes read-only for ever (persisted in the image). */
void chip_end_masking(chip *c);
int chip_is_masking(const chip *c);

const chip_geometry *chip_get_geometry(const chip *c);
const char *chip_path(const chip *c);
void chip_set_sync(chip *c, enum chip_sync mode);
void chip_set_durability(chip *c, enum chip_durability d);
enum chip_durability chip_get_durability(const chip *c);
void chip_set_lock_wait(chip *c, unsigned ms);
/* Replace the file's system calls (tests); takes effect at the next open. */
void chip_set_io(chip *c, const chip_io *io);
/* The last file error, one line naming the image path and the system error;
 * "" when none. */
const char *chip_error(const chip *c);

/* Power. chip_power_on() rolls NVM/OTP back to the last commit, clears RAM,
 * and disarms a fired tear (returns CHIP_OK). Called for cold and warm reset
 * alike. chip_power_off() rolls back and chip_release()s. */
int chip_power_on(chip *c);
void chip_power_off(chip *c);
/* Writer lock (see top). chip_acquire must be called with no uncommitted
 * work: it may reload the chip from the file. CHIP_ERR_BUSY after the wait;
 * chip_error() names the holder. chip_release saves a lab-mode chip first. */
int chip_acquire(chip *c);
void chip_release(chip *c);
int chip_is_powered(const chip *c);   /* 0 after a tear fired */

/* Make all NVM/OTP writes since the last commit durable (see top). Also
 * persists wear counters. A no-op (no file I/O) when nothing changed. */
int chip_commit(chip *c);
/* Commit the NVM bytes [off, off+len) now, and only them (see top). */
int chip_commit_now(chip *c, uint32_t off, size_t len);
/* Lab mode: write what was committed in memory to the file now (synced). A
 * no-op in full mode and when nothing is pending. */
int chip_save(chip *c);
/* Drop all writes since the last commit (the command failed). */
void chip_rollback(chip *c);
/* Nonzero when there are uncommitted NVM/OTP writes. */
int chip_is_dirty(const chip *c);
/* A number that changes whenever what the chip's code reads may have
 * changed: any ROM/NVM/OTP write, a rollback that undid writes, a reload
 * from the file. Equal values: the same contents (for caches built from
 * them, such as a freshly made VM). */
uint64_t chip_epoch(const chip *c);

/* ---- region access. Reads never count as writes. ---- */
int chip_rom_read(const chip *c, uint32_t off, void *buf, size_t len);
int chip_rom_write(chip *c, uint32_t off, const void *buf, size_t len);
/* Direct read-only view of ROM (for executing masked code in place). */
const uint8_t *chip_rom_view(const chip *c);

int chip_nvm_read(const chip *c, uint32_t off, void *buf, size_t len);
/* Writes count one page write per page touched; the tear hook counts them. */
int chip_nvm_write(chip *c, uint32_t off, const void *buf, size_t len);
int chip_nvm_fill(chip *c, uint32_t off, uint8_t value, size_t len);
/* Direct read-only view of the working NVM copy (fast reads for the VM).
 * Valid until chip_close. Writes must go through chip_nvm_write. */
const uint8_t *chip_nvm_view(const chip *c);

int chip_otp_read(const chip *c, uint32_t off, void *buf, size_t len);
/* Burns: new = old | value. Refused (CHIP_ERR_OTP, nothing written) if a byte
 * of `buf` lacks a bit already burnt, i.e. if the write would clear a bit. */
int chip_otp_write(chip *c, uint32_t off, const void *buf, size_t len);
/* Burn bit `bit` (0 = lsb of byte 0). Burning a burnt bit is a no-op. */
int chip_otp_burn_bit(chip *c, uint32_t bit);
int chip_otp_bit(const chip *c, uint32_t bit);   /* 1, 0, or <0 on error */

/* RAM. Reserve a fixed block once, after open/create (offsets are stable for
 * the life of the chip object); the block is zeroed at every power-on. */
int chip_ram_reserve(chip *c, uint32_t size, uint32_t *off);
uint8_t *chip_ram(chip *c);              /* whole RAM, size from geometry */
uint32_t chip_ram_reserved(const chip *c); /* bytes reserved so far */

/* ---- NVM heap ----
 * The first CHIP_NVM_SYSTEM_SIZE bytes of NVM are a fixed system area that the
 * LOADER lays out (mode, counters, serial...). The heap starts after it.
 * Block payloads are addressed by their NVM offset (stable until freed). */
#define CHIP_NVM_SYSTEM_SIZE 256u

/* Allocate `size` payload bytes tagged (kind, id). Returns the payload offset.
 * CHIP_ERR_FULL when no free block is large enough. The payload is zeroed. */
int chip_nvm_alloc(chip *c, uint16_t kind, uint16_t id, uint32_t size, uint32_t *off);
/* Free the block whose payload starts at `off`; the payload is overwritten
 * with zeros first so that freed secrets do not stay in the image. */
int chip_nvm_free(chip *c, uint32_t off);
/* Find the n-th (0-based) block of `kind` (and `id` unless id == 0xFFFF).
 * Returns CHIP_OK and fills off/size, or CHIP_ERR_RANGE when there is none. */
int chip_nvm_find(const chip *c, uint16_t kind, uint16_t id, unsigned n,
                  uint32_t *off, uint32_t *size);
/* Iterate over all used blocks: start with *cursor = 0; returns CHIP_OK per
 * block, CHIP_ERR_RANGE at the end. */
int chip_nvm_next(const chip *c, uint32_t *cursor, uint16_t *kind, uint16_t *id,
                  uint32_t *off, uint32_t *size);

/* ---- statistics ---- */
typedef struct chip_stats {
    uint64_t nvm_page_writes;      /* lifetime, all pages */
    uint32_t nvm_max_page_writes;  /* most-written page (wear) */
    uint64_t otp_writes;           /* lifetime OTP write operations */
    uint32_t nvm_heap_free;        /* bytes free in the NVM heap */
    uint32_t nvm_heap_largest;     /* largest allocatable block */
    uint32_t nvm_heap_used;        /* payload bytes in use */
    uint32_t ram_free;             /* RAM not reserved */
    uint32_t otp_bits_burnt;
    uint64_t commits;              /* lifetime commits of this image */
} chip_stats;
void chip_get_stats(const chip *c, chip_stats *s);

/* ---- tear injection (tests) ----
 * Arm a power cut after the n-th page write (n >= 1) from now; n = 0 disarms.
 * chip_page_writes_since_arm() counts writes since the last arm/power-on, so a
 * scenario can be run once unarmed to learn how many writes it makes. */
void chip_set_tear(chip *c, uint32_t n);
uint32_t chip_page_writes_since_arm(const chip *c);
int chip_tear_fired(const chip *c);

#ifdef __cplusplus
}
#endif
#endif
