/*
 * vm_internal.h — the runtime's state, shared by runtime.c (memory,
 * packages, applets, transactions), interp.c (the dispatch loop) and
 * natives.c (the native API). Not a public header.
 *
 * Where things live:
 *   NVM   one chip heap block per package (record header, the package blob,
 *         then its static fields), per object (header, then the elements or
 *         fields), per applet instance. Tags VM_TAG_*; the block id is the
 *         package slot, the object handle, or the instance number.
 *   RAM   one chip RAM block reserved at vm_create: the APDU buffer, the
 *         install parameter array, then the transient arena (transient
 *         arrays' contents and OwnerPIN validated flags).
 *   host  caches rebuilt from NVM by vm_reset: the handle table (handle ->
 *         where the object's data is), loaded packages (a verified copy of
 *         the blob and the resolved constant pool), instances; plus the
 *         per-command state (stacks, transaction log, APDU state).
 */
#ifndef CARDVM_VM_INTERNAL_H
#define CARDVM_VM_INTERNAL_H

#include <stdint.h>
#include "chip.h"
#include "package.h"
#include "vm.h"

#define VM_TAG_PACKAGE  0x5601u
#define VM_TAG_OBJECT   0x5602u
#define VM_TAG_INSTANCE 0x5603u
#define VM_TAG_ROMPKG   0x5604u  /* statics of a masked (ROM) package */

#define VM_MAX_PACKAGES 32      /* slots 1..32; 0 is the system (JCRE) */
#define VM_MAX_INSTANCES 32

/* Values are stored big-endian everywhere (NVM and RAM), like Java Card
 * byte arrays, so a card image means the same on every host. */
static inline uint16_t vm_rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void vm_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ---- objects ---- */

enum vm_obj_kind {
    VM_OBJ_FREE = 0,
    VM_OBJ_BYTES = 1,     /* byte[] : 1 byte per element */
    VM_OBJ_BOOLS = 2,     /* boolean[] : 1 byte per element */
    VM_OBJ_SHORTS = 3,    /* short[] : 2 bytes per element */
    VM_OBJ_REFS = 4,      /* Object[] : 2 bytes (handle) per element; cls = element class */
    VM_OBJ_INSTANCE = 5,  /* instance of a package class: `length` 2-byte fields */
    VM_OBJ_PIN = 6,       /* OwnerPIN (see natives.c for the layout) */
    VM_OBJ_SYSTEM = 7,    /* APDU object, exception singletons */
};

enum vm_obj_flags {
    VM_OF_PERSISTENT = 1,      /* data in NVM: writes go through the chip */
    VM_OF_CLEAR_RESET = 2,     /* transient, cleared on reset */
    VM_OF_CLEAR_DESELECT = 4,  /* transient, cleared on deselect (and reset) */
    VM_OF_GLOBAL = 8,          /* reachable from every context (APDU buffer...) */
};

/* NVM object block: this header, then the data (persistent objects). */
#define VM_OBJ_HDR 12   /* kind, flags, pkg, 0, cls u16, length u16, ram u32 */

typedef struct vm_obj {
    uint8_t *data;       /* elements/fields: NVM view (read only!) or RAM */
    uint32_t nvm_off;    /* payload offset of the NVM block, 0 if none */
    uint16_t length;     /* elements, or fields */
    uint16_t cls;        /* class id (instances, system objects, ref arrays) */
    uint8_t kind;        /* enum vm_obj_kind */
    uint8_t flags;       /* enum vm_obj_flags */
    uint8_t pkg;         /* owner package slot (firewall context), 0 = system */
    uint8_t pad;
    uint32_t ram_off;    /* transient part: offset in the VM RAM block */
    uint32_t ram_len;
    uint32_t nvm_size;   /* payload bytes of the NVM block (accounting) */
    uint32_t pad2;
} vm_obj;

/* Fixed handles of system objects. Handle 0 is null. */
enum {
    VM_H_NULL = 0,
    VM_H_APDU_BUFFER = 1,
    VM_H_INSTALL_ARRAY = 2,
    VM_H_APDU = 3,
    VM_H_EXC_FIRST = 4,  /* one singleton per throwable system class */
    VM_H_FIRST_DYNAMIC = VM_H_EXC_FIRST + (VM_SC_LAST_THROWABLE - VM_SC_FIRST_THROWABLE + 1),
};

/* VM RAM block layout. */
#define VM_RAM_APDU 0u
#define VM_APDU_BUFFER_SIZE 261u
#define VM_RAM_INSTALL 264u
#define VM_INSTALL_ARRAY_SIZE 256u
#define VM_RAM_ARENA 520u
#define VM_RAM_GRANULE 8u

