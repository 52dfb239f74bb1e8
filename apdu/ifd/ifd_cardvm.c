/*
 * ifd_cardvm.c — the cardvm virtual reader: a pcsc-lite IFD handler (API
 * v3) whose "card" is a card image file, driven through apdu/card.h.
 *
 * pcscd loads this library once per process and calls it for every reader
 * declared with it in reader.conf:
 *
 *   FRIENDLYNAME "cardvm card1.img"
 *   DEVICENAME   cardvm:/abs/path/card1.img   <- the card image
 *   LIBPATH      /path/libifd-cardvm.so
 *
 * (A plain path works too, but pcscd skips an entry whose DEVICENAME does not
 * exist when it starts, unless the name has a colon; with the "cardvm:"
 * prefix the reader is there from the start and the card appears with the
 * file.) One reader = one image = one card, in one slot. Several readers (up to
 * IFD_CARDVM_MAX_READERS, pcsc-lite's own limit) live in one pcscd.
 *
 * Presence. The card is "inserted" while its image file exists and opens
 * cleanly. Every presence poll (pcscd polls IFDHICCPresence about every
 * 400 ms) stats the file, so an image created after pcscd started appears,
 * a deleted one disappears, and a corrupt one is reported as no card — the
 * driver never crashes pcscd over a bad file. A file that cannot be opened
 * is parsed again only when it changes (size, mtime, inode), so a corrupt
 * image costs one stat per poll and one log line.
 *
 * APDU log. With CARDVM_IFD_DEBUG=1 in pcscd's environment (`cardvm pcscd
 * --debug` sets it) the driver logs every command and response. Commands
 * go through apdu_log_hex: the data of one that carries secrets in clear
 * (UNLOCK, PUT KEY outside a secure channel) is replaced by a note saying
 * it was hidden. pcscd's own APDU log (--apdu) cannot mask anything; use
 * this one instead.
 *
 * Another writer. Card state is committed to the image per APDU (card.h),
 * so other processes (`cardvm info IMAGE`) see it at once. The reverse
 * direction needs care: if another process rewrites the image while this
 * driver holds it open, the in-memory card is stale and its next commit
 * would silently undo the other writer's work. The driver therefore records
 * the file's identity after each of its own commits and checks it before
 * each APDU and at each poll; a changed file is treated as a card swap: the
 * stale card is dropped without committing, the next poll reports "no card"
 * once (so PC/SC clients see a removal and re-connect) and then the new
 * image is inserted.
 */
#define _GNU_SOURCE /* PATH_MAX via limits.h, st_mtim */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ifdhandler.h>
#include <reader.h>

#include "apdu_redact.h"
#include "cap_fault.h"
#include "card.h"

/* pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS: pcscd never has more. */
#define IFD_CARDVM_MAX_READERS 16

/* Vendor strings and version (SCARD_ATTR_VENDOR_IFD_VERSION is 0xMMmmbbbb). */
#define IFD_CARDVM_VENDOR "cardvm"
#define IFD_CARDVM_IFD_TYPE "cardvm virtual reader"
#define IFD_CARDVM_VERSION 0x00010000u

/* Optional DEVICENAME prefix (see IFDHCreateChannelByName). */
#define IFD_CARDVM_DEVICE_PREFIX "cardvm:"

/* Exported entry points; everything else in the library is hidden. */
#define IFD_EXPORT __attribute__((visibility("default")))

/* PC/SC part 10 TLV properties: the control code (the same class-2 number
 * the CCID driver uses) and the largest command data field the card takes
 * (extended length: Lc up to 65535; Le up to 65536). */
#define IOCTL_GET_TLV_PROPERTIES SCARD_CTL_CODE(0x330000 + FEATURE_GET_TLV_PROPERTIES)
#define CARDVM_MAX_APDU_DATA 65535u

/* What identifies one version of the image file: every commit writes a new
 * file and renames it over the old one, so the inode changes; inode numbers
 * are reused, so size and both timestamps (nanoseconds) are compared too. */
typedef struct image_identity {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
} image_identity;

