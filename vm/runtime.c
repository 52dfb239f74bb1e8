/*
 * runtime.c — a card's VM: memory (objects in NVM and RAM), packages,
 * applet instances, transactions, and the command entry points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tomcrypt.h>

#include "api_impl.h"
#include "cap_verify.h"
#include "vm_internal.h"

const char *vm_strerror(int status)
{
    switch (status) {
    case VM_OK: return "ok";
    case VM_ERR_ARG: return "bad argument";
    case VM_ERR_VERIFY: return "package refused by the verifier";
    case VM_ERR_FULL: return "memory full";
    case VM_ERR_EXISTS: return "AID already present";
    case VM_ERR_NOTFOUND: return "not found";
    case VM_ERR_STATE: return "not allowed in this state";
    case VM_ERR_POWER: return "power cut";
    case VM_ERR_CORRUPT: return "NVM content corrupt";
    case VM_ERR_NOMEM: return "out of host memory";
    case VM_ERR_DEPENDENCY: return "package dependency";
    default: return "unknown error";
    }
}

void vm_config_default(vm_config *cfg)
{
    cfg->budget = 10000000u;
    cfg->ram_size = 4096;
    cfg->commit_capacity = 1024;
    cfg->package_quota = 0;
    cfg->stack_slots = 1024;
    cfg->max_frames = 64;
    cfg->native = 1;
}

void vm_set_native(vm_runtime *rt, int on)
{
    rt->cfg.native = on ? 1 : 0;
}

static int chip_rc(int rc)
{
    if (rc == CHIP_OK)
        return VM_OK;
    if (rc == CHIP_ERR_POWER)
        return VM_ERR_POWER;
    if (rc == CHIP_ERR_FULL)
        return VM_ERR_FULL;
    return VM_ERR_CORRUPT;
}

int vm_set_reason(vm_runtime *rt, uint16_t cls, uint16_t reason)
{
    rt->exc_reason[cls - VM_SC_Object] = reason;
    return cls;
}

/* ---- RAM arena ---- */

static int ram_alloc(vm_runtime *rt, uint32_t bytes, uint32_t *off)
{
    uint32_t n = (bytes + VM_RAM_GRANULE - 1) / VM_RAM_GRANULE, run = 0;
    if (n == 0)
        n = 1;
    for (uint32_t g = 0; g < rt->ram_granules; g++) {
        run = rt->ram_map[g] ? 0 : run + 1;
        if (run == n) {
            uint32_t first = g + 1 - n;
            memset(rt->ram_map + first, 1, n);
            *off = VM_RAM_ARENA + first * VM_RAM_GRANULE;
            memset(vm_ram(rt) + *off, 0, n * VM_RAM_GRANULE);
            return 0;
        }
    }
    return -1;
}

static void ram_mark(vm_runtime *rt, uint32_t off, uint32_t bytes, uint8_t used)
{
    if (off < VM_RAM_ARENA || bytes == 0)
        return;
    uint32_t first = (off - VM_RAM_ARENA) / VM_RAM_GRANULE;
    uint32_t n = (bytes + VM_RAM_GRANULE - 1) / VM_RAM_GRANULE;
    for (uint32_t g = first; g < first + n && g < rt->ram_granules; g++)
        rt->ram_map[g] = used;
}

uint32_t vm_ram_free(vm_runtime *rt)
{
    uint32_t n = 0;
    for (uint32_t g = 0; g < rt->ram_granules; g++)
        n += !rt->ram_map[g];
    return n * VM_RAM_GRANULE;
}

/* ---- handle table ---- */

static int ensure_cap(vm_runtime *rt, uint32_t need)
{
    if (need <= rt->obj_cap)
        return 0;
    uint32_t cap = rt->obj_cap ? rt->obj_cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > 65536)
        cap = 65536;
    if (cap < need)
        return -1;
    vm_obj *n = realloc(rt->objs, cap * sizeof *n);
    if (!n)
        return -1;
    memset(n + rt->obj_cap, 0, (cap - rt->obj_cap) * sizeof *n);
    rt->objs = n;
    rt->obj_cap = cap;
    return 0;
}

static int find_free_handle(vm_runtime *rt, uint16_t *h)
{
    uint32_t start = rt->obj_hint < VM_H_FIRST_DYNAMIC ? VM_H_FIRST_DYNAMIC : rt->obj_hint;
    for (uint32_t pass = 0; pass < 2; pass++) {
        for (uint32_t i = pass ? VM_H_FIRST_DYNAMIC : start; i < 65536; i++) {
            if (i >= rt->obj_cap && ensure_cap(rt, i + 1) != 0)
                return -1;
            if (rt->objs[i].kind == VM_OBJ_FREE) {
                *h = (uint16_t)i;
                rt->obj_hint = i + 1;
                return 0;
            }
        }
    }
    return -1;
}

static void set_system_objects(vm_runtime *rt)
{
    vm_obj *o = &rt->objs[VM_H_APDU_BUFFER];
    memset(o, 0, sizeof *o);
    o->kind = VM_OBJ_BYTES;
    o->flags = VM_OF_GLOBAL | VM_OF_CLEAR_RESET;
    o->data = vm_ram(rt) + VM_RAM_APDU;
    o->length = VM_APDU_BUFFER_SIZE;
    o = &rt->objs[VM_H_INSTALL_ARRAY];
    memset(o, 0, sizeof *o);
    o->kind = VM_OBJ_BYTES;
    o->flags = VM_OF_GLOBAL | VM_OF_CLEAR_RESET;
    o->data = vm_ram(rt) + VM_RAM_INSTALL;
    o->length = 0;
    o = &rt->objs[VM_H_APDU];
    memset(o, 0, sizeof *o);
    o->kind = VM_OBJ_SYSTEM;
    o->flags = VM_OF_GLOBAL;
    o->cls = VM_SC_APDU;
    for (unsigned c = VM_SC_FIRST_THROWABLE; c <= VM_SC_LAST_THROWABLE; c++) {
        o = &rt->objs[VM_H_EXC_FIRST + (c - VM_SC_FIRST_THROWABLE)];
        memset(o, 0, sizeof *o);
        o->kind = VM_OBJ_SYSTEM;
        o->flags = VM_OF_GLOBAL;
        o->cls = (uint16_t)c;
    }
}

/* ---- undo log ---- */

enum { LOG_WRITE = 1, LOG_ALLOC = 2 };

static int log_reserve(vm_runtime *rt, uint32_t n)
{
    if (rt->log_len + n <= rt->log_cap)
        return 0;
    uint32_t cap = rt->log_cap ? rt->log_cap : 1024;
    while (cap < rt->log_len + n)
        cap *= 2;
    uint8_t *nl = realloc(rt->log, cap);
    if (!nl)
        return -1;
    rt->log = nl;
    rt->log_cap = cap;
    return 0;
}

static void log_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t log_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void free_object(vm_runtime *rt, uint16_t h, int zero_nvm);

/* Undo every logged change newer than `mark`, newest first. */
static int undo_to(vm_runtime *rt, uint32_t mark)
{
    while (rt->log_len > mark) {
        uint16_t reclen = vm_rd16(rt->log + rt->log_len - 2);
        uint8_t *r = rt->log + rt->log_len - reclen;
        if (r[0] == LOG_WRITE) {
            uint32_t off = log_get32(r + 1);
            uint16_t len = vm_rd16(r + 5);
            int rc = chip_rc(chip_nvm_write(rt->chip, off, r + 7, len));
            if (rc)
                return rc;
        } else if (r[0] == LOG_ALLOC) {
            free_object(rt, vm_rd16(r + 1), 1);
        }
        rt->log_len -= reclen;
    }
    return VM_OK;
}

int vm_nvm_store(vm_runtime *rt, uint32_t off, const void *src, uint32_t len, int logged)
{
    if (logged && (rt->tx_open || rt->guard)) {
        if (rt->tx_open && rt->cfg.commit_capacity && rt->tx_bytes + len > rt->cfg.commit_capacity)
            return vm_set_reason(rt, VM_SC_TransactionException, VM_TX_BUFFER_FULL);
        uint32_t reclen = 1 + 4 + 2 + len + 2;
        if (reclen > 0xFFFF || log_reserve(rt, reclen) != 0)
            return vm_set_reason(rt, VM_SC_TransactionException, VM_TX_BUFFER_FULL);
        uint8_t *r = rt->log + rt->log_len;
        r[0] = LOG_WRITE;
        log_put32(r + 1, off);
        vm_wr16(r + 5, (uint16_t)len);
        memcpy(r + 7, rt->nvm + off, len);
        vm_wr16(r + 7 + len, (uint16_t)reclen);
        rt->log_len += reclen;
        if (rt->tx_open)
            rt->tx_bytes += len;
    }
    if (!rt->nvm_hook)
        return chip_rc(chip_nvm_write(rt->chip, off, src, len));
    vm_nvm_writer w = rt->writer;
    w.tx_depth = rt->tx_open;
    w.guarded = rt->guard;
    w.logged = (uint8_t)(logged && rt->tx_open);
    w.nvm_off = off;
    w.len = len;
    rt->nvm_hook(rt->nvm_hook_ctx, &w, 0);
    int rc = chip_rc(chip_nvm_write(rt->chip, off, src, len));
    if (rc == VM_OK)
        rt->nvm_hook(rt->nvm_hook_ctx, &w, 1);
    return rc;
}

void vm_set_nvm_hook(vm_runtime *rt, vm_nvm_hook hook, void *ctx)
{
    rt->nvm_hook = hook;
    rt->nvm_hook_ctx = ctx;
    rt->writer.pkg = -1;
}