/* ---- packages and instances ---- */

/* A resolved constant pool entry, ready for the dispatch loop:
 *   CLASS    a = class id
 *   IFIELD   a = class index, b = field slot
 *   SFIELD   a = static index (the word at statics + 2a)
 *   SMETHOD  a = method index
 *   VMETHOD  a = class index, b = vtable slot, c = method the slot holds
 *            in that class (gives the expected nargs/flags)
 *   NATIVE   a = token, b = argument words, c = 1 if it returns a word */
typedef struct vm_cpr {
    uint16_t a, b, c;
    uint8_t tag;
    uint8_t pad;
} vm_cpr;

/* Translated code (interp.c): each method is translated, at its first call,
 * into an array of ops for direct threading: the handler address, operands
 * decoded (locals, constants, resolved statics and field slots), branch
 * targets resolved to ops, and common bytecode sequences fused into
 * superinstructions. `pc` is the offset of the op's first original
 * instruction (exception ranges and the rare ops read it; code_len is
 * 16-bit); `chain` is the number of original
 * bytecodes from this op to the next control transfer, charged to the
 * budget when the op is entered by a jump, call or handler. */
typedef struct vm_xop {
    const void *h;                /* handler (label address, or id) */
    union {
        const struct vm_xop *t;   /* branch target */
        int32_t k;                /* extra immediate */
        uint32_t m;               /* reciprocal for srem by a constant */
    } u;
    int16_t a, b, c, d, e;        /* decoded operands */
    uint16_t pc;
    uint16_t chain;
} vm_xop;

typedef struct vm_xmeth {
    vm_xop *ops;                  /* NULL until first call */
    uint16_t *map;                /* original pc -> op index (instruction starts) */
} vm_xmeth;

typedef struct vm_lpkg {
    uint8_t used;
    uint8_t privileged;
    uint8_t masked;          /* blob executed in place from ROM */
    const uint8_t *blob;     /* verified host copy, or the ROM view */
    vm_package pkg;
    vm_cpr *cpr;
    vm_xmeth *x;             /* per method, translated lazily (interp.c) */
    uint32_t rec_off;        /* NVM payload offset of the package record */
    uint32_t statics_off;    /* NVM offset of the static words */
    uint32_t nvm_used;       /* NVM bytes owned (blocks' payloads) */
    uint32_t ram_used;
} vm_lpkg;

/* NVM package record: flags u8, slot u8, 0 u16, blob length u32, blob,
 * static words. */
#define VM_PKG_REC_HDR 8

/* NVM record of a masked package (VM_TAG_ROMPKG, id = its slot, which it
 * keeps for the life of the card): flags u8 (2), slot u8, 0 u16, ROM offset
 * u32, length u32, aid len u8, aid[16], 0[3], then the static words. The
 * blob stays in ROM; vm_reset re-attaches it from this record. */
#define VM_ROMPKG_REC_HDR 32

typedef struct vm_rom_region {
    uint32_t off, len;
} vm_rom_region;

typedef struct vm_inst {
    uint8_t used;
    vm_aid aid;
    uint8_t pkg;             /* package slot */
    uint8_t applet;          /* index in the package's applet table */
    uint16_t obj;            /* the registered applet object */
    uint32_t rec_off;
} vm_inst;

/* NVM instance record: aid len u8, aid[16], pkg u8, applet u8, 0 u8,
 * object u16. */
#define VM_INST_REC_SIZE 22

/* ---- execution ---- */

typedef struct vm_frame {
    const vm_method *m;
    const uint8_t *code;
    const vm_xmeth *x;       /* its translation */
    const vm_xop *ip;        /* the invoke op, while suspended */
    uint16_t *lv;            /* locals (the arguments first) */
    uint16_t *base;          /* operand stack bottom */
    const vm_lpkg *pkg;      /* whose constant pool the code uses */
} vm_frame;

struct vm_native_call {
    vm_runtime *rt;
    uint16_t *args;
    uint16_t ret;
    uint16_t nargs;
    int result;              /* 0 or an exception class */
};

/* Outcome of running bytecode. */
enum vm_run_result {
    VM_RUN_DONE = 0,         /* returned normally */
    VM_RUN_THROWN = 1,       /* uncaught exception, handle in rt->uncaught */
    VM_RUN_BUDGET = 2,       /* instruction budget exhausted */
};

