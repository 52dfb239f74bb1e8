/*
 * vm_internal.h — the runtime's state, shared by runtime.c (memory,
 * packages, applets, transactions), the CAP engine (cap_link.c,
 * cap_xlat.c, cap_run.c) and the API in C (api_*.c). Not a public header.
 *
 * Where things live:
 *   NVM   one chip heap block per package (record header, the CAP load
 *         file, then its static field image), per object (header, then the elements or
 *         fields), per applet instance. Tags VM_TAG_*; the block id is the
 *         package slot, the object handle, or the instance number.
 *   RAM   one chip RAM block reserved at vm_create: the APDU buffer, the
 *         install parameter array, then the transient arena (transient
 *         arrays' contents and OwnerPIN validated flags).
 *   host  caches rebuilt from NVM by vm_reset: the handle table (handle ->
 *         where the object's data is), loaded packages (a verified copy of
 *         the load file and its linked model), instances; plus the
 *         per-command state (stacks, transaction log, APDU state).
 */
#ifndef CARDVM_VM_INTERNAL_H
#define CARDVM_VM_INTERNAL_H

#include <stdint.h>
#include "api_tokens.h"
#include "cap_format.h"
#include "chip.h"
#include "vm.h"

#define VM_TAG_PACKAGE  0x5601u
#define VM_TAG_OBJECT   0x5602u
#define VM_TAG_INSTANCE 0x5603u
#define VM_TAG_ROMPKG   0x5604u  /* statics of a masked (ROM) package */

#define VM_MAX_PACKAGES 32      /* slots 1..32; 0 is the system (JCRE) */
#define VM_MAX_INSTANCES 32
#define VM_MAX_IMPORTS 16       /* user-package imports a package record keeps */
#define VM_MAX_APPLETS 8        /* applet AIDs a package record keeps */

/* The JCRE's own classes: the classes of the objects the runtime makes
 * itself (the APDU object, the exception singletons, one per throwable
 * class: throwing never allocates) have these fixed ids; each stands for
 * the API class of the same simple name (cap_link.c). */
enum vm_sys_class {
    VM_SC_Object = 0x100,
    VM_SC_Throwable,
    VM_SC_Exception,
    VM_SC_RuntimeException,
    VM_SC_ArithmeticException,
    VM_SC_ArrayIndexOutOfBoundsException,
    VM_SC_NullPointerException,
    VM_SC_ClassCastException,
    VM_SC_NegativeArraySizeException,
    VM_SC_SecurityException,
    VM_SC_ArrayStoreException,
    VM_SC_CardRuntimeException,
    VM_SC_ISOException,
    VM_SC_SystemException,
    VM_SC_TransactionException,
    VM_SC_CryptoException,
    VM_SC_CardException,
    VM_SC_UserException,
    VM_SC_StackOverflowError,
    VM_SC_APDU,
    VM_SC_OwnerPIN,
    VM_SC_Applet,
    VM_SC_END
};
#define VM_SC_COUNT (VM_SC_END - VM_SC_Object)
/* Throwable system classes are VM_SC_Throwable..VM_SC_StackOverflowError. */
#define VM_SC_FIRST_THROWABLE VM_SC_Throwable
#define VM_SC_LAST_THROWABLE VM_SC_StackOverflowError
/* Simple name of a VM_SC_* id ("ISOException"), NULL for another id. */
const char *vm_sys_class_name(uint16_t id);

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
    /* 6 was a native OwnerPIN of the retired package format: the API's
     * OwnerPIN is a VM_OBJ_INSTANCE */
    VM_OBJ_SYSTEM = 7,    /* APDU object, exception singletons */
};