uint16_t vm_sensitive_crc(const vm_obj *o)
{
    /* CRC-16/XMODEM (poly 1021, init 0): all-zero elements give 0, so a
     * fresh array and a cleared transient one carry a valid value */
    uint32_t n = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u);
    uint16_t crc = 0;
    for (uint32_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(o->data[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

/* After a write to a sensitive array: its check value, written like the
 * data (same log, same transaction), so an abort or a torn command rolls
 * both back together. */
static int sensitive_reseal(vm_runtime *rt, vm_obj *o, int logged)
{
    uint32_t at = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u);
    uint8_t v[2];
    vm_wr16(v, vm_sensitive_crc(o));
    if (o->flags & VM_OF_PERSISTENT)
        return vm_nvm_store(rt, o->nvm_off + VM_OBJ_HDR + at, v, 2, logged);
    memcpy(o->data + at, v, 2);
    return VM_OK;
}

/* JC API SensitiveArrays: the check value is verified before any update
 * (SecurityException when it does not match the elements). */
static int sensitive_intact(vm_runtime *rt, const vm_obj *o)
{
    uint32_t at = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u);
    return vm_rd16(o->data + at) == vm_sensitive_crc(o) ? VM_OK : vm_set_reason(rt, VM_SC_SecurityException, 0);
}

int vm_obj_store(vm_runtime *rt, vm_obj *o, uint32_t byte_off, const void *src, uint32_t len, int logged)
{
    int rc = (o->flags & VM_OF_SENSITIVE) ? sensitive_intact(rt, o) : VM_OK;
    if (rc != VM_OK)
        return rc;
    if (o->flags & VM_OF_PERSISTENT)
        rc = vm_nvm_store(rt, o->nvm_off + VM_OBJ_HDR + byte_off, src, len, logged);
    else
        memcpy(o->data + byte_off, src, len);
    if (rc == VM_OK && (o->flags & VM_OF_SENSITIVE))
        rc = sensitive_reseal(rt, o, logged);
    return rc;
}

int vm_obj_fill(vm_runtime *rt, vm_obj *o, uint32_t byte_off, uint8_t value, uint32_t len)
{
    int rc = (o->flags & VM_OF_SENSITIVE) ? sensitive_intact(rt, o) : VM_OK;
    if (rc != VM_OK)
        return rc;
    if (o->flags & VM_OF_PERSISTENT)
        rc = chip_rc(chip_nvm_fill(rt->chip, o->nvm_off + VM_OBJ_HDR + byte_off, value, len));
    else
        memset(o->data + byte_off, value, len);
    if (rc == VM_OK && (o->flags & VM_OF_SENSITIVE))
        rc = sensitive_reseal(rt, o, 0);   /* unlogged like the fill itself */
    return rc;
}

int vm_tx_begin(vm_runtime *rt)
{
    if (rt->tx_open)
        return vm_set_reason(rt, VM_SC_TransactionException, VM_TX_IN_PROGRESS);
    rt->tx_open = 1;
    rt->tx_mark = rt->log_len;
    rt->tx_bytes = 0;
    return VM_OK;
}

int vm_tx_commit(vm_runtime *rt)
{
    if (!rt->tx_open)
        return vm_set_reason(rt, VM_SC_TransactionException, VM_TX_NOT_IN_PROGRESS);
    rt->tx_open = 0;
    if (!rt->guard)
        rt->log_len = rt->tx_mark;
    return VM_OK;
}

int vm_tx_abort(vm_runtime *rt)
{
    if (!rt->tx_open)
        return vm_set_reason(rt, VM_SC_TransactionException, VM_TX_NOT_IN_PROGRESS);
    rt->tx_open = 0;
    return undo_to(rt, rt->tx_mark);
}

/* ---- objects ---- */

static void free_object(vm_runtime *rt, uint16_t h, int zero_nvm)
{
    if (h >= rt->obj_cap || h < VM_H_FIRST_DYNAMIC)
        return;
    vm_obj *o = &rt->objs[h];
    if (o->kind == VM_OBJ_FREE)
        return;
    if (o->ram_len)
        ram_mark(rt, o->ram_off, o->ram_len, 0);
    if (o->pkg && o->pkg <= VM_MAX_PACKAGES) {
        vm_lpkg *lp = &rt->pkgs[o->pkg];
        uint32_t sz = o->nvm_size;
        lp->nvm_used -= sz < lp->nvm_used ? sz : lp->nvm_used;
        lp->ram_used -= o->ram_len < lp->ram_used ? o->ram_len : lp->ram_used;
    }
    if (zero_nvm && o->nvm_off)
        chip_nvm_free(rt->chip, o->nvm_off);
    memset(o, 0, sizeof *o);
    rt->obj_live--;
    if (h < rt->obj_hint)
        rt->obj_hint = h;
}

int vm_obj_free(vm_runtime *rt, uint16_t h)
{
    if (h < VM_H_FIRST_DYNAMIC || h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE)
        return VM_ERR_ARG;
    if (rt->objs[h].nvm_off) {
        int rc = chip_rc(chip_nvm_free(rt->chip, rt->objs[h].nvm_off));
        if (rc)
            return rc;
    }
    free_object(rt, h, 0);
    return VM_OK;
}

/* Keep [rt->deselect_lo, rt->deselect_hi) of o's package around every
 * object handle h that clear_deselect_transients clears. */
static void note_deselect_ram(vm_runtime *rt, const vm_obj *o, uint32_t h)
{
    if (!o->ram_len || !(o->flags & VM_OF_CLEAR_DESELECT) || o->pkg > VM_MAX_PACKAGES)
        return;
    uint32_t *lo = &rt->deselect_lo[o->pkg], *hi = &rt->deselect_hi[o->pkg];
    if (*lo == *hi) {
        *lo = h;
        *hi = h + 1u;
    } else {
        if (h < *lo)
            *lo = h;
        if (h >= *hi)
            *hi = h + 1u;
    }
}

int vm_alloc(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t cls, uint16_t length, uint32_t data_bytes,
             uint32_t ram_bytes, uint16_t *handle)
{
    uint8_t owner = rt->ctx;
    vm_lpkg *lp = owner ? &rt->pkgs[owner] : NULL;
    uint32_t payload = VM_OBJ_HDR + ((flags & VM_OF_PERSISTENT) ? data_bytes : 0);
    uint32_t ram_off = 0;
    uint16_t h;
    uint32_t off;
    int rc;

    if (lp && rt->cfg.package_quota && lp->nvm_used + payload > rt->cfg.package_quota)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
    if (find_free_handle(rt, &h) != 0)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
    if (ram_bytes && ram_alloc(rt, ram_bytes, &ram_off) != 0)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_TRANSIENT_SPACE);
    rc = chip_nvm_alloc(rt->chip, VM_TAG_OBJECT, h, payload, &off);
    if (rc != CHIP_OK) {
        if (ram_bytes)
            ram_mark(rt, ram_off, ram_bytes, 0);
        if (rc == CHIP_ERR_FULL)
            return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
        return chip_rc(rc);
    }
    uint8_t hdr[VM_OBJ_HDR];
    hdr[0] = kind;
    hdr[1] = flags;
    hdr[2] = owner;
    hdr[3] = 0;
    vm_wr16(hdr + 4, cls);
    vm_wr16(hdr + 6, length);
    log_put32(hdr + 8, ram_off);
    rc = chip_rc(chip_nvm_write(rt->chip, off, hdr, sizeof hdr));
    if (rc)
        return rc;
    if (rt->tx_open || rt->guard) {
        if (log_reserve(rt, 5) != 0)
            return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
        uint8_t *r = rt->log + rt->log_len;
        r[0] = LOG_ALLOC;
        vm_wr16(r + 1, h);
        vm_wr16(r + 3, 5);
        rt->log_len += 5;
    }
    vm_obj *o = &rt->objs[h];
    o->kind = kind;
    o->flags = flags;
    o->pkg = owner;
    o->cls = cls;
    o->length = length;
    o->nvm_off = off;
    o->ram_off = ram_off;
    o->ram_len = ram_bytes;
    o->nvm_size = payload;
    note_deselect_ram(rt, o, h);
    o->data = (flags & VM_OF_PERSISTENT) ? (uint8_t *)(uintptr_t)(rt->nvm + off + VM_OBJ_HDR)
                                         : vm_ram(rt) + ram_off;
    rt->obj_live++;
    if (lp) {
        lp->nvm_used += payload;
        lp->ram_used += ram_bytes;
    }
    *handle = h;
    return VM_OK;
}

/* ---- packages ---- */

static void unload_slot(vm_runtime *rt, unsigned slot)
{
    vm_lpkg *lp = &rt->pkgs[slot];
    vm_cap_unlink(lp);
    memset(rt->inst_meth, 0, sizeof rt->inst_meth);
    if (!lp->masked)
        free((void *)(uintptr_t)lp->blob);
    memset(lp, 0, sizeof *lp);
}

/* Set up host state of slot from a load file (verified at load; parsed
 * again here, linked by the caller). A masked package's load file is used
 * in place (ROM view), its statics are in the VM_TAG_ROMPKG record at
 * rec_off. The NVM/RAM counters already gathered for the slot (objects met
 * earlier in a vm_reset scan) are kept. */
static int attach_package(vm_runtime *rt, unsigned slot, const uint8_t *blob, uint32_t len, uint8_t privileged,
                          uint32_t rec_off, uint8_t masked)
{
    vm_lpkg *lp = &rt->pkgs[slot];
    uint32_t nvm_used = lp->nvm_used, ram_used = lp->ram_used;
    uint8_t *copy = NULL;
    memset(lp, 0, sizeof *lp);
    lp->nvm_used = nvm_used;
    lp->ram_used = ram_used;
    if (!masked) {
        copy = malloc(len);
        if (!copy)
            return VM_ERR_NOMEM;
        memcpy(copy, blob, len);
        blob = copy;
    }
    /* Identity only; vm_cap_link() builds the rest once the imports are
     * attached. */
    if (!cap_is_load_file(blob, len)) {
        free(copy);
        return VM_ERR_CORRUPT;
    }
    cap_view v;
    if (cap_parse(blob, len, &v, NULL, 0) != 0) {
        cap_view_free(&v);
        free(copy);
        return VM_ERR_CORRUPT;
    }
    vm_pkg_identity *p = &lp->pkg;
    p->len = len;
    /* a CAP file has no kind: the customization software is the package
     * the LOADER loads privileged */
    p->kind = privileged ? VM_PKG_CUSTOMIZATION : v.applet_count ? VM_PKG_APPLET : VM_PKG_LIBRARY;
    p->major = v.pkg_major;
    p->minor = v.pkg_minor;
    p->aid = v.pkg_aid;
    for (unsigned i = 0; i < v.import_count && p->import_count < VM_MAX_IMPORTS; i++) {
        if (jc_api_find_package(v.imports[i].aid.b, v.imports[i].aid.len))
            continue;   /* ROM packages cannot be deleted anyway */
        p->imports[p->import_count].aid = v.imports[i].aid;
        p->imports[p->import_count].major = v.imports[i].major;
        p->imports[p->import_count].minor = v.imports[i].minor;
        p->import_count++;
    }
    p->applet_count = (uint8_t)(v.applet_count < VM_MAX_APPLETS ? v.applet_count : VM_MAX_APPLETS);
    for (unsigned i = 0; i < p->applet_count; i++)
        p->applets[i] = v.applets[i].aid;
    uint32_t image = v.sf_image_size;
    cap_view_free(&v);
    lp->blob = blob;
    lp->used = 1;
    lp->masked = masked;
    lp->privileged = privileged;
    lp->rec_off = rec_off;
    if (masked) {
        /* executed in place: only the static field image is in NVM */
        lp->statics_off = rec_off + VM_ROMPKG_REC_HDR;
        lp->nvm_used += VM_ROMPKG_REC_HDR + image;
    } else {
        lp->statics_off = rec_off + VM_PKG_REC_HDR + len;
        lp->nvm_used += VM_PKG_REC_HDR + len + image;
    }
    return VM_OK;
}