/* One reader slot of the driver: the card image behind one pcscd Lun. */
typedef struct virtual_reader {
    int in_use;
    DWORD reader_key;              /* Lun >> 16: pcscd's reader number */
    pthread_mutex_t lock;          /* pcscd may call different readers from different threads */
    char image_path[PATH_MAX];

    card *card;                    /* NULL: no card (image missing or unusable) */
    image_identity card_file;      /* the file as of our last open or commit */
    image_identity failed_file;    /* the file that last failed to open */
    int swap_pending;              /* image changed under us: owe pcscd one "no card" */

    int powered;
    uint8_t atr[CARD_ATR_MAX];
    size_t atr_len;

    int last_reported_present;     /* -1 unknown; for logging state changes only */
} virtual_reader;

/*
 * The driver's only process-wide state. The IFD handler API identifies a
 * reader by nothing but the integer Lun pcscd passes in every call — there is
 * no context pointer to hang per-reader state on — so the driver keeps a
 * table indexed by Lun. The readers are statically allocated, so a pointer
 * to one stays valid while another reader is being created or closed; the
 * table lock only guards finding and claiming slots.
 */
static struct {
    pthread_mutex_t lock;
    virtual_reader readers[IFD_CARDVM_MAX_READERS];
    int initialised;
    /* names and lines for the fault log: CARDVM_IFD_DEBUG_CAPS, read once */
    cap_debug debug;
    int debug_loaded;
} driver = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- logging (stderr: pcscd's terminal in the foreground, the journal as a service) ---- */

static void reader_log(const virtual_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reader_log(const virtual_reader *r, const char *fmt, ...)
{
    char msg[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ifd-cardvm: %s: %s\n", r->image_path, msg);
    fflush(stderr);
}

static int apdu_debug_enabled(void)
{
    const char *v = getenv("CARDVM_IFD_DEBUG");
    return v && *v && strcmp(v, "0") != 0;
}

static void log_apdu(const virtual_reader *r, const uint8_t *cmd, size_t len, const uint8_t *rsp, size_t rsp_len)
{
    static const char hexdig[] = "0123456789ABCDEF";
    char *line = malloc(2 * (len > rsp_len ? len : rsp_len) + 128);
    if (!line) return;
    apdu_log_hex(cmd, len, 0, line, 2 * len + 128);
    reader_log(r, "=> %s", line);
    if (rsp) {
        for (size_t i = 0; i < rsp_len; i++) {
            line[2 * i] = hexdig[rsp[i] >> 4];
            line[2 * i + 1] = hexdig[rsp[i] & 15];
        }
        line[2 * rsp_len] = 0;
        reader_log(r, "<= %s", line);
    } else {
        reader_log(r, "<= (card mute)");
    }
    free(line);
}

/* Failed applet calls (uncaught exception, budget overrun, failed
 * install: vm.h, vm_fault) are explained on the log with the APDU log, or
 * alone with CARDVM_IFD_TRACE=1 (`cardvm --trace pcscd`). Names and source
 * lines come from the Debug components of the CAP files listed, ':'
 * separated, in CARDVM_IFD_DEBUG_CAPS (`cardvm --debug-cap`). */
static int fault_log_enabled(void)
{
    const char *v = getenv("CARDVM_IFD_TRACE");
    return apdu_debug_enabled() || (v && *v && strcmp(v, "0") != 0);
}

static const cap_debug *driver_debug(void)
{
    pthread_mutex_lock(&driver.lock);
    if (!driver.debug_loaded) {
        driver.debug_loaded = 1;
        const char *list = getenv("CARDVM_IFD_DEBUG_CAPS");
        char path[PATH_MAX];
        while (list && *list) {
            const char *end = strchr(list, ':');
            size_t n = end ? (size_t)(end - list) : strlen(list);
            if (n > 0 && n < sizeof path) {
                memcpy(path, list, n);
                path[n] = 0;
                if (cap_debug_add_file(&driver.debug, path) != 0)
                    fprintf(stderr, "ifd-cardvm: %s: no names or source lines from this CAP file\n", path);
            }
            list = end ? end + 1 : NULL;
        }
    }
    pthread_mutex_unlock(&driver.lock);
    return &driver.debug;
}

static void log_fault(const virtual_reader *r)
{
    struct vm_runtime *rt = r->card ? card_vm(r->card) : NULL;
    vm_fault f;
    if (!rt || !vm_take_fault(rt, &f))
        return;
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "ifd-cardvm: %s: card: ", r->image_path);
    cap_fault_print(stderr, prefix, &f, driver_debug());
    fflush(stderr);
}

/* ---- the Lun table ---- */

static DWORD reader_key_of(DWORD lun) { return lun >> 16; }

static void driver_init_locked(void)
{
    if (driver.initialised) return;
    for (int i = 0; i < IFD_CARDVM_MAX_READERS; i++)
        pthread_mutex_init(&driver.readers[i].lock, NULL);
    driver.initialised = 1;
}

static virtual_reader *reader_find(DWORD lun)
{
    virtual_reader *found = NULL;
    pthread_mutex_lock(&driver.lock);
    driver_init_locked();
    for (int i = 0; i < IFD_CARDVM_MAX_READERS; i++) {
        if (driver.readers[i].in_use && driver.readers[i].reader_key == reader_key_of(lun)) {
            found = &driver.readers[i];
            break;
        }
    }
    pthread_mutex_unlock(&driver.lock);
    return found;
}

/* Look up and lock the reader of `lun`; NULL if pcscd never created it. */
static virtual_reader *reader_acquire(DWORD lun)
{
    virtual_reader *r = reader_find(lun);
    if (!r) return NULL;
    pthread_mutex_lock(&r->lock);
    if (!r->in_use) { /* closed while we waited */
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    return r;
}

static void reader_release(virtual_reader *r) { pthread_mutex_unlock(&r->lock); }

/* ---- the image file ---- */

static image_identity identity_of(const char *path)
{
    image_identity id;
    memset(&id, 0, sizeof id);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return id;
    id.exists = 1;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.ctime = st.st_ctim;
    return id;
}

static int identity_equal(const image_identity *a, const image_identity *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Drop the card object. Nothing is committed here: card.h commits after
 * every APDU, so what is lost is only what a power cut would lose. */
static void reader_eject(virtual_reader *r)
{
    if (r->card) card_close(r->card);
    r->card = NULL;
    r->powered = 0;
    r->atr_len = 0;
}

/* Try to insert the card: open the image if it exists and changed since the
 * last failed attempt. Returns 1 when a card is in the reader afterwards. */
static int reader_try_insert(virtual_reader *r, const image_identity *now)
{
    if (!now->exists) return 0;
    if (r->failed_file.exists && identity_equal(&r->failed_file, now)) return 0;
    char err[512] = "";
    card *c = NULL;
    if (card_open(r->image_path, &c, err, sizeof err) != 0) {
        r->failed_file = *now;
        reader_log(r, "no card: %s", err[0] ? err : "cannot open the image");
        return 0;
    }
    memset(&r->failed_file, 0, sizeof r->failed_file);
    /* `cardvm pcscd --lab`: the card lives in memory while powered and is
     * saved at power-off (docs/image-format.md, durability levels). */
    const char *dur = getenv("CARDVM_DURABILITY");
    if (dur && strcmp(dur, "lab") == 0) chip_set_durability(card_chip(c), CHIP_DURABLE_LAB);
    r->card = c;
    /* The identity we opened: stat again after open, since the file may have
     * been replaced between the caller's stat and card_open. If it was, the
     * next check sees a difference and reloads, which is the safe direction. */
    r->card_file = *now;
    r->powered = 0;
    r->atr_len = 0;
    return 1;
}

/*
 * Bring the reader's view in line with the file. `report_swap`: when the
 * image changed under an inserted card, report it absent for this call (a
 * presence poll, so pcscd signals a removal) instead of reloading at once.
 * Returns 1 when a card is present afterwards.
 */
static int reader_refresh(virtual_reader *r, int report_swap)
{
    image_identity now = identity_of(r->image_path);
    if (r->card) {
        if (identity_equal(&r->card_file, &now)) return 1;
        reader_eject(r);
        if (!now.exists) {
            reader_log(r, "card removed: the image file is gone");
            return 0;
        }
        reader_log(r, "the image was changed by another process: card swapped");
        r->swap_pending = 1;
    }
    /* A swap seen outside a presence poll (during an APDU) is still owed to
     * pcscd as one "no card" answer, or it would never notice the removal. */
    if (r->swap_pending && report_swap) {
        r->swap_pending = 0;
        return 0;
    }
    r->swap_pending = 0;
    return reader_try_insert(r, &now);
}

/* After our own APDU or power-up: remember the file we just committed. */
static void reader_note_own_commit(virtual_reader *r)
{
    r->card_file = identity_of(r->image_path);
}

/* ---- IFD handler API ---- */

IFD_EXPORT RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
    if (!DeviceName) return IFD_COMMUNICATION_ERROR;
    /* "cardvm:/path": pcscd drops a reader.conf entry whose DEVICENAME does
     * not exist yet, unless the name contains a colon. The prefix keeps the
     * reader (with no card) until the image is created. */
    const char *image_path = DeviceName;
    if (strncmp(image_path, IFD_CARDVM_DEVICE_PREFIX, strlen(IFD_CARDVM_DEVICE_PREFIX)) == 0)
        image_path += strlen(IFD_CARDVM_DEVICE_PREFIX);
    if (!image_path[0] || strlen(image_path) >= PATH_MAX) return IFD_COMMUNICATION_ERROR;

    pthread_mutex_lock(&driver.lock);
    driver_init_locked();
    virtual_reader *r = NULL;
    for (int i = 0; i < IFD_CARDVM_MAX_READERS; i++) {
        virtual_reader *cand = &driver.readers[i];
        if (cand->in_use && cand->reader_key == reader_key_of(Lun)) {
            pthread_mutex_unlock(&driver.lock);
            return IFD_COMMUNICATION_ERROR; /* pcscd reuses a Lun only after closing it */
        }
        if (!cand->in_use && !r) r = cand;
    }
    if (!r) {
        pthread_mutex_unlock(&driver.lock);
        fprintf(stderr, "ifd-cardvm: %s: more than %d readers\n", image_path, IFD_CARDVM_MAX_READERS);
        return IFD_COMMUNICATION_ERROR;
    }
    pthread_mutex_lock(&r->lock);
    r->in_use = 1;
    r->reader_key = reader_key_of(Lun);
    /* The path is used as given: reader.conf should name it absolutely
     * (pcscd's working directory is "/"). */
    snprintf(r->image_path, sizeof r->image_path, "%s", image_path);
    r->card = NULL;
    memset(&r->card_file, 0, sizeof r->card_file);
    memset(&r->failed_file, 0, sizeof r->failed_file);
    r->swap_pending = 0;
    r->powered = 0;
    r->atr_len = 0;
    r->last_reported_present = -1;
    pthread_mutex_unlock(&driver.lock);

    /* A missing or bad image is not an error of the reader: it is an empty
     * reader, and the card appears when the file does. */
    reader_refresh(r, 0);
    pthread_mutex_unlock(&r->lock);
    return IFD_SUCCESS;
}

IFD_EXPORT RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
    /* Without DEVICENAME there is no image to serve. Accept a numeric
     * channel only through the CARDVM_IMAGE environment variable, which is
     * mostly useful for tests of the bare API. */
    (void)Channel;
    const char *image = getenv("CARDVM_IMAGE");
    if (!image || !image[0]) {
        fprintf(stderr, "ifd-cardvm: no DEVICENAME (card image path) in reader.conf\n");
        return IFD_COMMUNICATION_ERROR;
    }
    return IFDHCreateChannelByName(Lun, (LPSTR)image);
}

IFD_EXPORT RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
    virtual_reader *r = reader_acquire(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    reader_eject(r);
    pthread_mutex_lock(&driver.lock);
    r->in_use = 0;
    pthread_mutex_unlock(&driver.lock);
    reader_release(r);
    return IFD_SUCCESS;
}

/* Copy a value into pcscd's buffer (*Length in: capacity, out: size). */
static RESPONSECODE put_value(PDWORD Length, PUCHAR Value, const void *src, size_t n)
{
    if (!Length || !Value) return IFD_COMMUNICATION_ERROR;
    if (*Length < n) {
        *Length = (DWORD)n;
        return IFD_ERROR_INSUFFICIENT_BUFFER;
    }
    memcpy(Value, src, n);
    *Length = (DWORD)n;
    return IFD_SUCCESS;
}

static RESPONSECODE put_byte(PDWORD Length, PUCHAR Value, uint8_t b) { return put_value(Length, Value, &b, 1); }

static RESPONSECODE put_dword(PDWORD Length, PUCHAR Value, uint32_t v)
{
    /* PC/SC attributes are little-endian DWORDs on the wire (4 bytes). */
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put_value(Length, Value, le, sizeof le);
}

IFD_EXPORT RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
    /* Driver-wide tags pcscd asks before (or without) a reader. */
    switch (Tag) {
    case TAG_IFD_SIMULTANEOUS_ACCESS:
        return put_byte(Length, Value, IFD_CARDVM_MAX_READERS);
    case TAG_IFD_THREAD_SAFE:
        /* Each reader has its own lock and card: pcscd may drive different
         * readers in parallel. */
        return put_byte(Length, Value, 1);
    case TAG_IFD_SLOTS_NUMBER:
        return put_byte(Length, Value, 1);
    case TAG_IFD_SLOT_THREAD_SAFE:
        return put_byte(Length, Value, 0);
    case SCARD_ATTR_VENDOR_NAME:
        return put_value(Length, Value, IFD_CARDVM_VENDOR, sizeof IFD_CARDVM_VENDOR);
    case SCARD_ATTR_VENDOR_IFD_TYPE:
        return put_value(Length, Value, IFD_CARDVM_IFD_TYPE, sizeof IFD_CARDVM_IFD_TYPE);
    case SCARD_ATTR_VENDOR_IFD_VERSION:
        return put_dword(Length, Value, IFD_CARDVM_VERSION);
    case SCARD_ATTR_MAXINPUT:
        return put_dword(Length, Value, MAX_BUFFER_SIZE_EXTENDED);
    default:
        break;
    }

    virtual_reader *r = reader_acquire(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    RESPONSECODE rc;
    switch (Tag) {
    case TAG_IFD_ATR:
    case SCARD_ATTR_ATR_STRING:
        rc = put_value(Length, Value, r->atr, r->powered ? r->atr_len : 0);
        break;
    case SCARD_ATTR_ICC_PRESENCE:
        /* 0 not present, 1 present but not swallowed, 2 present and swallowed */
        rc = put_byte(Length, Value, r->card ? 2 : 0);
        break;
    case SCARD_ATTR_ICC_INTERFACE_STATUS:
        rc = put_byte(Length, Value, r->powered ? 1 : 0);
        break;
    case SCARD_ATTR_VENDOR_IFD_SERIAL_NO: {
        /* The image file name tells readers apart. */
        const char *base = strrchr(r->image_path, '/');
        base = base ? base + 1 : r->image_path;
        rc = put_value(Length, Value, base, strlen(base) + 1);
        break;
    }
    default:
        /* Includes TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: we have no event
         * thread, so pcscd polls IFDHICCPresence. */
        rc = IFD_ERROR_TAG;
        break;
    }
    reader_release(r);
    return rc;
}

IFD_EXPORT RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
    (void)Tag;
    (void)Length;
    (void)Value;
    if (!reader_find(Lun)) return IFD_NO_SUCH_DEVICE;
    /* Nothing of a virtual reader is settable. */
    return IFD_ERROR_TAG;
}

IFD_EXPORT RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                                  UCHAR PTS2, UCHAR PTS3)
{
    (void)Flags;
    (void)PTS1;
    (void)PTS2;
    (void)PTS3;
    if (!reader_find(Lun)) return IFD_NO_SUCH_DEVICE;
    /* The card's ATR offers T=1 only. There is no wire, so "negotiating"
     * only means agreeing; T=0 is refused like a real T=1-only card would. */
    if (Protocol == SCARD_PROTOCOL_T1) return IFD_SUCCESS;
    return IFD_PROTOCOL_NOT_SUPPORTED;
}

