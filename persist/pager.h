/*
 * pager.h — the card image file of one chip: layout, in-place commits
 * through a log inside the file, crash recovery, and the writer lock.
 * The byte-by-byte format is docs/image-format.md; keep the two in step.
 *
 * Who owns what. chip.c owns the chip's memory (working and committed
 * copies, dirty pages, tears) and decides *what* a commit contains; the pager
 * owns the file and decides *how* it becomes durable. The pager never looks
 * at NVM contents and chip.c never does file I/O.
 *
 * The file (version 2): a 512-byte header area with two header slots, then
 * ROM, NVM, OTP and a page table (wear and CRC-32 of every NVM page) in
 * place, then a log region. A commit appends one record (the new images of
 * the pages it wrote, their wear, OTP if it changed, the lifetime counters
 * and a CRC-32 chained from the previous record) to the log and syncs: one
 * write and one fdatasync, whatever the size of ROM and NVM. When the log is
 * full, a checkpoint copies the pages the log holds into place, syncs, and
 * starts a new log generation by writing the other header slot (new
 * generation, new random salt) and syncing again; records of the old
 * generation no longer match the salt. Opening reads the body, then replays
 * every valid record of the current generation in order, stopping at the
 * first one that does not check: a torn commit is rolled back, a whole one is
 * rolled forward. Before the header slot is written the log still covers
 * every page a torn checkpoint may have half-written, so a checkpoint is safe
 * at every instant too. Masking (ROM writes) and the first commit of a new
 * image write the whole file; that happens once, at the factory.
 *
 * Extents. The header slot records how much of ROM and of the NVM body may
 * be nonzero; the rest is blank and is not read (the ROM CRC is extended
 * over it arithmetically, blank pages are checked by their page-table
 * entries). A checkpoint records the new NVM extent and writes in place the
 * pages that enter it. Records written without a sync (lab mode) are synced
 * before a checkpoint changes the body they cover.
 *
 * Locking. Readers take no lock: they read header, body and log, then read
 * the header again and start over if a checkpoint intervened (the log is
 * only ever overwritten after a generation change), so they always see one
 * committed state. A writer holds flock(LOCK_EX) on the image from
 * pager_lock to pager_unlock/pager_close and records its pid in the header
 * area (informational, for the "in use by pid N" message). pager_lock waits
 * a bounded time, polling, then fails with CHIP_ERR_BUSY. After taking the
 * lock it tells the caller whether the file changed since it was read, so
 * that the chip reloads before it writes: no update is ever lost.
 *
 * All I/O goes through a chip_io table (chip.h) so that tests can fail or
 * "crash" any system call of the commit path.
 */
#ifndef CARDVM_PAGER_H
#define CARDVM_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"

typedef struct pager pager;

/* The committed state of a chip, as the pager reads and writes it. */
typedef struct pager_state {
    chip_geometry geo;
    uint32_t flags;
    uint64_t commits, nvm_page_writes, otp_writes;
    uint8_t *rom, *nvm, *otp;  /* committed copies */
    uint32_t *wear;            /* one per NVM page */
    /* pager_read: in, the rom/nvm buffers are all zero from these offsets on
     * (0 for fresh zeroed buffers, the size when nothing is known); out, the
     * same after the read, which writes only what the image holds up to the
     * body extents and the pages of its log. */
    uint32_t rom_clean_from, nvm_clean_from;
} pager_state;

/* One page of a commit record: its index and its new contents. */
typedef struct pager_page {
    uint32_t index;
    const uint8_t *data;       /* nvm_page_size bytes */
} pager_page;

/* Open an existing image and read its header: fills *geo. PAGER_READ_ONLY
 * opens without write access (pager_lock then refuses); PAGER_LOCK takes the
 * writer lock first (waiting at most wait_ms), so that what is read is
 * current and the first pager_read needs no second look at the header. */
#define PAGER_READ_ONLY 1u
#define PAGER_LOCK 2u
int pager_open(const char *path, unsigned mode, unsigned wait_ms, const chip_io *io, pager **out,
               chip_geometry *geo, char *err, size_t errlen);

/* Bind a new pager to `path` for an image that does not exist yet (or is to
 * be replaced): nothing is touched until pager_write_all. */
int pager_new(const char *path, const chip_io *io, pager **out);

/* Read the whole committed state into `st` (buffers sized from st->geo),
 * replaying the log. Consistent without the lock (see top). */
int pager_read(pager *pg, pager_state *st, char *err, size_t errlen);

/* Take the writer lock, waiting at most wait_ms. *changed is set when the
 * file holds another state than the one last read/written by this pager (the
 * caller must pager_read again). CHIP_ERR_BUSY: held by another writer. */
int pager_lock(pager *pg, unsigned wait_ms, int *changed);
void pager_unlock(pager *pg);
int pager_is_locked(const pager *pg);

/* Write the whole image (new image, or ROM changed while masking), synced
 * when `sync`. Creates the file (mode 0600) if needed; takes the lock. */
int pager_write_all(pager *pg, const pager_state *st, int sync);

/* One commit: the new contents of the pages it wrote, their wear (indexed by
 * page), the new OTP or NULL when unchanged, and the new flags/counters. */
typedef struct pager_record {
    const pager_page *pages;
    uint32_t npages;
    const uint32_t *wear;
    const uint8_t *otp;
    uint32_t flags;
    uint64_t nvm_page_writes, otp_writes;
} pager_record;

/*
 * Append one commit record to the log, synced when `sync` (one write, one
 * fdatasync). On failure the file keeps the previous state (the record is
 * invalidated) and CHIP_ERR_IO is returned with pager_error() set.
 */
int pager_commit(pager *pg, const pager_record *r, int sync);

/* Nonzero when the log is full enough for a checkpoint. */
int pager_checkpoint_due(const pager *pg);
/* Copy what the log holds into place and start a new log generation. `st`
 * is the committed state, equal to what the file holds. Failure is
 * harmless (the log still holds everything); the log just grows. `wipe`
 * then overwrites the whole log region with zeros, so that data erased from
 * NVM (freed heap blocks: keys, decrypted software) leaves no copy in the
 * file. */
int pager_checkpoint(pager *pg, const pager_state *st, int sync, int wipe);

/* The last error, "PATH: what: system error". Empty when none. */
const char *pager_error(const pager *pg);
/* Bytes in the log since the last checkpoint (benchmarks, tests). */
uint64_t pager_log_used(const pager *pg);
void pager_close(pager *pg);

#endif