/* A slot no package uses and no masked package has reserved; 0 if none. */
static unsigned free_slot(const vm_runtime *rt)
{
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++)
        if (!rt->pkgs[s].used && !rt->rom_rec[s])
            return s;
    return 0;
}

/* A package's NVM record: a free slot, one block of
 * header + load file + `statics` bytes, the header and the load file written
 * (the statics area is the caller's). Nothing is left allocated on failure
 * but after a power cut, which the chip rolls back. */
static int store_package_record(vm_runtime *rt, const uint8_t *blob, size_t len, uint32_t statics,
                                unsigned flags, unsigned *slot_out, uint32_t *off_out, char *err, size_t errlen)
{
    unsigned slot = free_slot(rt);
    uint32_t size = VM_PKG_REC_HDR + (uint32_t)len + statics;
    if (!slot || len > 0xFFFFFFu || (rt->cfg.package_quota && size > rt->cfg.package_quota)) {
        if (err && errlen)
            snprintf(err, errlen, "no room for another package");
        return VM_ERR_FULL;
    }
    uint32_t off;
    int rc = chip_rc(chip_nvm_alloc(rt->chip, VM_TAG_PACKAGE, (uint16_t)slot, size, &off));
    if (rc != VM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", rc == VM_ERR_FULL ? "NVM full" : vm_strerror(rc));
        return rc;
    }
    uint8_t hdr[VM_PKG_REC_HDR] = { (uint8_t)(flags & VM_LOAD_PRIVILEGED ? 1 : 0), (uint8_t)slot, 0, 0 };
    log_put32(hdr + 4, (uint32_t)len);
    if ((rc = chip_rc(chip_nvm_write(rt->chip, off, hdr, sizeof hdr))) != VM_OK ||
        (rc = chip_rc(chip_nvm_write(rt->chip, off + VM_PKG_REC_HDR, blob, len))) != VM_OK) {
        if (rc != VM_ERR_POWER)
            chip_nvm_free(rt->chip, off);
        return rc;
    }
    *slot_out = slot;
    *off_out = off;
    return VM_OK;
}

static int find_package(vm_runtime *rt, const uint8_t *aid, uint8_t len)
{
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++)
        if (rt->pkgs[s].used && rt->pkgs[s].pkg.aid.len == len && !memcmp(rt->pkgs[s].pkg.aid.b, aid, len))
            return (int)s;
    return -1;
}

/* An instance that can run: its package is attached (always true once
 * vm_reset has checked the instances; kept as a guard). */
static int inst_live(const vm_runtime *rt, unsigned i)
{
    return rt->insts[i].used && rt->pkgs[rt->insts[i].pkg].used;
}

static int find_instance(const vm_runtime *rt, const uint8_t *aid, uint8_t len, int partial)
{
    /* (AIDs of one RID differ at the end: that byte first) */
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].aid.len == len && (len == 0 || rt->insts[i].aid.b[len - 1] == aid[len - 1]) &&
            inst_live(rt, i) && !memcmp(rt->insts[i].aid.b, aid, len))
            return (int)i;
    if (partial)
        for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
            if (inst_live(rt, i) && rt->insts[i].aid.len >= len && !memcmp(rt->insts[i].aid.b, aid, len))
                return (int)i;
    return -1;
}

int vm_select_lookup(const vm_runtime *rt, const uint8_t *aid, uint8_t aid_len, uint8_t out_aid[VM_AID_MAX],
                     uint8_t *out_len)
{
    if (aid_len > VM_AID_MAX)
        return -1;
    int i = find_instance(rt, aid, aid_len, 1);
    if (i >= 0) {
        memcpy(out_aid, rt->insts[i].aid.b, rt->insts[i].aid.len);
        *out_len = rt->insts[i].aid.len;
    }
    return i;
}

void vm_set_extension(vm_runtime *rt, const vm_extension *ext)
{
    rt->ext = ext;
}

int vm_package_identify(const uint8_t *blob, size_t len, uint8_t aid[VM_AID_MAX], uint8_t *aid_len,
                        uint8_t *major, uint8_t *minor)
{
    if (!blob || !aid || !aid_len || !major || !minor)
        return VM_ERR_ARG;
    if (cap_is_load_file(blob, len)) {
        cap_view v;
        int rc = cap_parse(blob, len, &v, NULL, 0);
        if (rc == VM_OK) {
            *aid_len = v.pkg_aid.len;
            memcpy(aid, v.pkg_aid.b, v.pkg_aid.len);
            *major = v.pkg_major;
            *minor = v.pkg_minor;
        }
        cap_view_free(&v);
        return rc == VM_OK ? VM_OK : VM_ERR_VERIFY;
    }
    return VM_ERR_VERIFY;
}

static int cap_load(vm_runtime *rt, const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen);

int vm_load_package(vm_runtime *rt, const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen)
{
    if (!cap_is_load_file(blob, len)) {
        if (err && errlen)
            snprintf(err, errlen, "not a CAP load file (no Header component first)");
        return VM_ERR_VERIFY;
    }
    return cap_load(rt, blob, len, flags, err, errlen);
}

int vm_verify(const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen)
{
    /* without a card, user-package imports cannot be resolved: they are
     * checked for shape only */
    cap_link_env env;
    cap_link_env_builtin(&env);
    return vm_cap_verify_load_file(blob, len, &env,
                                   CAP_VERIFY_UNRESOLVED_IMPORTS_OK |
                                       ((flags & VM_LOAD_PRIVILEGED) ? CAP_VERIFY_PRIVILEGED : 0),
                                   err, errlen);
}

/* ---- CAP packages (vm_internal.h, "CAP packages") ---- */

static const cap_view *find_user_view(void *ctx, const uint8_t *aid, uint8_t aid_len)
{
    vm_runtime *rt = ctx;
    int s = find_package(rt, aid, aid_len);
    return s > 0 && rt->pkgs[s].cap ? &rt->pkgs[s].cap->view : NULL;
}

/* Arrays of the StaticField component's array_init_info and the static
 * image, written to NVM at `image_off`. Objects made here are logged
 * (rt->guard) so a failure can undo them. */
static int cap_init_statics(vm_runtime *rt, unsigned slot, uint32_t image_off)
{
    const cap_view *v = &rt->pkgs[slot].cap->view;
    uint32_t n = v->sf_image_size;
    if (!n)
        return VM_OK;
    uint8_t *img = calloc(n, 1);
    if (!img)
        return VM_ERR_NOMEM;
    memcpy(img + (n - v->sf_nondefault_count), v->sf_nondefault, v->sf_nondefault_count);
    const uint8_t *p = v->sf_array_inits;
    int rc = VM_OK;
    uint8_t saved_ctx = rt->ctx;
    rt->ctx = (uint8_t)slot;   /* the arrays belong to the package */
    for (unsigned i = 0; i < v->sf_array_init_count && rc == VM_OK; i++) {
        uint8_t type = p[0];
        uint16_t count = vm_be16(p + 1);
        const uint8_t *vals = p + 3;
        p += 3 + count;
        uint8_t kind = type == 2 ? VM_OBJ_BOOLS : type == 3 ? VM_OBJ_BYTES : type == 4 ? VM_OBJ_SHORTS : 0;
        if (!kind) {
            rc = VM_ERR_VERIFY;
            break;
        }
        uint16_t elems = kind == VM_OBJ_SHORTS ? count / 2 : count;
        uint16_t h;
        rc = vm_alloc(rt, kind, VM_OF_PERSISTENT, 0, elems, count, 0, &h);
        if (rc > 0)
            rc = VM_ERR_FULL;
        if (rc == VM_OK && count)
            rc = vm_obj_store(rt, &rt->objs[h], 0, vals, count, 0);
        if (rc == VM_OK)
            vm_wr16(img + 2 * i, h);
    }
    rt->ctx = saved_ctx;
    if (rc == VM_OK)
        rc = chip_rc(chip_nvm_write(rt->chip, image_off, img, n));
    free(img);
    return rc;
}

static int cap_load(vm_runtime *rt, const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen)
{
    cap_view v;
    int rc = cap_parse(blob, len, &v, err, errlen);
    if (rc != VM_OK) {
        cap_view_free(&v);
        return rc;
    }
    cap_link_env env;
    cap_link_env_builtin(&env);
    env.find_user = find_user_view;
    env.ctx = rt;
    rc = vm_cap_verify(&v, &env, (flags & VM_LOAD_PRIVILEGED) ? CAP_VERIFY_PRIVILEGED : 0, err, errlen);
    if (rc != VM_OK)
        goto out;
    if (find_package(rt, v.pkg_aid.b, v.pkg_aid.len) >= 0) {
        if (err && errlen)
            snprintf(err, errlen, "package AID already loaded");
        rc = VM_ERR_EXISTS;
        goto out;
    }
    unsigned slot;
    uint32_t off;
    if ((rc = store_package_record(rt, blob, len, v.sf_image_size, flags, &slot, &off, err, errlen)) != VM_OK)
        goto out;
    rc = attach_package(rt, slot, blob, (uint32_t)len, (flags & VM_LOAD_PRIVILEGED) ? 1 : 0, off, 0);
    if (rc == VM_OK)
        rc = vm_cap_link(rt, slot, err, errlen);
    if (rc == VM_OK) {
        rt->guard = 1;
        rt->log_len = 0;
        rc = cap_init_statics(rt, slot, off + VM_PKG_REC_HDR + (uint32_t)len);
        if (rc != VM_OK && rc != VM_ERR_POWER)
            (void)undo_to(rt, 0);
        rt->guard = 0;
        rt->log_len = 0;
        if (rc == VM_ERR_FULL && err && errlen)
            snprintf(err, errlen, "NVM full (static arrays)");
    }
    if (rc != VM_OK) {
        if (rc != VM_ERR_POWER)
            chip_nvm_free(rt->chip, off);
        if (rt->pkgs[slot].used || rt->pkgs[slot].blob)
            unload_slot(rt, slot);
    }
out:
    cap_view_free(&v);
    return rc;
}

/* After a vm_reset scan: link the CAP packages, each after the user
 * packages it imports. */