IFD_EXPORT RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
    virtual_reader *r = reader_acquire(Lun);
    if (!r) {
        if (AtrLength) *AtrLength = 0;
        return IFD_NO_SUCH_DEVICE;
    }
    RESPONSECODE rc = IFD_SUCCESS;
    switch (Action) {
    case IFD_POWER_DOWN:
        if (r->card) card_power_off(r->card);
        r->powered = 0;
        r->atr_len = 0;
        if (AtrLength) *AtrLength = 0;
        break;
    case IFD_POWER_UP:
    case IFD_RESET: {
        /* Power up reloads the image if someone else changed it. */
        if (!reader_refresh(r, 0)) {
            rc = IFD_ERROR_POWER_ACTION;
            if (AtrLength) *AtrLength = 0;
            break;
        }
        enum card_reset kind = (Action == IFD_RESET && r->powered) ? CARD_WARM : CARD_COLD;
        size_t atr_len = 0;
        if (card_power(r->card, kind, r->atr, &atr_len) != 0 || atr_len == 0 || atr_len > MAX_ATR_SIZE) {
            r->powered = 0;
            r->atr_len = 0;
            rc = IFD_ERROR_POWER_ACTION;
            if (AtrLength) *AtrLength = 0;
            break;
        }
        r->powered = 1;
        r->atr_len = atr_len;
        reader_note_own_commit(r);
        if (Atr && AtrLength) {
            memcpy(Atr, r->atr, atr_len);
            *AtrLength = (DWORD)atr_len;
        }
        break;
    }
    default:
        rc = IFD_NOT_SUPPORTED;
        break;
    }
    reader_release(r);
    return rc;
}