enum vm_obj_flags {
    VM_OF_PERSISTENT = 1,      /* data in NVM: writes go through the chip */
    VM_OF_CLEAR_RESET = 2,     /* transient, cleared on reset */
    VM_OF_CLEAR_DESELECT = 4,  /* transient, cleared on deselect (and reset) */
    VM_OF_GLOBAL = 8,          /* reachable from every context (APDU buffer...) */
    VM_OF_SENSITIVE = 16,      /* integrity-sensitive array (javacard.framework.SensitiveArrays):
                                  a CRC-16 of its element bytes follows them, written by
                                  vm_obj_store / vm_obj_fill in the same way as the data */
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

/* What the package-generic code (applets, imports, accounting) knows of a
 * package: its identity, read from the Header, Import and Applet
 * components when the package is attached. Code, classes and constant
 * pool live in the linked model (struct cap_pkg). */
typedef struct vm_pkg_identity {
    uint32_t len;            /* bytes of the load file */
    uint8_t kind;            /* enum vm_pkg_kind */
    uint8_t major, minor;
    vm_aid aid;
    uint8_t import_count;    /* user packages imported (API packages left out) */
    struct {
        vm_aid aid;
        uint8_t major, minor;
    } imports[VM_MAX_IMPORTS];
    uint8_t applet_count;
    vm_aid applets[VM_MAX_APPLETS];
} vm_pkg_identity;

struct cap_pkg;   /* a linked CAP package (below) */

typedef struct vm_lpkg {
    uint8_t used;
    uint8_t privileged;
    uint8_t masked;          /* load file executed in place from ROM */
    const uint8_t *blob;     /* verified host copy, or the ROM view */
    vm_pkg_identity pkg;
    uint32_t rec_off;        /* NVM payload offset of the package record */
    uint32_t statics_off;    /* NVM offset of the static words */
    uint32_t nvm_used;       /* NVM bytes owned (blocks' payloads) */
    uint32_t ram_used;
    /* its linked model (NULL until vm_cap_link) */
    struct cap_pkg *cap;
} vm_lpkg;

/* NVM package record: flags u8, slot u8, 0 u16, load file length u32,
 * the load file, the static field image. */
#define VM_PKG_REC_HDR 8

/* NVM record of a masked package (VM_TAG_ROMPKG, id = its slot, which it
 * keeps for the life of the card): flags u8 (2), slot u8, 0 u16, ROM offset
 * u32, length u32, aid len u8, aid[16], 0[3], then the static field image.
 * The load file stays in ROM; vm_reset re-attaches it from this record. */
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

struct vm_ext_call {
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

/* What a call site or method table entry reaches. */
typedef struct cap_target {
    const jc_api_method *api;   /* a built-in method (its fn may be NULL) */
    uint16_t offset;            /* else: method offset in package `slot`;
                                   0xFFFF: none (abstract) */
    uint8_t slot;
    uint8_t pad;
} cap_target;

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
    vm_rom_trust *rom_trust; /* masked packages verified before (rom_trust.c), or NULL */
    unsigned rom_verified;   /* masked packages this runtime ran the verifier on */
    uint32_t rom_rec[VM_MAX_PACKAGES + 1];
    uint32_t rom_rec_size[VM_MAX_PACKAGES + 1];
    vm_inst insts[VM_MAX_INSTANCES];
    int selected;            /* instance index, -1 = none */
    const vm_extension *ext;

    /* the word stack of the running command (frames: cap_run.c) */
    uint16_t *stack;

    /* transaction / install undo log */
    uint8_t tx_open;
    uint8_t guard;           /* vm_install: log every write, undo on failure */
    uint8_t *log;
    uint32_t log_len, log_cap;
    uint32_t tx_mark;        /* log length at beginTransaction */
    uint32_t tx_bytes;       /* old-value bytes logged in the open transaction */

    /* NVM store hook (vm.h); `writer` is kept only while one is set */
    vm_nvm_hook nvm_hook;
    void *nvm_hook_ctx;
    vm_nvm_writer writer;

    /* diagnostics (vm.h, vm_fault): the frames an exception or a budget
     * overrun unwinds, noted by the CAP loop as it leaves each method
     * (trail_exc: the handle being thrown, 0 for the budget), and the
     * finished record of the last failed applet call */
    vm_fault trail;
    uint16_t trail_exc;
    uint8_t trail_open;
    uint8_t fault_pending;
    vm_fault fault;

    /* current command */
    uint8_t ctx;             /* firewall context: package slot */
    uint8_t selecting;
    uint8_t reselecting;     /* a SELECT of the applet already selected on its channel (Applet.reSelectingApplet) */
    uint8_t apdu_state;      /* see api_framework.c */
    uint16_t apdu_len;       /* bytes of command in the buffer */
    uint16_t apdu_lc, apdu_le;
    uint16_t apdu_out_len;   /* APDU.setOutgoingLength (api_framework.c) */
    const uint8_t *apdu_cmd; /* the whole command while it runs (api_apdu_begin) */
    uint32_t apdu_cmd_len;
    uint16_t apdu_in_got;    /* command data bytes delivered to the applet */
    uint8_t apdu_cla;        /* CLA as received (the buffer may be overwritten) */
    uint8_t apdu_cdata;      /* offset of the command data: 5, or 7 (extended) */
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
    uint64_t native_entries;   /* vm_stats */

    /* CAP execution (cap_run.c) */
    uint16_t thrown;         /* object a hook's exception result refers to */
    uint16_t cap_top;        /* first free word of rt->stack (CAP frames) */
    uint16_t cap_depth;      /* CAP frames active */
    int64_t cap_budget;      /* bytecodes left in this command */
    struct {
        uint16_t cls, h, reason;
    } api_exc[16];           /* singletons of API exception classes */
    /* per-APDU speed: virtual methods of API classes by (class, token),
     * direct-mapped; the Applet method tokens (select, deselect,
     * process); VM_SC_* ids as API class ids. Filled lazily / at
     * vm_reset; const data only. */
    struct {
        uint16_t cls;
        uint8_t token, used;
        const jc_api_method *m;
    } api_vcache[64];
    int16_t applet_tok[4];
    /* CAP applet instances: their select/deselect/process/
     * getShareableInterfaceObject targets (VM_APPLET_*), looked up once
     * per instance object and class (cleared whenever a package is linked
     * or unlinked, and by vm_reset) */
    struct vm_inst_methods {
        uint16_t obj, cls;
        uint8_t have, missing;   /* bit per VM_APPLET_*: looked up, and not there */
        cap_target t[4];
        struct cap_xmethod *xm[4];   /* t's translation (NULL: an API method) */
    } inst_meth[VM_MAX_INSTANCES];
    uint16_t sc_api[VM_SC_COUNT];
    /* [deselect_lo[s], deselect_hi[s]): the handles among which package
     * slot s may own RAM that CLEAR_ON_DESELECT clears (a PIN, or a
     * transient with VM_OF_CLEAR_DESELECT); empty when lo == hi. Widened
     * when such an object is made or reloaded, never narrowed (a stale
     * range only costs scanning), so a deselect scans that range instead
     * of the whole object table. */
    uint32_t deselect_lo[VM_MAX_PACKAGES + 1], deselect_hi[VM_MAX_PACKAGES + 1];