static int cap_link_all(vm_runtime *rt)
{
    int rc = VM_OK, progress = 1;
    while (progress) {
        progress = 0;
        for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++) {
            vm_lpkg *lp = &rt->pkgs[s];
            if (!lp->used || lp->masked || lp->cap)
                continue;
            int ready = 1;
            for (unsigned i = 0; i < lp->pkg.import_count && ready; i++) {
                int t = find_package(rt, lp->pkg.imports[i].aid.b, lp->pkg.imports[i].aid.len);
                ready = t > 0 && rt->pkgs[t].cap;
            }
            if (!ready)
                continue;
            int r = vm_cap_link(rt, s, NULL, 0);
            if (r == VM_ERR_NOMEM)
                return r;
            if (r != VM_OK) {
                unload_slot(rt, s);
                rc = VM_ERR_CORRUPT;
            }
            progress = 1;
        }
    }
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++)
        if (rt->pkgs[s].used && !rt->pkgs[s].masked && !rt->pkgs[s].cap) {
            unload_slot(rt, s);   /* an import never came back */
            rc = VM_ERR_CORRUPT;
        }
    return rc;
}

/* ---- masked packages (executed in place from ROM) ---- */

/* The slot whose VM_TAG_ROMPKG record names this AID, or 0. */
static unsigned rom_slot_of(const vm_runtime *rt, const vm_aid *aid)
{
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++) {
        const uint8_t *r = rt->rom_rec[s] ? rt->nvm + rt->rom_rec[s] : NULL;
        if (r && r[12] == aid->len && !memcmp(r + 13, aid->b, aid->len))
            return s;
    }
    return 0;
}

/* The NVM record of a masked package's statics: its header names the ROM
 * range (off, len) the package was registered from. An existing record
 * (found by AID) gets the range rewritten; otherwise a slot and a record of
 * `size` bytes are allocated and the header written; the caller initialises
 * the statics. *fresh tells which. */
static int rom_statics_record(vm_runtime *rt, const vm_aid *aid, uint32_t off, uint32_t len, uint32_t size,
                              unsigned *slot_out, int *fresh, char *err, size_t errlen)
{
    unsigned slot = rom_slot_of(rt, aid);
    uint8_t hdr[VM_ROMPKG_REC_HDR] = { 2, 0, 0, 0 };
    log_put32(hdr + 4, off);
    log_put32(hdr + 8, len);
    int rc;
    *fresh = 0;
    if (slot) {
        /* Its record exists but did not attach (another ROM region?). */
        if (rt->rom_rec_size[slot] < size) {
            if (err && errlen)
                snprintf(err, errlen, "statics record of the masked package is corrupt");
            return VM_ERR_CORRUPT;
        }
        if ((rc = chip_rc(chip_nvm_write(rt->chip, rt->rom_rec[slot] + 4, hdr + 4, 8))) != VM_OK)
            return rc;
        *slot_out = slot;
        return VM_OK;
    }
    slot = free_slot(rt);
    if (!slot) {
        if (err && errlen)
            snprintf(err, errlen, "no room for another package");
        return VM_ERR_FULL;
    }
    uint32_t roff;
    rc = chip_rc(chip_nvm_alloc(rt->chip, VM_TAG_ROMPKG, (uint16_t)slot, size, &roff));
    if (rc != VM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", rc == VM_ERR_FULL ? "NVM full" : vm_strerror(rc));
        return rc;
    }
    hdr[1] = (uint8_t)slot;
    hdr[12] = aid->len;
    memcpy(hdr + 13, aid->b, aid->len);
    if ((rc = chip_rc(chip_nvm_write(rt->chip, roff, hdr, sizeof hdr))) != VM_OK) {
        if (rc != VM_ERR_POWER)
            chip_nvm_free(rt->chip, roff);
        return rc;
    }
    rt->rom_rec[slot] = roff;
    rt->rom_rec_size[slot] = size;
    *slot_out = slot;
    *fresh = 1;
    return VM_OK;
}


static int rom_region_ok(vm_runtime *rt, uint32_t off, uint32_t len)
{
    const chip_geometry *g = chip_get_geometry(rt->chip);
    return chip_rom_view(rt->chip) && len != 0 && off <= g->rom_size && len <= g->rom_size - off;
}

/* vm_reset: attach the masked package of slot s from its record (the load
 * file was verified when the record was made) and link it. */
static int rom_reattach(vm_runtime *rt, unsigned s)
{
    const uint8_t *r = rt->nvm + rt->rom_rec[s];
    uint32_t off = log_get32(r + 4), len = log_get32(r + 8);
    if (!rom_region_ok(rt, off, len))
        return VM_ERR_CORRUPT;
    int rc = attach_package(rt, s, chip_rom_view(rt->chip) + off, len, 0, rt->rom_rec[s], 1);
    /* linked here, before the NVM packages that may import it
     * (cap_link_all leaves masked packages alone) */
    if (rc == VM_OK) {
        rc = vm_cap_link(rt, s, NULL, 0);
        if (rc == VM_OK && rt->rom_rec_size[s] < VM_ROMPKG_REC_HDR + (uint32_t)rt->pkgs[s].cap->view.sf_image_size)
            rc = VM_ERR_CORRUPT;
        if (rc != VM_OK) {
            unload_slot(rt, s);
            return rc == VM_ERR_NOMEM ? rc : VM_ERR_CORRUPT;
        }
    }
    if (rc == VM_OK && (rt->pkgs[s].pkg.aid.len != r[12] || memcmp(rt->pkgs[s].pkg.aid.b, r + 13, r[12]))) {
        unload_slot(rt, s);
        rc = VM_ERR_CORRUPT;
    }
    return rc;
}

/* Verify (when asked) and attach the ROM package at [off, off+len): the
 * verifier, then the statics record (header + the StaticField component's image, its arrays
 * made as objects of the package, all undone on failure) at the first
 * registration; later ones find the record and write nothing. */
/* The verifier's view of user packages, noting whether it asked: a verdict
 * that depended on another package is not one to trust by bytes alone. */
typedef struct rom_verify_ctx {
    vm_runtime *rt;
    int consulted;
} rom_verify_ctx;

static const cap_view *find_user_noted(void *ctx, const uint8_t *aid, uint8_t aid_len)
{
    rom_verify_ctx *vc = ctx;
    vc->consulted = 1;
    return find_user_view(vc->rt, aid, aid_len);
}

void vm_set_rom_trust(vm_runtime *rt, vm_rom_trust *t) { rt->rom_trust = t; }
unsigned vm_rom_verified_count(const vm_runtime *rt) { return rt->rom_verified; }

static int rom_attach(vm_runtime *rt, uint32_t off, uint32_t len, int verify, char *err, size_t errlen)
{
    if (!rom_region_ok(rt, off, len)) {
        if (err && errlen)
            snprintf(err, errlen, "region outside ROM");
        return VM_ERR_ARG;
    }
    const uint8_t *blob = chip_rom_view(rt->chip) + off;
    if (!cap_is_load_file(blob, len)) {
        if (err && errlen)
            snprintf(err, errlen, "not a CAP load file (no Header component first)");
        return VM_ERR_VERIFY;
    }
    cap_view v;
    int rc = cap_parse(blob, len, &v, err, errlen);
    if (rc != VM_OK)
        goto out;
    if (verify && !(rt->rom_trust && vm_rom_trust_has(rt->rom_trust, blob, len))) {
        rom_verify_ctx vc = {rt, 0};
        cap_link_env env;
        cap_link_env_builtin(&env);
        env.find_user = find_user_noted;
        env.ctx = &vc;
        if ((rc = vm_cap_verify(&v, &env, 0, err, errlen)) != VM_OK)
            goto out;
        rt->rom_verified++;
        if (rt->rom_trust && !vc.consulted)
            vm_rom_trust_add(rt->rom_trust, blob, len);
    }
    int s = find_package(rt, v.pkg_aid.b, v.pkg_aid.len);
    if (s >= 0 && rt->pkgs[s].masked && rt->pkgs[s].blob == blob && rt->pkgs[s].pkg.len == len) {
        rc = VM_OK;   /* already attached from its record by vm_reset */
        goto out;
    }
    if (s >= 0) {
        if (err && errlen)
            snprintf(err, errlen, "package AID already loaded");
        rc = VM_ERR_EXISTS;
        goto out;
    }
    unsigned slot;
    int fresh;
    rc = rom_statics_record(rt, &v.pkg_aid, off, len, VM_ROMPKG_REC_HDR + (uint32_t)v.sf_image_size, &slot,
                            &fresh, err, errlen);
    if (rc != VM_OK)
        goto out;
    rc = attach_package(rt, slot, blob, len, 0, rt->rom_rec[slot], 1);
    if (rc == VM_OK)
        rc = vm_cap_link(rt, slot, err, errlen);
    if (rc == VM_OK && fresh) {
        rt->guard = 1;
        rt->log_len = 0;
        rc = cap_init_statics(rt, slot, rt->rom_rec[slot] + VM_ROMPKG_REC_HDR);
        if (rc != VM_OK && rc != VM_ERR_POWER)
            (void)undo_to(rt, 0);
        rt->guard = 0;
        rt->log_len = 0;
    }
    if (rc != VM_OK) {
        if (rt->pkgs[slot].used || rt->pkgs[slot].blob)
            unload_slot(rt, slot);
        if (fresh && rc != VM_ERR_POWER) {
            chip_nvm_free(rt->chip, rt->rom_rec[slot]);
            rt->rom_rec[slot] = 0;
            rt->rom_rec_size[slot] = 0;
        }
    }
out:
    cap_view_free(&v);
    return rc;
}

int vm_register_rom_package(vm_runtime *rt, uint32_t rom_offset, uint32_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!rt)
        return VM_ERR_ARG;
    int rc = rom_attach(rt, rom_offset, len, 1, err, errlen);
    if (rc != VM_OK)
        return rc;
    for (unsigned i = 0; i < rt->rom_count; i++)
        if (rt->rom[i].off == rom_offset && rt->rom[i].len == len)
            return VM_OK;
    if (rt->rom_count < VM_MAX_PACKAGES) {
        rt->rom[rt->rom_count].off = rom_offset;
        rt->rom[rt->rom_count].len = len;
        rt->rom_count++;
    }
    return VM_OK;
}

int vm_delete_package(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len)
{
    int s = find_package(rt, aid, aid_len);
    if (s < 0)
        return VM_ERR_NOTFOUND;
    if (rt->pkgs[s].masked)
        return VM_ERR_STATE;   /* ROM code is part of the chip */
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].pkg == s)
            return VM_ERR_STATE;
    for (unsigned t = 1; t <= VM_MAX_PACKAGES; t++) {
        if (!rt->pkgs[t].used || (int)t == s)
            continue;
        const vm_pkg_identity *p = &rt->pkgs[t].pkg;
        for (unsigned i = 0; i < p->import_count; i++)
            if (p->imports[i].aid.len == aid_len && !memcmp(p->imports[i].aid.b, aid, aid_len))
                return VM_ERR_DEPENDENCY;
    }
    for (uint32_t h = VM_H_FIRST_DYNAMIC; h < rt->obj_cap; h++)
        if (rt->objs[h].kind != VM_OBJ_FREE && rt->objs[h].pkg == s) {
            uint32_t off = rt->objs[h].nvm_off;
            int rc = chip_rc(chip_nvm_free(rt->chip, off));
            if (rc)
                return rc;
            free_object(rt, (uint16_t)h, 0);
        }
    int rc = chip_rc(chip_nvm_free(rt->chip, rt->pkgs[s].rec_off));
    if (rc)
        return rc;
    unload_slot(rt, (unsigned)s);
    return VM_OK;
}