IFD_EXPORT RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
                                          PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
    if (!RxLength) return IFD_COMMUNICATION_ERROR;
    DWORD cap = *RxLength;
    *RxLength = 0;
    if (!TxBuffer || !RxBuffer || cap < 2) return IFD_COMMUNICATION_ERROR;
    if (SendPci.Protocol != 1 /* T=1 */) return IFD_PROTOCOL_NOT_SUPPORTED;

    virtual_reader *r = reader_acquire(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    RESPONSECODE rc;
    image_identity now = identity_of(r->image_path);
    if (!r->card || !r->powered) {
        rc = r->card ? IFD_COMMUNICATION_ERROR : IFD_ICC_NOT_PRESENT;
    } else if (!identity_equal(&r->card_file, &now)) {
        /* Someone else wrote the image: our card is stale, and answering
         * from it (or committing it) would lose their update. */
        reader_eject(r);
        reader_log(r, "the image was changed by another process: card swapped");
        r->swap_pending = 1;
        rc = IFD_ICC_NOT_PRESENT;
    } else {
        size_t rsp_len = 0;
        int status = card_transmit(r->card, TxBuffer, TxLength, RxBuffer, cap, &rsp_len);
        reader_note_own_commit(r);
        if (apdu_debug_enabled()) log_apdu(r, TxBuffer, TxLength, status == 0 ? RxBuffer : NULL, rsp_len);
        if (fault_log_enabled()) log_fault(r);
        if (status != 0 || rsp_len < 2 || rsp_len > cap) {
            rc = IFD_COMMUNICATION_ERROR; /* the card is mute */
        } else {
            *RxLength = (DWORD)rsp_len;
            if (RecvPci) {
                RecvPci->Protocol = 1;
                RecvPci->Length = sizeof *RecvPci;
            }
            rc = IFD_SUCCESS;
        }
    }
    reader_release(r);
    return rc;
}