    /* logical channels: the one the running command came on, which are
     * open (bit per channel), the instance selected on each (-1 none);
     * `selected` mirrors chan_sel[channel] while a command runs */
    uint8_t channel;
    uint32_t chan_open;
    int8_t chan_sel[VM_MAX_CHANNELS];
    int8_t active_inst;      /* applet instance active now, -1 none */
    uint8_t ctx_depth;       /* context switches on the frame stack */
    struct {
        uint8_t ctx;
        int8_t inst;
    } ctx_stack[16];         /* contexts to return to (SIO calls) */
    /* AEADCipher's memo of what GCM derives from a key (api_aead.c; NULL
     * until first used, cleared at vm_reset and vm_destroy) */
    struct api_aead_cache *aead_cache;
};

/* RAM of the VM block. */
static inline uint8_t *vm_ram(vm_runtime *rt) { return chip_ram(rt->chip) + rt->ram_base; }

/* runtime.c */
int vm_nvm_store(vm_runtime *rt, uint32_t nvm_off, const void *src, uint32_t len, int logged);
int vm_obj_store(vm_runtime *rt, vm_obj *o, uint32_t byte_off, const void *src, uint32_t len, int logged);
/* The CRC-16 of a sensitive array's elements (VM_OF_SENSITIVE). */
uint16_t vm_sensitive_crc(const vm_obj *o);
int vm_obj_fill(vm_runtime *rt, vm_obj *o, uint32_t byte_off, uint8_t value, uint32_t len);
/* Allocate an object owned by the current context. Returns 0 and the handle,
 * or an exception class (SystemException NO_RESOURCE...), or <0 fatal. */
int vm_alloc(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t cls, uint16_t length,
             uint32_t data_bytes, uint32_t ram_bytes, uint16_t *handle);
/* Delete an object now (the object deletion service, api_gc.c, which
 * knows nothing references it): its NVM block and RAM go back. */
int vm_obj_free(vm_runtime *rt, uint16_t h);
int vm_tx_begin(vm_runtime *rt);
int vm_tx_commit(vm_runtime *rt);
int vm_tx_abort(vm_runtime *rt);
int vm_set_reason(vm_runtime *rt, uint16_t cls, uint16_t reason);  /* returns cls */
uint32_t vm_ram_free(vm_runtime *rt);
int vm_register_instance(vm_runtime *rt, uint16_t obj);

/* api_framework.c: take a command APDU (short or extended, ISO 7816-3
 * cases 1-4) for the APDU class: header and the data that fit into the
 * APDU buffer, Nc/Ne, state INITIAL, response sink. 0, or -1 when
 * malformed. rt->apdu_cmd points into `apdu` until the caller clears it. */
int api_apdu_begin(vm_runtime *rt, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap);


/* ==== CAP packages ====
 *
 * Stored form. A package is one VM_TAG_PACKAGE block: the record header
 * (flags, slot, 0, length), the load file exactly as it was verified
 * (components concatenated, no C4 wrapper), then the static field image
 * (cap_view.sf_image_size bytes, big-endian shorts and handles, byte
 * fields one byte, at the offsets the CAP's static field refs give). The
 * image is initialised once at load (StaticField component: references
 * null except the array-initialised ones, which get arrays owned by the
 * package; primitives zero then the non-default values) in the same NVM
 * transaction as the record. Nothing else of the package is persistent.
 *
 * Linked form (host cache, struct cap_pkg). Built by cap_link() at load and
 * at every vm_reset: the blob is parsed again into a cap_view (pointers
 * into the host copy) and linked against the built-in API tables
 * (vm/api_tokens.h) and the user packages it imports (their Export
 * components): vm_reset links packages in dependency order.
 *
 * Class identity across packages (vm_obj.cls, resolved classrefs):
 *   0x0100..        VM_SC_* system classes (above: the APDU object and the
 *                   exception singletons carry these)
 *   0x8000 | s<<8 | i   class i (Class component order) of the CAP package
 *                       in slot s (s <= 32)
 *   0xE000 | p<<8 | t   API class token t of jc_api_packages[p]
 * vm_cap_class_is() answers "is class a a subclass of / implements b" over
 * all of them (a VM_SC_* class is the API class of the same name).
 *
 * Instances. Every object of a class (user or API) is a VM_OBJ_INSTANCE of
 * 16-bit slots: the API superclasses' `native_slots` first, then each
 * user class's declared cells in superclass-first order. An instance
 * field ref (class C, token t) resolves to slot first_slot(C) + t.
 *
 * Virtual calls. Each linked class has flattened public and package
 * method tables: entry t is the cap_target for virtual token t (public)
 * or t & 0x7F (package), inherited entries copied from the superclass;
 * a token below the API superclass's count resolves to the API method
 * (jc_api_method.fn: a C function). invokeinterface maps (interface,
 * method token) through the class's implemented_interface_info to a public
 * virtual token. Static calls and super calls are resolved in the CP.
 *
 * Firewall (JCRE 3.0.5 ch. 6). The context is a package slot (rt->ctx; 0 =
 * the JCRE). Objects belong to the context that created them (vm_obj.pkg).
 * Field, array and virtual-call access to another context's object throws
 * SecurityException unless the object is global (VM_OF_GLOBAL: APDU
 * buffer, install array, the JCRE entry point objects: APDU object,
 * exception singletons) or owned by the JCRE. invokeinterface on an object
 * of a Shareable interface runs the callee in the object's owner's context
 * (and the active applet becomes the instance that owns it); the caller's
 * context is restored on return. API functions run in the caller's context
 * (objects they create belong to it).
 */
#define VM_CLS_API(p, t) ((uint16_t)(0xE000u | ((unsigned)(p) << 8) | (t)))
#define VM_CLS_USER(s, i) ((uint16_t)(0x8000u | ((unsigned)(s) << 8) | (i)))
static inline int vm_cls_is_api(uint16_t c) { return (c & 0xE000u) == 0xE000u; }
static inline int vm_cls_is_user(uint16_t c) { return c >= 0x8000u && c < 0xE000u; }

/* What an API function returns to throw (jc_api_fn results > 0): a
 * VM_SC_* class id (reason through vm_set_reason), or an API exception
 * class with its reason in one int. The engine throws the JCRE-owned
 * singleton of that class (vm_exception_object) with the reason set. */
#define JC_API_EXC(p, t, r) ((int)(0x40000000 | (((p) & 0x3F) << 24) | (((t) & 0xFF) << 16) | ((r) & 0xFFFF)))
#define JC_API_EXC_IS(rc) ((rc) >= 0x40000000)
#define JC_API_EXC_CLASS(rc) VM_CLS_API(((rc) >> 24) & 0x3F, ((rc) >> 16) & 0xFF)
#define JC_API_EXC_REASON(rc) ((uint16_t)((rc) & 0xFFFF))


/* A class of a CAP package, linked. */
typedef struct cap_rclass {
    const cap_class *info;      /* in the package's view */
    uint16_t id;                /* VM_CLS_USER(slot, index) */
    uint16_t super_id;          /* global id; 0xFFFF for an interface */
    uint16_t first_slot;        /* instance slots of the superclasses */
    uint16_t size;              /* instance slots in all */
    uint16_t public_count, package_count;   /* flattened table sizes */
    cap_target *public_vt;
    cap_target *package_vt;
    /* implemented interfaces (superinterfaces included, as the CAP lists
     * them): global ids and, per interface, its method token -> public
     * virtual token map (u1 count, u1 token[count] in the view) */
    uint8_t iface_count;
    uint16_t *iface_ids;
    const uint8_t **iface_maps;
} cap_rclass;

/* A constant-pool entry, resolved at link time. */
typedef struct cap_cpr {
    uint8_t tag;                /* enum cap_cp_tag */
    uint8_t token;              /* virtual method / field token */
    uint16_t cls;               /* classref: the class; field/method refs:
                                   the class named */
    uint16_t a;                 /* instance field: slot; static field: byte
                                   offset in package `slot`'s image */
    uint8_t slot;
    uint8_t nargs;              /* virtual method refs: argument words */
    cap_target t;               /* static and super method refs */
} cap_cpr;

/* The translated form of one CAP method (cap_xlat.c, run by cap_run.c):
 * one op per bytecode or per fused group of bytecodes, operands decoded,
 * branch targets resolved to ops. Handlers are threaded (op->h) by the
 * loop at its first run of the method. */
/* Where an op operand comes from: the operand stack (popped), a local, or
 * a constant in the op. */
enum cap_x_kind { CAP_XK_S, CAP_XK_L, CAP_XK_C, CAP_XK_COUNT };
/* An element index may also be a sum folded in (javac's `a[(short)(i + k)]`):
 * local b + local d, or local b + constant d. */
enum cap_x_ikind { CAP_XK_LL = CAP_XK_COUNT, CAP_XK_LC, CAP_XK_ICOUNT };
/* An element op's array: on the stack, a local, or a local that a loop
 * region does not write, checked at its first use in the region and
 * then taken from the region's cache (slot). */
enum cap_x_akind { CAP_XA_S, CAP_XA_L, CAP_XA_Q, CAP_XA_COUNT };
enum { CAP_X_SLOTS = 4 };      /* cache slots of a loop region */
enum cap_x_binop { CAP_XB_ADD, CAP_XB_SUB, CAP_XB_MUL, CAP_XB_AND, CAP_XB_OR, CAP_XB_XOR, CAP_XB_SHL,
                   CAP_XB_SHR, CAP_XB_USHR, CAP_XB_DIV, CAP_XB_REM, CAP_XB_COUNT };
enum cap_x_cond { CAP_XC_EQ, CAP_XC_NE, CAP_XC_LT, CAP_XC_GE, CAP_XC_GT, CAP_XC_LE, CAP_XC_COUNT };
enum cap_x_id {
    CAP_X_GENERIC,              /* p: the bytecode, run by the plain switch */
    CAP_X_PUSH_L, CAP_X_PUSH_C, CAP_X_STORE_L, CAP_X_MOV_L, CAP_X_MOV_C,   /* a src, c dst */
    CAP_X_INSERT_L, CAP_X_INSERT_C,   /* value a put b words below the top */
    CAP_X_SINC, CAP_X_SINC_GOTO, CAP_X_POP, CAP_X_DUP, CAP_X_GOTO,
    CAP_X_RETURN, CAP_X_SRETURN, CAP_X_ATHROW, CAP_X_TABLESWITCH, CAP_X_LOOKUPSWITCH,
    CAP_X_INVOKE, CAP_X_GETFIELD_THIS, CAP_X_GETSTATIC,
    CAP_X_SINK,                 /* the top value moved b words down */
    CAP_X_CALL,                 /* invokestatic (a 0) / invokespecial (a 1): x_INVOKE until txm is known */
    CAP_X_VCALL,                /* invokevirtual / invokeinterface of b words: the inline cache, else x_INVOKE */
    CAP_X_APICALL,              /* invokestatic / invokevirtual (a 1) of API method p that nothing overrides, b words */
    /* a OP b: binop, kinds of a and b, destination (0 push, 1 local c) */
    CAP_X_BIN,
    /* compare-and-branch: cond, kinds of a and b */
    CAP_X_CMP = CAP_X_BIN + CAP_XB_COUNT * CAP_XK_COUNT * CAP_XK_COUNT * 2,
    /* compare with zero: cond, kind of a */
    CAP_X_ZCMP = CAP_X_CMP + CAP_XC_COUNT * CAP_XK_COUNT * CAP_XK_COUNT,
    /* element load: 0 byte / 1 short, array a (cap_x_akind), index b
     * (cap_x_ikind: b, b + d), destination */
    CAP_X_ELEM = CAP_X_ZCMP + CAP_XC_COUNT * CAP_XK_COUNT,
    /* element store: 0 byte / 1 short, array a (cap_x_akind), index b
     * (cap_x_ikind), value c */
    CAP_X_STORE = CAP_X_ELEM + 2 * CAP_XA_COUNT * CAP_XK_ICOUNT * 2,
    /* sinc a by b, then the loop test at the head op p (compare local c
     * with local / constant d, cond): `sinc; goto head` of a javac loop
     * whose head is a compare-and-branch */
    CAP_X_SINC_CMP = CAP_X_STORE + 2 * CAP_XA_COUNT * CAP_XK_ICOUNT * CAP_XK_COUNT,
    /* goto whose target is such a loop test: the same without the sinc */
    CAP_X_GOTO_CMP = CAP_X_SINC_CMP + CAP_XC_COUNT * 2,
    /* a loop region's entry: forgets the checked arrays (cap_xlat.c);
     * ti the first op past the region, p its machine code (cap_jit.h)
     * or NULL */
    CAP_X_LOOP_ENTER = CAP_X_GOTO_CMP + CAP_XC_COUNT * 2,
    CAP_X_SRETURN_L, CAP_X_SRETURN_C,   /* sreturn/areturn of local a / constant a */
    CAP_X_ARRAYLENGTH_S, CAP_X_ARRAYLENGTH_L,   /* arraylength of the top / of local a, pushed */
    /* sdiv / srem by constant b (|b| >= 2) as a multiply by its reciprocal
     * (xdiv.h, the op's mul): 0 div / 1 rem, dividend a (cap_x_ikind: a,
     * a + d), destination */
    CAP_X_DIVC,
    /* javac's `b[i] & 0xFF`: a byte element load that zero-extends,
     * array a (cap_x_akind), index b (cap_x_ikind), destination */
    CAP_X_ELEMU = CAP_X_DIVC + 2 * CAP_XK_ICOUNT * 2,
    /* an element load compared at once (compare-and-branch, cond): 0 byte
     * / 1 short, array a (0 a local, 1 a region's cache slot), index b
     * (cap_x_ikind), the other operand (cap_x_kind: S the value under the
     * load's operands, the compare's first; L local c, C constant c, the
     * element the compare's first) */
    CAP_X_ECMP = CAP_X_ELEMU + CAP_XA_COUNT * CAP_XK_ICOUNT * 2,
    /* a recognized loop idiom (element-wise copy, fill, first mismatch)
     * run whole in C, p its cap_xidiom; else on to the loop's own ops */
    CAP_X_IDIOM = CAP_X_ECMP + CAP_XC_COUNT * 2 * 2 * CAP_XK_COUNT,
    /* a call (cap_x_call: CALL, VCALL, APICALL, operands as theirs) whose
     * last argument is pending: local c, constant c, c + local d or
     * c + constant d (cap_x_ikind past CAP_XK_S), pushed by the op itself */
    CAP_X_CALLA = CAP_X_IDIOM + 1,
    /* a OP b returned (javac's `return (short)(a op b)`: the binop and
     * the sreturn after it), both operands on the stack: binop; then a
     * pending sum returned, local a + local b, local a + constant b (the
     * other operand forms are rare in converter output, 14 binop +
     * sreturn pairs in the 12 CAPs of op_pairs.sh, and every handler
     * weighs on the loop's register allocation: docs/vm.md) */
    CAP_X_BINR = CAP_X_CALLA + 3 * (CAP_XK_ICOUNT - 1),
    CAP_X_BINR_ADD_LL = CAP_X_BINR + CAP_XB_COUNT,
    CAP_X_BINR_ADD_LC,
    /* CAP_X_CALLA whose argument before the last is pending too: local or
     * constant e (cap_x_kind L, C), then the last as CAP_X_CALLA's */
    CAP_X_CALLA2,
    /* a guard return: a compare-and-branch of local a with constant b (a
     * test against zero with b = 0) whose fall-through op returns local
     * or constant c (CAP_X_SRETURN_L / _C; id CAP_X_GRET + c's kind: 0 L,
     * 1 C; javac's `if (n < 2) return n;`), when the values that return
     * are one interval (cap_guard_range: glo, gspan), so that one handler
     * tests all conditions: taken as CMP's; not taken, the return's run
     * charged (wf) and c returned from the op (the sreturn op stays after
     * it) */
    CAP_X_GRET = CAP_X_CALLA2 + 3 * 2 * (CAP_XK_ICOUNT - 1),
    CAP_X_COUNT = CAP_X_GRET + 2
};
enum cap_x_call { CAP_XCALL_CALL, CAP_XCALL_VCALL, CAP_XCALL_API };

/* A counted loop `for (; i < n; i++)` whose body is one of three idioms
 * (cap_xlat.c, "loop idioms"): COPY `a1[(short)(b1 + i)] = a0[(short)(b0 +
 * i)]`, FILL `a1[(short)(b1 + i)] = v`, MISMATCH `x = a0[..]; y = a1[..];
 * if (x != y) leave`. Operands are locals or constants (kind CAP_XK_L /
 * CAP_XK_C); the budget weights are the runs the loop's bytecodes charge. */
enum cap_xidiom_form { CAP_XI_COPY, CAP_XI_FILL, CAP_XI_MISMATCH };
typedef struct cap_xidiom {
    const struct cap_xop *exit;     /* the op the loop test leaves to */
    const struct cap_xop *mexit;    /* MISMATCH: where a difference goes */
    uint32_t cmp_pc;                /* translation: MISMATCH's compare-and-branch */
    uint32_t test_pc;               /* translation, test at the bottom: the loop test (after `goto` to it) */
    uint8_t mtaken;                 /* MISMATCH: a difference takes that branch (else falls through) */
    uint8_t bottom;                 /* the test at the bottom, reached by a `goto` before the body */
    uint16_t w_entry;               /* bottom: the run at the test (the `goto` taken) */
    uint32_t w_iter;                /* one whole iteration */
    uint16_t w_exit;                /* the run at exit (the test taken) */
    uint16_t w_body;                /* MISMATCH: the body's run, up to the compare */
    uint16_t w_mexit;               /* MISMATCH: the run at mexit */
    uint8_t form, shorts;           /* cap_xidiom_form; 0 byte[], 1 short[] */
    uint8_t i, nk;                  /* induction local; kind of n */
    int16_t n;                      /* the bound */
    uint8_t arr[2];                 /* array locals: a0 (loaded), a1 (stored / loaded second) */
    uint8_t bk[2];                  /* kinds of the index bases */
    int16_t base[2];
    uint8_t vk;                     /* FILL: kind of v */
    int16_t v;
    int16_t x, y;                   /* MISMATCH: the locals loaded into, -1 on the stack */
} cap_xidiom;

typedef struct cap_xop {
    const void *h;              /* the handler (threaded), until then NULL */
    const void *p;              /* bytecode (generic, switches, invoke), cap_cpr, or the target op */
    cap_target vt;              /* invokevirtual: inline cache (vcls's target) */
    struct cap_xmethod *txm;    /* invoke: the callee's translation when in this package */
    int16_t a, b, c, d;         /* locals, constants, field slot */
    uint16_t id;                /* enum cap_x_id */
    uint16_t pc;                /* method-component offset of the bytecode that may throw */
    uint16_t wt, wf;            /* budget: bytecodes of the run at the target / after this op */
    uint16_t vcls;              /* invokevirtual cache key (0xFFFF: empty) */
    uint16_t gtake;             /* GRET first in its method: entry run + wt (0: none) */
    union {
        uint32_t ti;            /* translation: the target op's index */
        int32_t mul;            /* DIVC: the multiplier of divisor b (xdiv.h) */
        struct {                /* quickened invokestatic (cap_run.c, x_INVOKE): */
            uint16_t argb;      /* bytes from the top (the pending argument's slot for CALLA) down to the callee's lv */
            uint16_t frameb;    /* the callee's frame in bytes */
        };
    };
    uint8_t slot;               /* element ops on a loop-invariant array local: its cache slot */
    uint8_t pad_;
    union {
        int16_t e;              /* CALLA2: the pending argument before the last */
        uint16_t gleaf;         /* GRET first in its method: entry run + wf (0: none) */
    };
    uint16_t glo, gspan;        /* GRET: returns iff (uint16_t)(local - glo) <= gspan */
} cap_xop;
_Static_assert(sizeof(void *) != 8 || sizeof(cap_xop) == 72, "an op stays 72 bytes on 64-bit hosts");

/* A guard `if (v cond b) goto L; return ...;` returns for the values of
 * v where cond fails. For five of the six conditions that is one
 * interval of int16_t, [lo, lo + span], so that one test serves all:
 * the branch is taken iff (uint16_t)(v - lo) > span. 0 and the interval,
 * or -1 where it is not one: EQ (all but b), GE of -32768 and LE of 32767
 * (never returns). */
static inline int cap_guard_range(int cond, int16_t b, uint16_t *lo, uint16_t *span)
{
    int32_t l = -32768, h = 32767;   /* where cond fails */
    switch (cond) {
    case CAP_XC_NE: l = h = b; break;
    case CAP_XC_LT: l = b; break;
    case CAP_XC_GE: h = b - 1; break;
    case CAP_XC_GT: h = b; break;
    case CAP_XC_LE: l = b + 1; break;
    default: return -1;   /* CAP_XC_EQ */
    }
    if (l > h)
        return -1;
    *lo = (uint16_t)l;
    *span = (uint16_t)(h - l);
    return 0;
}

typedef struct cap_xmethod {
    uint16_t offset;            /* method offset (the key) */
    uint16_t code_offset;       /* method offset of the first bytecode */
    uint16_t code_len;          /* bytes translated */
    uint16_t entry_w;           /* budget weight of the run at entry */
    uint8_t nargs, max_locals, max_stack;
    uint8_t threaded;
    uint16_t frame;             /* nargs + max_locals + max_stack */
    uint16_t nlocals;           /* nargs + max_locals: where the operand stack starts */
    unsigned nops;
    cap_xop *ops;
    uint16_t *op_at;            /* per code byte: the op starting there, 0xFFFF none */
    uint16_t *w_at;             /* per code byte: the run weight from there */
    cap_xidiom *idioms;         /* the CAP_X_IDIOM ops' loops */
    void *native;               /* cap_jit.c: the mapping of its regions' code, or NULL */
    size_t native_len;
} cap_xmethod;

typedef struct cap_pkg {
    cap_view view;              /* over the host copy of the blob */
    cap_xmethod **xm;           /* translated methods, open addressing by offset */
    unsigned xm_cap, xm_count;
    uint16_t class_count;
    cap_rclass *classes;        /* in view.classes order */
    cap_cpr *cpr;               /* view.cp_count */
    uint8_t import_slot[CAP_MAX_IMPORTS];   /* user import: its slot, else 0 */
    int8_t import_api[CAP_MAX_IMPORTS];     /* API import: jc_api_packages index, else -1 */
} cap_pkg;

/* cap_xlat.c */
/* The translated method at `offset` of a linked package, translated now
 * when it is not yet: 0, VM_ERR_VERIFY (no method there, abstract), or
 * VM_ERR_NOMEM. */
int vm_cap_xmethod(cap_pkg *P, uint16_t offset, cap_xmethod **out);
void vm_cap_xfree(cap_pkg *P);

/* cap_link.c */
/* Link the blob stored for `slot` (already in lp->blob) into lp->cap.
 * VM_ERR_DEPENDENCY when an import is missing, VM_ERR_VERIFY when a
 * reference does not resolve (message in err), VM_ERR_NOMEM. */
int vm_cap_link(vm_runtime *rt, unsigned slot, char *err, size_t errlen);
void vm_cap_unlink(vm_lpkg *lp);
/* Load a CAP load file (vm_load_package's CAP branch). */
int vm_cap_load(vm_runtime *rt, const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen);
/* Virtual method `token` (0x80 set: package-visible) of a class (user,
 * API or VM_SC_* id): 0 and *t, or -1. */
int vm_cap_lookup_virtual(const vm_runtime *rt, uint16_t cls, uint8_t token, cap_target *t);
/* Public static method `method_token` of exported class `class_token` of
 * the CAP package in `slot` (its Export component): 0 and *t, or -1. */
int vm_cap_export_static(const vm_runtime *rt, unsigned slot, uint8_t class_token, uint8_t method_token,
                         cap_target *t);
/* Global id of an API class table entry. */
uint16_t vm_api_class_id(const jc_api_class *c);
/* Fill the runtime's lookup caches (vm_reset). */
void vm_cap_caches_init(vm_runtime *rt);
enum { VM_APPLET_SELECT, VM_APPLET_DESELECT, VM_APPLET_PROCESS, VM_APPLET_GET_SIO };
/* The linked class of a global id, or NULL for API / system ids. */
const cap_rclass *vm_cap_rclass(const vm_runtime *rt, uint16_t cls);
/* The API class of a VM_CLS_API or VM_SC_* id, or NULL; *pkg_index set. */
const jc_api_class *vm_api_class(uint16_t cls, unsigned *pkg_index);
/* Nonzero when class `cls` is `target` or a subclass of it, or implements
 * the interface `target` (all id kinds above). */
int vm_cap_class_is(const vm_runtime *rt, uint16_t cls, uint16_t target);

/* cap_run.c: the CAP dispatch loop and the engine hooks of the API.
 *
 * Results of hooks that can throw: 0, or the class id of the exception to
 * throw (an API function returns it as is); when that exception is an
 * object the bytecode threw (a user exception escaping a call from C),
 * rt->thrown holds its handle, otherwise 0 and the engine throws the
 * JCRE-owned singleton of the class (VM_SC_* ids; reason through
 * vm_set_reason). < 0: fatal (VM_ERR_POWER...). */

/* Run a CAP method (target.offset in package target.slot) with args
 * (`this` first for instance methods) in the current context. Returns
 * enum vm_run_result or < 0; *ret gets the returned word. */
/* cap_run.c: note that an exception (exc) or the budget (exc 0) leaves the
 * frame of method `method` of package `slot` at bytecode pc `pc`; forget
 * the trail when the exception is caught (vm_fault_caught). */
void vm_fault_note_frame(vm_runtime *rt, uint16_t exc, unsigned slot, uint16_t method, uint16_t pc);
void vm_fault_caught(vm_runtime *rt, uint16_t exc);
/* runtime.c, when an applet call ends: keep the record (vm_take_fault) for
 * a run result VM_RUN_THROWN or VM_RUN_BUDGET, or VM_RUN_NO_REGISTER (an
 * install() that did not register); other results keep nothing. */
#define VM_RUN_NO_REGISTER 3
void vm_fault_finish(vm_runtime *rt, int run_result, unsigned entry, uint16_t sw);
int vm_cap_run(vm_runtime *rt, cap_target target, const uint16_t *args, unsigned nargs, uint16_t *ret);
/* vm_cap_run of a method of a CAP package (not an API method) whose
 * translation `xm` (vm_cap_xmethod) the caller has at hand: the JCRE's
 * entry into an applet, without the lookups. */
int vm_cap_run_entry(vm_runtime *rt, cap_target target, struct cap_xmethod *xm, const uint16_t *args,
                     unsigned nargs, uint16_t *ret);
/* The object behind `ref` as the current context may use it: NULL with
 * *exc = VM_SC_NullPointerException or VM_SC_SecurityException. */
vm_obj *vm_ref(vm_runtime *rt, uint16_t ref, int *exc);
/* Slot `i` of an instance (API objects: their native slots are 0..n-1).
 * Firewall-checked; writes are transactional like putfield. */
int vm_field_get(vm_runtime *rt, uint16_t ref, uint16_t i, uint16_t *v);
int vm_field_set(vm_runtime *rt, uint16_t ref, uint16_t i, uint16_t v);
/* A new instance of a class (API or user id), owned by the current
 * context, every slot 0 (no constructor runs). */
int vm_new_object(vm_runtime *rt, uint16_t cls, uint16_t *ref);
/* Invoke virtual method `token` (public) of args[0]'s class from C, in the
 * current context. */
int vm_call_virtual(vm_runtime *rt, uint8_t token, uint16_t *args, unsigned nargs, uint16_t *ret);
/* The same in the context of args[0]'s owner (the active applet becomes
 * its instance); the JCRE's calls to getShareableInterfaceObject. */
int vm_call_virtual_as_owner(vm_runtime *rt, uint8_t token, uint16_t *args, unsigned nargs, uint16_t *ret);
/* The applet instance active now (index in rt->insts, -1 none), and the one
 * active in the previous context (before the last context switch; -1: the
 * JCRE). */
int vm_active_instance(const vm_runtime *rt);
int vm_previous_instance(const vm_runtime *rt);
/* Run interface method `mtok` of interface `iface` (a class id) on
 * args[0] from C, in the current context: 0, exception class, <0. */
int vm_call_interface(vm_runtime *rt, uint16_t iface, uint8_t mtok, uint16_t *args, unsigned nargs,
                      uint16_t *ret);
/* Nonzero when instance `inst` is selected on some channel. */
int vm_instance_active(const vm_runtime *rt, int inst);
/* The JCRE-owned singleton of an exception class (VM_SC_* or API id) with
 * its reason set: what the engine throws for an API function's result.
 * 0 when the class has none. Singletons of API classes without a VM_SC_*
 * twin live in the handle table only (entry point objects, temporary). */
uint16_t vm_exception_object(vm_runtime *rt, uint16_t cls, uint16_t reason);
/* Reason of a thrown object (singleton or an instance of a
 * CardException/CardRuntimeException subclass: native slot 0). */
int vm_exception_reason(vm_runtime *rt, uint16_t h, uint16_t *reason);
int vm_exception_set_reason(vm_runtime *rt, uint16_t h, uint16_t reason);

/* SystemException / TransactionException reasons (Java Card values). */
#define VM_SYS_ILLEGAL_VALUE 1
#define VM_SYS_NO_TRANSIENT_SPACE 3
#define VM_SYS_ILLEGAL_TRANSIENT 4
#define VM_SYS_NO_RESOURCE 6
#define VM_TX_IN_PROGRESS 1
#define VM_TX_NOT_IN_PROGRESS 2
#define VM_TX_BUFFER_FULL 3
#define VM_CRYPTO_ILLEGAL_VALUE 1

/* rom_trust.c: exact-bytes membership in the verified set (vm.h). */
int vm_rom_trust_has(const vm_rom_trust *t, const uint8_t *bytes, uint32_t len);
void vm_rom_trust_add(vm_rom_trust *t, const uint8_t *bytes, uint32_t len);

#endif