int vm_package_info_at(vm_runtime *rt, unsigned index, vm_package_info *out)
{
    unsigned n = 0;
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++) {
        if (!rt->pkgs[s].used)
            continue;
        if (n++ != index)
            continue;
        const vm_lpkg *lp = &rt->pkgs[s];
        memset(out, 0, sizeof *out);
        memcpy(out->aid, lp->pkg.aid.b, lp->pkg.aid.len);
        out->aid_len = lp->pkg.aid.len;
        out->kind = lp->pkg.kind;
        out->major = lp->pkg.major;
        out->minor = lp->pkg.minor;
        out->privileged = lp->privileged;
        out->applet_count = lp->pkg.applet_count;
        out->masked = lp->masked;
        out->blob_size = lp->pkg.len;
        out->nvm_used = lp->nvm_used;
        out->ram_used = lp->ram_used;
        return VM_OK;
    }
    return VM_ERR_NOTFOUND;
}

int vm_applet_info_at(vm_runtime *rt, unsigned index, vm_applet_info *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++) {
        if (!inst_live(rt, i))
            continue;
        if (n++ != index)
            continue;
        const vm_inst *in = &rt->insts[i];
        const vm_lpkg *lp = &rt->pkgs[in->pkg];
        memset(out, 0, sizeof *out);
        memcpy(out->aid, in->aid.b, in->aid.len);
        out->aid_len = in->aid.len;
        memcpy(out->pkg_aid, lp->pkg.aid.b, lp->pkg.aid.len);
        out->pkg_aid_len = lp->pkg.aid.len;
        out->selected = vm_instance_active(rt, (int)i) ? 1 : 0;
        return VM_OK;
    }
    return VM_ERR_NOTFOUND;
}

/* ---- create / reset ---- */

static int rom_attach(vm_runtime *rt, uint32_t off, uint32_t len, int verify, char *err, size_t errlen);

static void clear_caches(vm_runtime *rt)
{
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++)
        if (rt->pkgs[s].used || rt->pkgs[s].blob)
            unload_slot(rt, s);
    memset(rt->insts, 0, sizeof rt->insts);
    memset(rt->inst_meth, 0, sizeof rt->inst_meth);
    memset(rt->rom_rec, 0, sizeof rt->rom_rec);
    if (rt->objs)
        memset(rt->objs, 0, rt->obj_cap * sizeof *rt->objs);
    rt->obj_live = 0;
    rt->obj_hint = VM_H_FIRST_DYNAMIC;
}

int vm_reset(vm_runtime *rt)
{
    rt->ctx_depth = 0;
    rt->cap_depth = 0;
    rt->active_inst = -1;
    rt->channel = 0;
    rt->chan_open = 1;
    memset(rt->chan_sel, -1, sizeof rt->chan_sel);
    vm_cap_caches_init(rt);
    rt->thrown = 0;
    memset(rt->api_exc, 0, sizeof rt->api_exc);
    rt->tx_open = 0;
    rt->guard = 0;
    rt->log_len = 0;
    rt->selected = -1;
    rt->installing = 0;
    rt->nvm = chip_nvm_view(rt->chip);
    memset(vm_ram(rt), 0, rt->ram_size);
    memset(rt->ram_map, 0, rt->ram_granules);
    api_aead_cache_clear(rt);
    clear_caches(rt);
    if (ensure_cap(rt, VM_H_FIRST_DYNAMIC) != 0)
        return VM_ERR_NOMEM;
    set_system_objects(rt);

    uint32_t cursor = 0, off, size;
    uint16_t kind, id;
    int rc = VM_OK;
    while (chip_nvm_next(rt->chip, &cursor, &kind, &id, &off, &size) == CHIP_OK) {
        const uint8_t *b = rt->nvm + off;
        if (kind == VM_TAG_PACKAGE) {
            uint32_t len = log_get32(b + 4);
            if (id < 1 || id > VM_MAX_PACKAGES || rt->pkgs[id].used || size < VM_PKG_REC_HDR ||
                len > size - VM_PKG_REC_HDR) {
                rc = VM_ERR_CORRUPT;
                continue;
            }
            int r = attach_package(rt, id, b + VM_PKG_REC_HDR, len, b[0] & 1, off, 0);
            if (r != VM_OK)
                rc = r;
        } else if (kind == VM_TAG_ROMPKG) {
            if (id < 1 || id > VM_MAX_PACKAGES || rt->rom_rec[id] || size < VM_ROMPKG_REC_HDR ||
                b[12] < VM_AID_MIN || b[12] > VM_AID_MAX) {
                rc = VM_ERR_CORRUPT;
                continue;
            }
            rt->rom_rec[id] = off;
            rt->rom_rec_size[id] = size;
        } else if (kind == VM_TAG_OBJECT) {
            if (id < VM_H_FIRST_DYNAMIC || size < VM_OBJ_HDR || ensure_cap(rt, (uint32_t)id + 1) != 0) {
                rc = VM_ERR_CORRUPT;
                continue;
            }
            vm_obj *o = &rt->objs[id];
            memset(o, 0, sizeof *o);
            o->kind = b[0];
            o->flags = b[1];
            o->pkg = b[2];
            o->cls = vm_rd16(b + 4);
            o->length = vm_rd16(b + 6);
            o->nvm_off = off;
            o->nvm_size = size;
            o->ram_off = log_get32(b + 8);
            o->data = (o->flags & VM_OF_PERSISTENT) ? (uint8_t *)(uintptr_t)(b + VM_OBJ_HDR) : vm_ram(rt) + o->ram_off;
            if (!(o->flags & VM_OF_PERSISTENT))
                o->ram_len = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u) +
                             ((o->flags & VM_OF_SENSITIVE) ? 2u : 0u);
            note_deselect_ram(rt, o, id);
            if (o->ram_len) {
                if (o->ram_off < VM_RAM_ARENA || o->ram_off + o->ram_len > rt->ram_size) {
                    memset(o, 0, sizeof *o);
                    rc = VM_ERR_CORRUPT;
                    continue;
                }
                ram_mark(rt, o->ram_off, o->ram_len, 1);
            }
            rt->obj_live++;
            if (o->pkg && o->pkg <= VM_MAX_PACKAGES) {
                rt->pkgs[o->pkg].nvm_used += size;
                rt->pkgs[o->pkg].ram_used += o->ram_len;
            }
        } else if (kind == VM_TAG_INSTANCE) {
            if (id >= VM_MAX_INSTANCES || size < VM_INST_REC_SIZE || b[0] < VM_AID_MIN || b[0] > VM_AID_MAX) {
                rc = VM_ERR_CORRUPT;
                continue;
            }
            vm_inst *in = &rt->insts[id];
            in->used = 1;
            in->aid.len = b[0];
            memcpy(in->aid.b, b + 1, b[0]);
            in->pkg = b[17];
            in->applet = b[18];
            in->obj = vm_rd16(b + 20);
            in->rec_off = off;
        }
    }
    /* Masked packages come back from ROM, as their records say. A slot is
     * either an NVM package or a masked one. */
    for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++) {
        if (!rt->rom_rec[s])
            continue;
        int r = rt->pkgs[s].used ? VM_ERR_CORRUPT : rom_reattach(rt, s);
        if (r == VM_ERR_NOMEM)
            return r;
        if (r != VM_OK)
            rc = r;
    }
    /* And those registered since (a record rolled back by a power cut is
     * made again). */
    for (unsigned i = 0; i < rt->rom_count; i++) {
        int r = rom_attach(rt, rt->rom[i].off, rt->rom[i].len, 0, NULL, 0);
        if (r != VM_OK && rc == VM_OK)
            rc = r;
    }
    {
        int r = cap_link_all(rt);
        if (r == VM_ERR_NOMEM)
            return r;
        if (r != VM_OK)
            rc = r;
    }
    /* Instances must point at loaded packages. */
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++) {
        vm_inst *in = &rt->insts[i];
        if (in->used && (in->pkg < 1 || in->pkg > VM_MAX_PACKAGES || !rt->pkgs[in->pkg].used ||
                         in->applet >= rt->pkgs[in->pkg].pkg.applet_count)) {
            in->used = 0;
            rc = VM_ERR_CORRUPT;
        }
    }
    return rc;
}

int vm_create(chip *c, const vm_config *cfg, vm_runtime **out)
{
    if (!c || !out)
        return VM_ERR_ARG;
    vm_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return VM_ERR_NOMEM;
    if (cfg)
        rt->cfg = *cfg;
    else
        vm_config_default(&rt->cfg);
    if (rt->cfg.stack_slots < 64)
        rt->cfg.stack_slots = 64;
    if (rt->cfg.max_frames < 4)
        rt->cfg.max_frames = 4;
    rt->chip = c;
    const chip_geometry *g = chip_get_geometry(c);
    uint32_t avail = g->ram_size - chip_ram_reserved(c);
    if (rt->cfg.ram_size > avail)
        rt->cfg.ram_size = avail;
    if (rt->cfg.ram_size < VM_RAM_ARENA + 64 || chip_ram_reserve(c, rt->cfg.ram_size, &rt->ram_base) != CHIP_OK) {
        free(rt);
        return VM_ERR_FULL;
    }
    rt->ram_size = rt->cfg.ram_size;
    rt->ram_granules = (rt->ram_size - VM_RAM_ARENA) / VM_RAM_GRANULE;
    rt->ram_map = calloc(rt->ram_granules, 1);
    rt->stack = calloc(rt->cfg.stack_slots, sizeof *rt->stack);
    rt->budget = rt->cfg.budget;
    rt->selected = -1;
    if (!rt->ram_map || !rt->stack) {
        vm_destroy(rt);
        return VM_ERR_NOMEM;
    }
    /* libtomcrypt keeps its own registry; registering twice is harmless */
    register_cipher(&aes_desc);
    register_hash(&sha256_desc);
    int rc = vm_reset(rt);
    if (rc == VM_ERR_NOMEM) {
        vm_destroy(rt);
        return rc;
    }
    *out = rt;
    return rc;
}

void vm_destroy(vm_runtime *rt)
{
    if (!rt)
        return;
    clear_caches(rt);
    api_aead_cache_clear(rt);
    free(rt->objs);
    free(rt->ram_map);
    free(rt->stack);
    free(rt->log);
    free(rt);
}