IFD_EXPORT RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                                    PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
    (void)TxBuffer;
    (void)TxLength;
    if (pdwBytesReturned) *pdwBytesReturned = 0;
    if (!reader_find(Lun)) return IFD_NO_SUCH_DEVICE;
    /* PC/SC part 10: clients (OpenSC among them) ask which reader features
     * exist — PIN pad, display... A virtual reader has one: its TLV
     * properties, which say that it carries extended APDUs
     * (dwMaxAPDUDataSize), so hosts send long commands unsplit. */
    if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
        if (!RxBuffer || RxLength < 6) return IFD_ERROR_INSUFFICIENT_BUFFER;
        uint32_t code = IOCTL_GET_TLV_PROPERTIES;   /* big endian, as part 10 wants */
        RxBuffer[0] = FEATURE_GET_TLV_PROPERTIES;
        RxBuffer[1] = 4;
        RxBuffer[2] = (UCHAR)(code >> 24);
        RxBuffer[3] = (UCHAR)(code >> 16);
        RxBuffer[4] = (UCHAR)(code >> 8);
        RxBuffer[5] = (UCHAR)code;
        if (pdwBytesReturned) *pdwBytesReturned = 6;
        return IFD_SUCCESS;
    }
    if (dwControlCode == IOCTL_GET_TLV_PROPERTIES) {
        /* property tag, length, value little endian */
        if (!RxBuffer || RxLength < 6) return IFD_ERROR_INSUFFICIENT_BUFFER;
        uint32_t max = CARDVM_MAX_APDU_DATA;
        RxBuffer[0] = PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize;
        RxBuffer[1] = 4;
        for (int i = 0; i < 4; i++) RxBuffer[2 + i] = (UCHAR)(max >> (8 * i));
        if (pdwBytesReturned) *pdwBytesReturned = 6;
        return IFD_SUCCESS;
    }
    return IFD_ERROR_NOT_SUPPORTED;
}

IFD_EXPORT RESPONSECODE IFDHICCPresence(DWORD Lun)
{
    virtual_reader *r = reader_acquire(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    int present = reader_refresh(r, 1);
    if (present != r->last_reported_present) {
        if (present) reader_log(r, "card inserted");
        r->last_reported_present = present;
    }
    reader_release(r);
    return present ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
}