struct vm_runtime {
    chip *chip;
    vm_config cfg;
    const uint8_t *nvm;      /* chip_nvm_view */
    uint32_t ram_base;       /* offset of our block in chip RAM */
    uint32_t ram_size;
    uint8_t *ram_map;        /* one byte per arena granule: 1 = used */
    uint32_t ram_granules;

    vm_obj *objs;            /* handle table, indexed by handle */
    uint32_t obj_cap;
    uint32_t obj_live;
    uint32_t obj_hint;       /* where to start looking for a free handle */

    vm_lpkg pkgs[VM_MAX_PACKAGES + 1];
    /* masked packages: the ROM regions registered (re-attached by vm_reset)
     * and, per slot, the payload offset of its VM_TAG_ROMPKG record (0 =
     * none; such a slot is reserved even before its package is registered) */
    vm_rom_region rom[VM_MAX_PACKAGES];
    unsigned rom_count;
    uint32_t rom_rec[VM_MAX_PACKAGES + 1];
    uint32_t rom_rec_size[VM_MAX_PACKAGES + 1];
    vm_inst insts[VM_MAX_INSTANCES];
    int selected;            /* instance index, -1 = none */
    const vm_extension *ext;

    /* stacks of the running command */
    uint16_t *stack;
    vm_frame *frames;

    /* transaction / install undo log */
    uint8_t tx_open;
    uint8_t guard;           /* vm_install: log every write, undo on failure */
    uint8_t *log;
    uint32_t log_len, log_cap;
    uint32_t tx_mark;        /* log length at beginTransaction */
    uint32_t tx_bytes;       /* old-value bytes logged in the open transaction */

    /* current command */
    uint8_t ctx;             /* firewall context: package slot */
    uint8_t selecting;
    uint8_t apdu_state;      /* see natives.c */
    uint16_t apdu_len;       /* bytes of command in the buffer */
    uint16_t apdu_lc, apdu_le;
    uint8_t *resp;
    size_t resp_cap, resp_len;
    uint16_t uncaught;       /* handle of the uncaught exception */
    uint16_t exc_reason[VM_SC_COUNT];

    /* vm_install in progress */
    int installing;          /* 1 while install() runs */
    uint8_t inst_pkg, inst_applet;
    vm_aid inst_aid;
    int inst_registered;     /* instance index registered, -1 */

    uint32_t budget;
    uint64_t executed, last_executed;
};

/* RAM of the VM block. */
static inline uint8_t *vm_ram(vm_runtime *rt) { return chip_ram(rt->chip) + rt->ram_base; }

/* runtime.c */
int vm_nvm_store(vm_runtime *rt, uint32_t nvm_off, const void *src, uint32_t len, int logged);
int vm_obj_store(vm_runtime *rt, vm_obj *o, uint32_t byte_off, const void *src, uint32_t len, int logged);
int vm_obj_fill(vm_runtime *rt, vm_obj *o, uint32_t byte_off, uint8_t value, uint32_t len);
/* Allocate an object owned by the current context. Returns 0 and the handle,
 * or an exception class (SystemException NO_RESOURCE...), or <0 fatal. */
int vm_alloc(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t cls, uint16_t length,
             uint32_t data_bytes, uint32_t ram_bytes, uint16_t *handle);
int vm_tx_begin(vm_runtime *rt);
int vm_tx_commit(vm_runtime *rt);
int vm_tx_abort(vm_runtime *rt);
int vm_set_reason(vm_runtime *rt, uint16_t cls, uint16_t reason);  /* returns cls */
uint32_t vm_ram_free(vm_runtime *rt);
int vm_register_instance(vm_runtime *rt, uint16_t obj);
int vm_is_instance_of(const vm_runtime *rt, const vm_lpkg *pkg, uint16_t cls, uint16_t target);

/* interp.c */
void vm_xfree(vm_lpkg *lp);   /* drop the translations of a package */
int vm_run(vm_runtime *rt, const vm_lpkg *pkg, uint16_t method, const uint16_t *args, unsigned nargs,
           uint16_t *ret);

/* natives.c */
int vm_native(vm_runtime *rt, uint16_t token, uint16_t *args, uint16_t *ret);
void vm_crypto_init(void);

/* SystemException / TransactionException reasons (Java Card values). */
#define VM_SYS_ILLEGAL_VALUE 1
#define VM_SYS_NO_TRANSIENT_SPACE 3
#define VM_SYS_ILLEGAL_TRANSIENT 4
#define VM_SYS_NO_RESOURCE 6
#define VM_TX_IN_PROGRESS 1
#define VM_TX_NOT_IN_PROGRESS 2
#define VM_TX_BUFFER_FULL 3
#define VM_CRYPTO_ILLEGAL_VALUE 1

#endif