chip *vm_chip(vm_runtime *rt) { return rt->chip; }

size_t vm_package_aid(const vm_runtime *rt, int slot, uint8_t aid[16])
{
    if (slot < 0 || slot > VM_MAX_PACKAGES || !rt->pkgs[slot].used)
        return 0;
    const vm_aid *a = &rt->pkgs[slot].pkg.aid;
    size_t n = a->len > 16 ? 16 : a->len;
    memcpy(aid, a->b, n);
    return n;
}

void vm_set_budget(vm_runtime *rt, uint32_t budget) { rt->budget = budget; }

void vm_get_stats(vm_runtime *rt, vm_stats *out)
{
    out->bytecodes = rt->executed;
    out->last_bytecodes = rt->last_executed;
    out->objects = rt->obj_live;
    out->ram_free = vm_ram_free(rt);
    out->native_entries = rt->native_entries;
}

/* ---- running applet code ---- */

/* Status word of an exception a CAP applet did not catch. Reasons are the
 * Java Card API's numbering here (SystemException.NO_RESOURCE is 5). */
static uint16_t cap_exception_sw(vm_runtime *rt, uint16_t h)
{
    uint16_t cls = h < rt->obj_cap ? rt->objs[h].cls : 0, reason = 0;
    if (vm_exception_reason(rt, h, &reason) != 0)
        return VM_SW_UNKNOWN;
    if (vm_cap_class_is(rt, cls, VM_SC_ISOException))
        return reason;
    if (vm_cap_class_is(rt, cls, VM_SC_SystemException) && (reason == 5 || reason == 2))
        return VM_SW_NO_MEMORY;
    return VM_SW_UNKNOWN;
}

/* Run a CAP method in package `slot`'s context, as the applet instance
 * `inst` (-1: none yet, install()); map the outcome to a SW. Aborts a
 * transaction left open. `xm`: the method's translation when the caller
 * has it cached (NULL: vm_cap_run finds it). Returns <0 only for fatal
 * errors. */
static inline int run_cap_x(vm_runtime *rt, unsigned entry, unsigned slot, int inst, cap_target t, cap_xmethod *xm,
                            const uint16_t *args, unsigned nargs, uint16_t *ret, uint16_t *sw)
{
    rt->ctx = (uint8_t)slot;
    rt->active_inst = (int8_t)inst;
    rt->ctx_depth = 0;
    rt->thrown = 0;
    int r = xm ? vm_cap_run_entry(rt, t, xm, args, nargs, ret) : vm_cap_run(rt, t, args, nargs, ret);
    rt->ctx_depth = 0;
    if (r < 0)
        return r;
    if (rt->tx_open) {
        int rc = vm_tx_abort(rt);
        if (rc < 0)
            return rc;
    }
    if (r == VM_RUN_DONE)
        *sw = VM_SW_OK;
    else if (r == VM_RUN_THROWN)
        *sw = cap_exception_sw(rt, rt->uncaught);
    else
        *sw = VM_SW_UNKNOWN;
    if (r != VM_RUN_DONE)
        vm_fault_finish(rt, r, entry, *sw);
    return VM_OK;
}

static int run_cap(vm_runtime *rt, unsigned entry, unsigned slot, int inst, cap_target t, const uint16_t *args,
                   unsigned nargs, uint16_t *ret, uint16_t *sw)
{
    return run_cap_x(rt, entry, slot, inst, t, NULL, args, nargs, ret, sw);
}

/* The method an instance's class has for Applet method `which`
 * (VM_APPLET_*), and its translation when it is not an API method and
 * `xm` is given (else *xm = NULL: vm_cap_run finds it). */
static int cap_applet_lookup(vm_runtime *rt, struct vm_inst_methods *c, uint16_t obj, uint16_t cls, unsigned which)
{
    int tok = rt->applet_tok[which];
    if (c->obj != obj || c->cls != cls) {
        c->obj = obj;
        c->cls = cls;
        c->have = c->missing = 0;
    }
    c->xm[which] = NULL;
    if (tok < 0 || vm_cap_lookup_virtual(rt, cls, (uint8_t)tok, &c->t[which]) != 0)
        c->missing |= (uint8_t)(1u << which);
    else if (!c->t[which].api && c->t[which].offset != 0xFFFF && rt->pkgs[c->t[which].slot].cap &&
             vm_cap_xmethod(rt->pkgs[c->t[which].slot].cap, c->t[which].offset, &c->xm[which]) != 0)
        c->xm[which] = NULL;   /* vm_cap_run reports why */
    c->have |= (uint8_t)(1u << which);
    return (c->missing >> which) & 1 ? -1 : 0;
}

/* (The lookup walks the class chain: once per instance object.) */
static inline int cap_applet_entry(vm_runtime *rt, int idx, unsigned which, cap_target *t, cap_xmethod **xm)
{
    uint16_t obj = rt->insts[idx].obj;
    if (obj >= rt->obj_cap)
        return -1;
    uint16_t cls = rt->objs[obj].cls;
    struct vm_inst_methods *c = &rt->inst_meth[idx];
    if ((c->obj != obj || c->cls != cls || !((c->have >> which) & 1)) &&
        cap_applet_lookup(rt, c, obj, cls, which) != 0)
        return -1;
    if ((c->missing >> which) & 1)
        return -1;
    *t = c->t[which];
    *xm = c->xm[which];
    return 0;
}

/* Applet.select() / deselect() as the API class has them (return true /
 * do nothing): the JCRE need not run them. */
static int is_api_default(const cap_target *t, unsigned which)
{
    return t->api && ((which == VM_APPLET_SELECT && t->api->fn == api_Applet_select) ||
                      (which == VM_APPLET_DESELECT && t->api->fn == api_Applet_deselect));
}

/* What running such a method would leave behind: the applet's context. */
static void enter_without_running(vm_runtime *rt, unsigned slot, int inst)
{
    rt->ctx = (uint8_t)slot;
    rt->active_inst = (int8_t)inst;
    rt->ctx_depth = 0;
    rt->thrown = 0;
    rt->last_executed = 0;
}

/* Load a command into the APDU buffer. 0, or -1 when malformed. */
static int apdu_setup(vm_runtime *rt, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap)
{
    return api_apdu_begin(rt, apdu, len, resp, cap);
}

static void clear_deselect_transients(vm_runtime *rt, unsigned slot)
{
    uint32_t lo = VM_H_FIRST_DYNAMIC, hi = rt->obj_cap;
    if (slot <= VM_MAX_PACKAGES) {
        lo = rt->deselect_lo[slot] > lo ? rt->deselect_lo[slot] : lo;
        hi = rt->deselect_hi[slot] < hi ? rt->deselect_hi[slot] : hi;
    }
    for (uint32_t h = lo; h < hi; h++) {
        vm_obj *o = &rt->objs[h];
        if (o->kind != VM_OBJ_FREE && o->pkg == slot && o->ram_len && (o->flags & VM_OF_CLEAR_DESELECT))
            memset(vm_ram(rt) + o->ram_off, 0, o->ram_len);
    }
}

/* An extended-length command (ISO 7816-3: 00 where a short Lc/Le would
 * be, then two length bytes). */
static int is_extended_command(const uint8_t *apdu, size_t len)
{
    return apdu && len > 5 && apdu[4] == 0;
}

/* An extended command's Nc above 32 767, which no Java short can say
 * (JCRE 3.0.5 9.4.4: answered 6700). Le is not judged here: an Ne above
 * 32 767 (Le 0000 included) reaches the applet as setOutgoing() = 32 767. */
static int extended_nc_too_long(const uint8_t *apdu, size_t len)
{
    return len > 7 && vm_rd16(apdu + 5) > 32767u;   /* 3E/4E: 00 Lc1 Lc2 at 4..6 */
}

/* JCRE 3.0.5: only an applet implementing javacardx.apdu.ExtendedLength
 * receives extended commands; the others are answered 6700 by the
 * runtime. */
static int implements_extended_length(const vm_runtime *rt, int inst)
{
    const vm_inst *in = &rt->insts[inst];
    const jc_api_class *c = jc_api_class_by_name("javacardx/apdu/ExtendedLength", NULL);
    return c && in->obj < rt->obj_cap && vm_cap_class_is(rt, rt->objs[in->obj].cls, vm_api_class_id(c));
}

/* Selected on a channel other than `except`: the instance / any instance
 * of package `slot`. */
static uint32_t open_channels_except(const vm_runtime *rt, int except)
{
    return rt->chan_open & ((1u << VM_MAX_CHANNELS) - 1u) & ~(except >= 0 ? 1u << except : 0u);
}

/* (Only the open channels are visited: usually just the basic one.) */
static int inst_active_except(const vm_runtime *rt, int inst, int except)
{
    for (uint32_t m = open_channels_except(rt, except); m; m &= m - 1)
        if (rt->chan_sel[__builtin_ctz(m)] == inst)
            return 1;
    return 0;
}

static int pkg_active_except(const vm_runtime *rt, unsigned slot, int except)
{
    for (uint32_t m = open_channels_except(rt, except); m; m &= m - 1) {
        int sel = rt->chan_sel[__builtin_ctz(m)];
        if (sel >= 0 && rt->insts[sel].pkg == slot)
            return 1;
    }
    return 0;
}

int vm_instance_active(const vm_runtime *rt, int inst)
{
    return inst >= 0 && inst_active_except(rt, inst, -1);
}

/* The class id of javacard.framework.MultiSelectable, 0xFFFF if unknown. */
static uint16_t multiselectable_id(void)
{
    const jc_api_class *c = jc_api_class_by_name("javacard/framework/MultiSelectable", NULL);
    return c ? vm_api_class_id(c) : 0xFFFF;
}

static int is_multiselectable(const vm_runtime *rt, int inst)
{
    const vm_inst *in = &rt->insts[inst];
    return in->obj < rt->obj_cap && vm_cap_class_is(rt, rt->objs[in->obj].cls, multiselectable_id());
}

/* Run MultiSelectable.select/deselect(flag) (method token 0 / 1) of an
 * instance as the JCRE does at selection time. */
static int run_multiselect(vm_runtime *rt, int inst, uint8_t mtok, int flag, uint16_t *ok, uint16_t *sw)
{
    vm_inst *in = &rt->insts[inst];
    uint16_t args[2] = { in->obj, (uint16_t)(flag ? 1 : 0) };
    rt->ctx = in->pkg;
    rt->active_inst = (int8_t)inst;
    rt->ctx_depth = 0;
    uint16_t ret = 0;
    int r = vm_call_interface(rt, multiselectable_id(), mtok, args, 2, &ret);
    rt->thrown = 0;
    if (r < 0 && r != VM_ERR_STATE)
        return r;
    if (rt->tx_open) {
        int rc = vm_tx_abort(rt);
        if (rc < 0)
            return rc;
    }
    *sw = r == 0 ? VM_SW_OK : VM_SW_UNKNOWN;
    if (ok)
        *ok = ret;
    return VM_OK;
}

/* Deselect the applet selected on the current channel (rt->channel). */
static int deselect_current(vm_runtime *rt)
{
    int idx = rt->selected;
    if (idx < 0)
        return VM_OK;
    vm_inst *in = &rt->insts[idx];
    rt->chan_sel[rt->channel] = -1;
    rt->selected = -1;
    int still_inst = inst_active_except(rt, idx, -1), still_pkg = pkg_active_except(rt, in->pkg, -1);
    int rc = VM_OK;
    cap_target t;
    uint16_t sw;
    rt->resp = NULL;
    rt->resp_cap = 0;
    if (still_pkg && is_multiselectable(rt, idx)) {
        rc = run_multiselect(rt, idx, 1, still_inst, NULL, &sw);
    } else {
        cap_xmethod *xm;
        if (cap_applet_entry(rt, idx, VM_APPLET_DESELECT, &t, &xm) == 0) {
            uint16_t args[1] = { in->obj };
            if (is_api_default(&t, VM_APPLET_DESELECT))
                enter_without_running(rt, in->pkg, idx);
            else
                rc = run_cap_x(rt, VM_ENTRY_DESELECT, in->pkg, idx, t, xm, args, 1, NULL, &sw);
        }
    }
    /* the package's context stays active while one of its applets is
     * selected on another channel: its CLEAR_ON_DESELECT memory stays */
    if (!still_pkg)
        clear_deselect_transients(rt, in->pkg);
    return rc < 0 ? rc : VM_OK;
}

/* Make `ch` the channel of the command now running. */
static void use_channel(vm_runtime *rt, uint8_t ch)
{
    rt->channel = ch;
    rt->selected = rt->chan_sel[ch];
}

int vm_deselect(vm_runtime *rt)
{
    use_channel(rt, 0);
    return deselect_current(rt);
}

/* `prepared`: 1 when the command is already in the APDU buffer (the
 * SELECT whose select() has run), 0 to load it, -1 when loading it failed. */
static int process_common(vm_runtime *rt, unsigned slot, const uint16_t *args, unsigned nargs,
                          const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_cap, size_t *resp_len,
                          uint16_t *sw, int prepared)
{
    *resp_len = 0;
    if (prepared < 0 || (!prepared && apdu_setup(rt, apdu, apdu_len, resp, resp_cap) != 0)) {
        rt->apdu_cmd = NULL;
        *sw = 0x6700;
        return VM_OK;
    }
    cap_target t;
    cap_xmethod *xm;
    if (rt->selected < 0 || cap_applet_entry(rt, rt->selected, VM_APPLET_PROCESS, &t, &xm) != 0) {
        *sw = VM_SW_UNKNOWN;
        return VM_OK;
    }
    int rc = run_cap_x(rt, VM_ENTRY_PROCESS, slot, rt->selected, t, xm, args, nargs, NULL, sw);
    if (rc < 0)
        return rc;
    /* The data sent stays part of the response only on success, like a card
     * that sends data and SW together. */
    *resp_len = *sw == VM_SW_OK ? rt->resp_len : 0;
    rt->resp = NULL;
    rt->apdu_cmd = NULL;
    return VM_OK;
}

static int select_instance_on(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                              uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

int vm_select_on(vm_runtime *rt, uint8_t channel, const uint8_t *aid, uint8_t aid_len, const uint8_t *apdu,
                 size_t apdu_len, uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    if (resp_len)
        *resp_len = 0;
    if (!aid || !sw || aid_len > VM_AID_MAX)
        return VM_ERR_ARG;
    return vm_select_index_on(rt, channel, find_instance(rt, aid, aid_len, 1), apdu, apdu_len, resp, resp_cap,
                              resp_len, sw);
}

int vm_select_index_on(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                       uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    if (resp_len)
        *resp_len = 0;
    if (!sw)
        return VM_ERR_ARG;
    if (channel >= VM_MAX_CHANNELS || !(rt->chan_open & (1u << channel))) {
        *sw = 0x6881;
        return VM_OK;
    }
    use_channel(rt, channel);
    if (idx < 0 || idx >= VM_MAX_INSTANCES || !inst_live(rt, (unsigned)idx)) {
        *sw = VM_SW_NOT_FOUND;
        return VM_OK;
    }
    return select_instance_on(rt, channel, idx, apdu, apdu_len, resp, resp_cap, resp_len, sw);
}

static int select_instance(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                           uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

/* Select instance `idx` on `channel` (open, and the current one). The
 * instance already selected there is deselected and selected again (JCRE
 * 3.0.5 4.6: a SELECT of "a different (or the same) applet instance"
 * deselects), with Applet.reSelectingApplet() true in its deselect(),
 * select() and process() of that SELECT. */
static int select_instance_on(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                              uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    rt->reselecting = rt->chan_sel[channel] == idx;
    int rc = select_instance(rt, channel, idx, apdu, apdu_len, resp, resp_cap, resp_len, sw);
    rt->reselecting = 0;
    return rc;
}

static int select_instance(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                           uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    /* active elsewhere: the instance itself, or its package through
     * another applet; both need MultiSelectable */
    int other_inst = inst_active_except(rt, idx, channel);
    int other_pkg = pkg_active_except(rt, rt->insts[idx].pkg, channel);
    if (other_pkg && !is_multiselectable(rt, idx)) {
        *sw = 0x6985;
        return VM_OK;
    }
    int rc = deselect_current(rt);
    if (rc < 0)
        return rc;
    /* select() already sees the SELECT command (APDU.getCLAChannel...),
     * and process() goes on with the same APDU */
    int prepared = 0;
    if (apdu)
        prepared = apdu_setup(rt, apdu, apdu_len, resp, resp_cap) == 0 ? 1 : -1;
    vm_inst *in = &rt->insts[idx];
    uint16_t args[2] = { in->obj, VM_H_APDU };
    cap_target st;
    cap_xmethod *sxm;
    {
        uint16_t ok = 0, ssw;
        rt->resp = NULL;
        rt->resp_cap = 0;
        rt->selecting = 1;
        if (other_pkg) {
            rc = run_multiselect(rt, idx, 0, other_inst, &ok, &ssw);
            if (rc < 0) {
                rt->selecting = 0;
                return rc;
            }
        } else if (cap_applet_entry(rt, idx, VM_APPLET_SELECT, &st, &sxm) != 0) {
            ssw = VM_SW_UNKNOWN;
        } else if (is_api_default(&st, VM_APPLET_SELECT)) {
            enter_without_running(rt, in->pkg, idx);
            ok = 1;
            ssw = VM_SW_OK;
        } else {
            rc = run_cap_x(rt, VM_ENTRY_SELECT, in->pkg, idx, st, sxm, args, 1, &ok, &ssw);
            if (rc < 0) {
                rt->selecting = 0;
                return rc;
            }
        }
        rt->selecting = 0;
        if (ssw != VM_SW_OK || !ok) {
            if (!other_pkg)
                clear_deselect_transients(rt, in->pkg);
            rt->apdu_cmd = NULL;
            *sw = VM_SW_SELECT_FAILED;
            return VM_OK;
        }
    }
    rt->selected = idx;
    rt->chan_sel[channel] = (int8_t)idx;
    if (!apdu) {
        *sw = VM_SW_OK;
        return VM_OK;
    }
    size_t dummy;
    rt->selecting = 1;
    /* select() had no response sink; process() has */
    rt->resp = resp;
    rt->resp_cap = resp_cap;
    rt->resp_len = 0;
    rc = process_common(rt, in->pkg, args, 2, apdu, apdu_len, resp, resp_cap, resp_len ? resp_len : &dummy, sw,
                        prepared);
    rt->selecting = 0;
    return rc;
}

int vm_select(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len, const uint8_t *apdu, size_t apdu_len,
              uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    return vm_select_on(rt, 0, aid, aid_len, apdu, apdu_len, resp, resp_cap, resp_len, sw);
}

int vm_process_on(vm_runtime *rt, uint8_t channel, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                  size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    if (!resp_len || !sw)
        return VM_ERR_ARG;
    *resp_len = 0;
    if (channel >= VM_MAX_CHANNELS || !(rt->chan_open & (1u << channel))) {
        *sw = 0x6881;
        return VM_OK;
    }
    use_channel(rt, channel);
    if (rt->selected < 0) {
        *sw = VM_SW_SELECT_FAILED;
        return VM_OK;
    }
    vm_inst *in = &rt->insts[rt->selected];
    if (is_extended_command(apdu, apdu_len) &&
        (!implements_extended_length(rt, rt->selected) ||
         (rt->pkgs[in->pkg].cap && extended_nc_too_long(apdu, apdu_len)))) {
        *sw = 0x6700;
        return VM_OK;
    }
    uint16_t args[2] = { in->obj, VM_H_APDU };
    return process_common(rt, in->pkg, args, 2, apdu, apdu_len, resp, resp_cap, resp_len, sw, 0);
}

int vm_process(vm_runtime *rt, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_cap,
               size_t *resp_len, uint16_t *sw)
{
    return vm_process_on(rt, 0, apdu, apdu_len, resp, resp_cap, resp_len, sw);
}

int vm_channel_is_open(const vm_runtime *rt, uint8_t channel)
{
    return channel < VM_MAX_CHANNELS && (rt->chan_open & (1u << channel)) != 0;
}

int vm_channel_has_applet(const vm_runtime *rt, uint8_t channel)
{
    return vm_channel_is_open(rt, channel) && rt->chan_sel[channel] >= 0;
}

int vm_deselect_on(vm_runtime *rt, uint8_t channel)
{
    if (!vm_channel_is_open(rt, channel))
        return VM_OK;
    use_channel(rt, channel);
    return deselect_current(rt);
}

/* Close an open supplementary channel, deselecting its applet. */
static int close_channel(vm_runtime *rt, uint8_t origin, uint8_t ch)
{
    use_channel(rt, ch);
    int rc = deselect_current(rt);
    use_channel(rt, origin);
    rt->chan_open &= ~(1u << ch);
    rt->chan_sel[ch] = -1;
    return rc;
}

int vm_manage_channel(vm_runtime *rt, uint8_t channel, uint8_t p1, uint8_t p2, uint8_t *resp, size_t resp_cap,
                      size_t *resp_len, uint16_t *sw)
{
    if (!sw || !resp_len)
        return VM_ERR_ARG;
    *resp_len = 0;
    if (!vm_channel_is_open(rt, channel)) {
        *sw = 0x6881;
        return VM_OK;
    }
    if (p1 == 0x00) {
        unsigned ch = p2;
        if (ch == 0) {
            for (ch = 1; ch < VM_MAX_CHANNELS && (rt->chan_open & (1u << ch)); ch++)
                ;
            if (ch == VM_MAX_CHANNELS) {
                *sw = 0x6A81;
                return VM_OK;
            }
            if (!resp || resp_cap < 1) {
                *sw = 0x6700;
                return VM_OK;
            }
        } else if (ch >= VM_MAX_CHANNELS || (rt->chan_open & (1u << ch))) {
            *sw = 0x6A86;
            return VM_OK;
        }
        rt->chan_open |= 1u << ch;
        rt->chan_sel[ch] = -1;
        /* JCRE 4.5.1: opened from a supplementary channel, the applet
         * active there becomes active on the new one too (multiselection
         * rules apply); from the basic channel, the default applet, which
         * the VM does not have. A refused selection closes the channel. */
        int origin_inst = channel ? rt->chan_sel[channel] : -1;
        if (origin_inst >= 0) {
            /* select() runs during the MANAGE CHANNEL command: its class
             * (the origin channel) is the one APDU.getCLAChannel() sees */
            rt->apdu_cla = channel < 4 ? channel : (uint8_t)(0x40 | (channel - 4));
            use_channel(rt, (uint8_t)ch);
            size_t dummy = 0;
            int rc = select_instance_on(rt, (uint8_t)ch, origin_inst, NULL, 0, NULL, 0, &dummy, sw);
            if (rc < 0)
                return rc;
            if (*sw != VM_SW_OK) {
                rt->chan_open &= ~(1u << ch);
                rt->chan_sel[ch] = -1;
                use_channel(rt, channel);
                return VM_OK;
            }
            use_channel(rt, channel);
        }
        if (p2 == 0) {
            resp[0] = (uint8_t)ch;
            *resp_len = 1;
        }
        *sw = VM_SW_OK;
        return VM_OK;
    }
    if (p1 == 0x80) {
        /* JCRE 4.6.1: the basic channel or a number past 19 is an error,
         * a channel already closed a warning (GPCS 11.7.3.2: 6200) */
        if (p2 == 0 || p2 >= VM_MAX_CHANNELS) {
            *sw = 0x6A81;
            return VM_OK;
        }
        if (!(rt->chan_open & (1u << p2))) {
            *sw = 0x6200;
            return VM_OK;
        }
        int rc = close_channel(rt, channel, p2);
        if (rc < 0)
            return rc;
        *sw = VM_SW_OK;
        return VM_OK;
    }
    *sw = 0x6A81;   /* JCRE 4.5.1 / 4.6.1: P1 neither 00 nor 80 */
    return VM_OK;
}

int vm_invoke(vm_runtime *rt, const uint8_t *pkg_aid, uint8_t pkg_aid_len, uint16_t method, const uint8_t *apdu,
              size_t apdu_len, uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw)
{
    if (!resp_len || !sw)
        return VM_ERR_ARG;
    int s = find_package(rt, pkg_aid, pkg_aid_len);
    if (s < 0)
        return VM_ERR_NOTFOUND;
    uint16_t args[1] = { VM_H_APDU };
    /* method: exported class token (high byte), its public static method
     * token (low byte); a `static void m(APDU)` */
    cap_target t;
    cap_method_header h;
    if (!rt->pkgs[s].cap || vm_cap_export_static(rt, (unsigned)s, (uint8_t)(method >> 8), (uint8_t)method, &t) != 0 ||
        cap_method_header_at(&rt->pkgs[s].cap->view, t.offset, &h) != 0 || h.nargs != 1 ||
        (h.flags & CAP_ACC_ABSTRACT))
        return VM_ERR_ARG;
    *resp_len = 0;
    if (apdu_setup(rt, apdu, apdu_len, resp, resp_cap) != 0) {
        rt->apdu_cmd = NULL;
        *sw = 0x6700;
        return VM_OK;
    }
    int rc = run_cap(rt, VM_ENTRY_INVOKE, (unsigned)s, -1, t, args, 1, NULL, sw);
    if (rc < 0)
        return rc;
    *resp_len = *sw == VM_SW_OK ? rt->resp_len : 0;
    rt->resp = NULL;
    rt->apdu_cmd = NULL;
    return VM_OK;
}

/* ---- install / delete instances ---- */

int vm_register_instance(vm_runtime *rt, uint16_t obj)
{
    if (!rt->installing || rt->inst_registered >= 0)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
    if (obj == 0 || obj >= rt->obj_cap)
        return vm_set_reason(rt, VM_SC_NullPointerException, 0);
    const vm_obj *o = &rt->objs[obj];
    /* any applet object of the package being installed */
    if (o->kind != VM_OBJ_INSTANCE || o->pkg != rt->inst_pkg || !vm_cls_is_user(o->cls) ||
        ((o->cls >> 8) & 0x7Fu) != rt->inst_pkg || !vm_cap_class_is(rt, o->cls, VM_SC_Applet))
        return vm_set_reason(rt, VM_SC_SecurityException, 0);
    int idx = -1;
    for (unsigned i = 0; i < VM_MAX_INSTANCES && idx < 0; i++)
        if (!rt->insts[i].used)
            idx = (int)i;
    if (idx < 0)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
    uint8_t rec[VM_INST_REC_SIZE] = { 0 };
    rec[0] = rt->inst_aid.len;
    memcpy(rec + 1, rt->inst_aid.b, rt->inst_aid.len);
    rec[17] = rt->inst_pkg;
    rec[18] = rt->inst_applet;
    vm_wr16(rec + 20, obj);
    uint32_t off;
    int rc = chip_nvm_alloc(rt->chip, VM_TAG_INSTANCE, (uint16_t)idx, sizeof rec, &off);
    if (rc == CHIP_ERR_FULL)
        return vm_set_reason(rt, VM_SC_SystemException, VM_SYS_NO_RESOURCE);
    if (rc != CHIP_OK)
        return chip_rc(rc);
    if ((rc = chip_rc(chip_nvm_write(rt->chip, off, rec, sizeof rec))) != VM_OK)
        return rc;
    vm_inst *in = &rt->insts[idx];
    in->used = 1;
    in->aid = rt->inst_aid;
    in->pkg = rt->inst_pkg;
    in->applet = rt->inst_applet;
    in->obj = obj;
    in->rec_off = off;
    rt->inst_registered = idx;
    return VM_OK;
}

int vm_install(vm_runtime *rt, const uint8_t *pkg_aid, uint8_t pkg_aid_len, const uint8_t *applet_aid,
               uint8_t applet_aid_len, const uint8_t *instance_aid, uint8_t instance_aid_len,
               const uint8_t *params, uint8_t params_len, uint16_t *sw)
{
    if (!sw || !applet_aid)
        return VM_ERR_ARG;
    int s = find_package(rt, pkg_aid, pkg_aid_len);
    if (s < 0)
        return VM_ERR_NOTFOUND;
    const cap_pkg *cp = rt->pkgs[s].cap;
    int ai = -1;
    for (unsigned i = 0; cp && i < cp->view.applet_count && i < VM_MAX_APPLETS; i++)
        if (cp->view.applets[i].aid.len == applet_aid_len &&
            !memcmp(cp->view.applets[i].aid.b, applet_aid, applet_aid_len))
            ai = (int)i;
    if (ai < 0)
        return VM_ERR_NOTFOUND;
    if (!instance_aid_len) {
        instance_aid = applet_aid;
        instance_aid_len = applet_aid_len;
    }
    if (instance_aid_len < VM_AID_MIN || instance_aid_len > VM_AID_MAX)
        return VM_ERR_ARG;
    if (find_instance(rt, instance_aid, instance_aid_len, 0) >= 0)
        return VM_ERR_EXISTS;

    if (params_len)
        memcpy(vm_ram(rt) + VM_RAM_INSTALL, params, params_len);
    rt->objs[VM_H_INSTALL_ARRAY].length = params_len;
    rt->installing = 1;
    rt->inst_pkg = (uint8_t)s;
    rt->inst_applet = (uint8_t)ai;
    rt->inst_aid.len = instance_aid_len;
    memcpy(rt->inst_aid.b, instance_aid, instance_aid_len);
    rt->inst_registered = -1;
    rt->guard = 1;
    rt->log_len = 0;
    rt->resp = NULL;
    rt->resp_cap = 0;

    uint16_t args[3] = { VM_H_INSTALL_ARRAY, 0, params_len };
    cap_target t = { NULL, cp->view.applets[ai].install_offset, (uint8_t)s, 0 };
    int rc = run_cap(rt, VM_ENTRY_INSTALL, (unsigned)s, -1, t, args, 3, NULL, sw);
    if (rc >= 0 && *sw == VM_SW_OK && rt->inst_registered < 0) {
        *sw = VM_SW_UNKNOWN;   /* install() did not call register() */
        vm_fault_finish(rt, VM_RUN_NO_REGISTER, VM_ENTRY_INSTALL, *sw);
    }
    if (rc >= 0 && *sw != VM_SW_OK) {
        /* Leave nothing behind: drop the instance record, undo the writes
         * and free the objects the install made. */
        if (rt->inst_registered >= 0) {
            vm_inst *in = &rt->insts[rt->inst_registered];
            rc = chip_rc(chip_nvm_free(rt->chip, in->rec_off));
            memset(in, 0, sizeof *in);
            memset(rt->inst_meth, 0, sizeof rt->inst_meth);
        }
        if (rc >= 0)
            rc = undo_to(rt, 0);
    }
    rt->guard = 0;
    rt->log_len = 0;
    rt->installing = 0;
    memset(vm_ram(rt) + VM_RAM_INSTALL, 0, VM_INSTALL_ARRAY_SIZE);
    rt->objs[VM_H_INSTALL_ARRAY].length = 0;
    return rc < 0 ? rc : VM_OK;
}

int vm_delete_instance(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len)
{
    int idx = find_instance(rt, aid, aid_len, 0);
    if (idx < 0)
        return VM_ERR_NOTFOUND;
    for (uint8_t c = 0; c < VM_MAX_CHANNELS; c++) {
        if (!(rt->chan_open & (1u << c)) || rt->chan_sel[c] != idx)
            continue;
        use_channel(rt, c);
        int rc = deselect_current(rt);
        if (rc < 0)
            return rc;
    }
    use_channel(rt, 0);
    int rc = chip_rc(chip_nvm_free(rt->chip, rt->insts[idx].rec_off));
    if (rc)
        return rc;
    memset(&rt->insts[idx], 0, sizeof rt->insts[idx]);
    memset(rt->inst_meth, 0, sizeof rt->inst_meth);
    return VM_OK;
}
