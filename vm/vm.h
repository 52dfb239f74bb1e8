/*
 * vm.h — the cardvm Java Card virtual machine: the module's manual.
 *
 * cardvm runs Java Card applets, packaged as CAP files (JCVM 3.0.5,
 * docs/cap.md), on a simulated chip (persist/chip.h).
 * A `vm_runtime` is bound to one chip and holds everything the VM knows about
 * that card: there is no global mutable state, so many cards can live in one
 * process. The embedder (the card object and the LOADER) drives it:
 *
 *   vm_create(chip)            once, after chip_open/chip_create + power-on
 *   vm_load_package(load file) verify a CAP package and store it in NVM
 *   vm_install(...)            create an applet instance (install(bArray...))
 *   vm_select / vm_process     run commands; each returns response + SW
 *   vm_reset()                 after every chip_power_on() (cold/warm reset)
 *
 * Persistence model (see persist/chip.h). The card commits all NVM writes
 * once per APDU (chip_commit), and a power cut rolls the whole APDU back.
 * The VM therefore never commits: it only writes the working NVM copy.
 * Inside one command it gives Java Card semantics on top: writes made inside
 * beginTransaction..commitTransaction are logged and undone by an abort
 * (explicit, or implied by an uncaught exception, a budget overrun, the end
 * of process() with a transaction still open); writes outside transactions
 * stay. Host-side caches (object table, loaded code) mirror NVM: whenever the
 * embedder rolls the chip back (chip_power_on or chip_rollback) it must call
 * vm_reset(), which rebuilds them from NVM.
 *
 * Status words. vm_process and friends return VM_OK whenever the applet
 * ran to some end, with the ISO status word in *sw:
 *   9000     normal end
 *   xxxx     ISOException.throwIt(xxxx) not caught by the applet
 *   6A84     memory exhausted (SystemException.NO_RESOURCE not caught)
 *   6F00     any other uncaught exception (null pointer, array index,
 *            arithmetic, class cast, security, transaction), and the
 *            instruction budget running out
 *   6999     the applet refused selection (select() returned false)
 *   6A82     no such applet (vm_select)
 * Negative results (VM_ERR_*) are for the embedder: a fired power cut
 * (VM_ERR_POWER: power the chip on and call vm_reset), bad arguments, or
 * corrupt NVM.
 *
 * Threading: a runtime is not thread safe; use one thread per card.
 */
#ifndef CARDVM_VM_H
#define CARDVM_VM_H

#include <stddef.h>
#include <stdint.h>
#include "chip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results ---- */
enum vm_status {
    VM_OK = 0,
    VM_ERR_ARG = -1,       /* bad argument */
    VM_ERR_VERIFY = -2,    /* package refused by the verifier */
    VM_ERR_FULL = -3,      /* NVM, RAM, handle or slot space exhausted */
    VM_ERR_EXISTS = -4,    /* package or instance AID already present */
    VM_ERR_NOTFOUND = -5,  /* no such package / applet / instance */
    VM_ERR_STATE = -6,     /* not allowed now (e.g. package still has instances) */
    VM_ERR_POWER = -7,     /* power cut fired during the call (tear injection) */
    VM_ERR_CORRUPT = -8,   /* NVM content the VM cannot make sense of */
    VM_ERR_NOMEM = -9,     /* host allocation failed */
    VM_ERR_DEPENDENCY = -10, /* an import is missing, or a package is imported */
};
const char *vm_strerror(int status);

/* Status words the VM itself produces. */
#define VM_SW_OK            0x9000
#define VM_SW_UNKNOWN       0x6F00
#define VM_SW_NO_MEMORY     0x6A84
#define VM_SW_NOT_FOUND     0x6A82
#define VM_SW_SELECT_FAILED 0x6999

/* ---- package kinds (vm_package_info.kind: what the card makes of a
 * package, from its applets and how the LOADER loaded it) ---- */
enum vm_pkg_kind {
    VM_PKG_APPLET = 1,        /* package with applets                  */
    VM_PKG_LIBRARY = 2,       /* code and statics only, no applet      */
    VM_PKG_CUSTOMIZATION = 3, /* the customization software (seed 000) */
    VM_PKG_UPDATE = 4,        /* a software update / patch (seed 000)  */
};

#define VM_AID_MIN 5
#define VM_AID_MAX 16

/* ---- configuration ---- */
typedef struct vm_config {
    uint32_t budget;          /* bytecodes per command; default 10,000,000 */
    uint32_t ram_size;        /* chip RAM the VM reserves: APDU buffer,
                                 install parameters, transient arrays.
                                 Default 4096 (clamped to what is free). */
    uint32_t commit_capacity; /* bytes of old values one transaction may log;
                                 default 1024 (TransactionException
                                 BUFFER_FULL beyond) */
    uint32_t package_quota;   /* NVM bytes one package may own (load file,
                                 statics, objects); 0 = no limit */
    uint16_t stack_slots;     /* 16-bit words for frames and operand
                                 stacks; default 1024 */
    uint16_t max_frames;      /* call depth; default 64 */
    uint8_t native;           /* 1: loop regions run as machine code where
                                 the host has a code generator (x86-64;
                                 vm/cap_jit.h), with the same results,
                                 exceptions, NVM writes and budget stops
                                 as the dispatch loop; 0: the loop only.
                                 Default 1. */
} vm_config;

void vm_config_default(vm_config *cfg);

typedef struct vm_runtime vm_runtime;

/* Switch vm_config.native of a running VM. Off: from the next loop
 * region entered on. On: for the methods first run after it (a method's
 * regions are compiled at its first run; vm_reset drops the translations).
 * Tests and benchmarks run the same card both ways. */
void vm_set_native(vm_runtime *rt, int on);

/*
 * Bind a new runtime to a powered chip. Reserves `cfg->ram_size` bytes of
 * chip RAM (call it once per chip object, right after open/create, like
 * every chip_ram_reserve user) and loads what earlier sessions left in NVM
 * (packages, instances, objects). cfg may be NULL for defaults.
 */
int vm_create(chip *c, const vm_config *cfg, vm_runtime **out);
void vm_destroy(vm_runtime *rt);
chip *vm_chip(vm_runtime *rt);

/*
 * After chip_power_on() or chip_rollback(): forget the open transaction (the
 * chip has already dropped its writes), deselect the current applet without
 * calling deselect(), clear the VM's RAM (transient arrays, PIN validated
 * flags) and rebuild every cache from NVM.
 */
int vm_reset(vm_runtime *rt);

/* ---- who writes NVM (tearing tools) ----
 *
 * An embedder that cuts power at NVM writes (`cardvm tear`) must say which
 * bytecode was writing. With a hook set, every persistent store the VM makes
 * (bytecode putfield/putstatic/array stores, and the API methods in C
 * such as Util.arrayCopy or OwnerPIN.check) calls it twice: before the chip
 * write (phase 0) and after it succeeded (phase 1). A cut fires inside the
 * write, so a phase 0 without its phase 1 is the store that was torn.
 * The CAP engine notes the writer only while a hook is set, at its store
 * and invoke instructions: without a hook the cost is one test per store.
 * Writes that are not stores (object allocation, package records) do not
 * call the hook. */
typedef struct vm_nvm_writer {
    int16_t pkg;             /* package slot of the writing method, -1 unknown
                              * (the JCRE itself) */
    uint16_t method;         /* offset of its header in the Method component */
    uint16_t pc;             /* bytecode offset of the writing (or invoking)
                              * instruction, from the method's first opcode */
    uint8_t tx_depth;        /* JCSystem.getTransactionDepth() at the store */
    uint8_t guarded;         /* inside vm_install's undo log (install()) */
    uint8_t logged;          /* the store joins an open transaction */
    uint32_t nvm_off, len;   /* the bytes written */
} vm_nvm_writer;
typedef void (*vm_nvm_hook)(void *ctx, const vm_nvm_writer *w, int phase);
/* Set (or clear, hook = NULL) the store hook. */
void vm_set_nvm_hook(vm_runtime *rt, vm_nvm_hook hook, void *ctx);
/* AID of the package in `slot` (for reports); 0 bytes when there is none. */
size_t vm_package_aid(const vm_runtime *rt, int slot, uint8_t aid[16]);

/* ---- why an applet call failed (diagnostics, host side only) ----
 *
 * When install(), select(), deselect() or process() of an applet (or a
 * static entry point run by vm_invoke) ends
 * with an uncaught exception, a budget overrun, or install() without
 * register(), the runtime keeps a record of it for the embedder's trace
 * (`cardvm --trace`, the pcscd driver's debug log). The card client sees
 * nothing of it: the status word stays what vm_process documents. The
 * record names the exception class and reason and the call stack as
 * (package AID, Method component offset, bytecode pc) per frame, innermost
 * first; the frame of the throwing instruction (or, for a budget overrun,
 * of the instruction that ran out: the loop's branch) comes first. Names of
 * methods and source lines come from the CAP's Debug component, which the
 * card never has: the host adds them (tools/cap/cap_debug.h). The runtime
 * notes frames only while an exception leaves a method, so a call that
 * succeeds costs nothing. */
#define VM_FAULT_MAX_FRAMES 16
enum vm_fault_kind {
    VM_FAULT_EXCEPTION = 1,   /* uncaught exception */
    VM_FAULT_BUDGET = 2,      /* bytecode budget ran out */
    VM_FAULT_NO_REGISTER = 3, /* install() returned without Applet.register() */
};
enum vm_fault_entry {
    VM_ENTRY_INSTALL, VM_ENTRY_SELECT, VM_ENTRY_DESELECT, VM_ENTRY_PROCESS,
    VM_ENTRY_INVOKE,          /* vm_invoke: a static entry point (LOADER vectors) */
};
typedef struct vm_fault_frame {
    uint8_t pkg_aid[VM_AID_MAX];
    uint8_t pkg_aid_len;
    uint16_t method;          /* offset of the method_info in the Method component */
    uint16_t pc;              /* bytecode offset from the method's first opcode */
} vm_fault_frame;
typedef struct vm_fault {
    uint8_t kind;             /* enum vm_fault_kind */
    uint8_t entry;            /* enum vm_fault_entry */
    uint16_t sw;              /* the status word the client got */
    /* VM_FAULT_EXCEPTION: the class, by name for an API class
     * ("java/lang/ArrayIndexOutOfBoundsException"); for a class of an
     * applet package exc_class is "" and the class is given by its
     * package and Class component offset. */
    char exc_class[64];
    uint8_t exc_pkg_aid[VM_AID_MAX];
    uint8_t exc_pkg_aid_len;
    uint16_t exc_class_offset;
    uint8_t has_reason;       /* a CardException / CardRuntimeException */
    uint16_t reason;
    uint8_t n_frames;
    uint8_t truncated;        /* deeper frames than VM_FAULT_MAX_FRAMES */
    vm_fault_frame frames[VM_FAULT_MAX_FRAMES];
} vm_fault;
/* The record of the last failed applet call since the previous take: 1 and
 * *out, or 0 when there is none. Taking it clears it. */
int vm_take_fault(vm_runtime *rt, vm_fault *out);

/* ---- the privileged extension (for the LOADER) ----
 *
 * cardvm's own Java Card package cardvm.loader (vm/api_loader.c,
 * docs/loader.md) is the LOADER's API: its functions are not part of the
 * VM but come from a table the embedder plugs in, method token i of
 * cardvm.loader.Loader calling entries[i]. Only a package loaded with
 * VM_LOAD_PRIVILEGED may import cardvm.loader (the verifier refuses it
 * otherwise), and a call runs only while a table is installed and the
 * caller's context is such a package (otherwise SecurityException). The
 * LOADER uses this for the customization API (vector table, install, keys).
 */
typedef struct vm_ext_call vm_ext_call;

typedef struct vm_ext_entry {
    const char *name;     /* for reports, e.g. "Loader.setVector" */
    uint8_t nargs;        /* 16-bit argument words the method takes */
    uint8_t returns;      /* 0: void, 1: one word */
    void (*fn)(void *ctx, vm_ext_call *call);
} vm_ext_entry;

typedef struct vm_extension {
    const vm_ext_entry *entries;
    uint16_t count;       /* at most 256 */
    void *ctx;            /* passed to every fn */
} vm_extension;

/* Install (or with NULL remove) the extension table. The table must stay
 * valid while installed. */
void vm_set_extension(vm_runtime *rt, const vm_extension *ext);

/* Inside an extension handler: */
uint16_t vm_call_arg(const vm_ext_call *call, unsigned i);   /* word i */
void vm_call_return(vm_ext_call *call, uint16_t value);
/* Byte array argument `i`: read-only view and length; 0, or -1 when the
 * word is not a byte array the caller's context may reach. */
int vm_call_bytes(vm_ext_call *call, unsigned i, const uint8_t **data, uint16_t *len);
/* Write into byte array argument `i` (firewall and bounds checked). */
int vm_call_write(vm_ext_call *call, unsigned i, uint16_t off, const void *src, uint16_t len);
/* End the handler by throwing ISOException(sw) into the bytecode. */
void vm_call_throw(vm_ext_call *call, uint16_t sw);
vm_runtime *vm_call_runtime(vm_ext_call *call);

/* ---- packages ----
 *
 * A package is a CAP load file: the components of a CAP file concatenated
 * in load order, without the C4 wrapper and without Debug (what
 * tools/cap/cap_file.h makes of a CAP file, what GlobalPlatform LOAD
 * carries). */
enum vm_load_flags {
    VM_LOAD_PRIVILEGED = 1,   /* may import cardvm.loader (the customization software) */
};

/*
 * A package's identity from its bytes (no verification, no runtime): AID
 * and version from the Header component of a CAP load file.
 * VM_OK, or VM_ERR_VERIFY when the bytes are not one.
 */
int vm_package_identify(const uint8_t *blob, size_t len, uint8_t aid[VM_AID_MAX], uint8_t *aid_len,
                        uint8_t *major, uint8_t *minor);

/*
 * Verify a package without loading it (no runtime needed): the CAP verifier
 * (vm_cap_verify_load_file, vm/cap_verify.h) against the built-in API
 * packages, user-package imports checked for shape only. The load file may
 * be bare components or C4-wrapped. On failure returns VM_ERR_VERIFY
 * (VM_ERR_DEPENDENCY for an import the card lacks) and writes the reason
 * into err.
 */
int vm_verify(const uint8_t *blob, size_t len, unsigned flags, char *err, size_t errlen);

/*
 * Verify a package, then store it in NVM with its static fields initialised.
 * Refused (VM_ERR_VERIFY, VM_ERR_EXISTS for a loaded AID, VM_ERR_DEPENDENCY
 * for a missing import, VM_ERR_FULL) without any NVM change.
 */
int vm_load_package(vm_runtime *rt, const uint8_t *blob, size_t len,
                    unsigned flags, char *err, size_t errlen);

/*
 * Register a masked package whose load file lives in chip ROM at
 * [rom_offset, rom_offset + len): it is verified in place (like
 * vm_load_package, not privileged) and executed from ROM; no copy of it
 * goes to NVM. Its static fields live in a small NVM record keyed by the
 * package AID, created at the first registration (normally at masking time,
 * which commits) and found again on every later registration, which then
 * writes nothing. Call it after every vm_create (the record keeps the
 * package's slot, so instances and objects of it are kept meanwhile); the
 * runtime remembers the region and vm_reset re-attaches it.
 * VM_ERR_VERIFY (message in err), VM_ERR_EXISTS (AID already loaded),
 * VM_ERR_DEPENDENCY, VM_ERR_FULL, VM_ERR_ARG (region outside ROM).
 */
int vm_register_rom_package(vm_runtime *rt, uint32_t rom_offset, uint32_t len, char *err, size_t errlen);

/*
 * Masked packages already verified, for many cards with one ROM (a campaign
 * worker opening card after card). vm_register_rom_package skips the
 * verifier for a package whose bytes are exactly those of one the verifier
 * accepted before, and adds every package it verifies whose imports are all
 * built-in API packages (the verdict then depends on its bytes alone). The
 * set keeps a copy of each package it trusts and compares the whole of it:
 * nothing written in NVM or in the image file can make other bytes pass for
 * a trusted package. Not thread-safe: one set per thread, used by its cards
 * one after another; it must outlive the runtimes it is set on.
 */
typedef struct vm_rom_trust vm_rom_trust;
int vm_rom_trust_new(vm_rom_trust **out);
void vm_rom_trust_free(vm_rom_trust *t);
/* Use t (NULL: none) for the runtime's next vm_register_rom_package calls. */
void vm_set_rom_trust(vm_runtime *rt, vm_rom_trust *t);
/* Packages verified (not found trusted) by this runtime so far (tests). */
unsigned vm_rom_verified_count(const vm_runtime *rt);

/* Delete a package: its load file, statics and every object it owns. Refused with
 * VM_ERR_STATE while an instance of it exists or when it is masked (ROM),
 * VM_ERR_DEPENDENCY while another package imports it. */
int vm_delete_package(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len);

typedef struct vm_package_info {
    uint8_t aid[VM_AID_MAX];
    uint8_t aid_len;
    uint8_t kind;             /* enum vm_pkg_kind */
    uint8_t major, minor;
    uint8_t privileged;
    uint8_t applet_count;     /* applet classes declared */
    uint8_t masked;           /* 1: executed in place from ROM (cannot be deleted) */
    uint32_t blob_size;       /* bytes of the load file */
    uint32_t nvm_used;        /* NVM bytes owned: load file (not for masked
                                 packages), statics, objects */
    uint32_t ram_used;        /* transient RAM bytes owned */
} vm_package_info;

/* Enumerate: index 0..; VM_ERR_NOTFOUND past the end. */
int vm_package_info_at(vm_runtime *rt, unsigned index, vm_package_info *out);

/* ---- applets ---- */

/*
 * Create an applet instance: runs the static install(bArray, bOffset,
 * bLength) of the applet class `applet_aid` declared in package `pkg_aid`;
 * the applet must call Applet.register(), which registers it under
 * `instance_aid` (or applet_aid when instance_aid_len is 0). `params` is
 * copied into the global install array (at most 255 bytes). *sw gets 9000
 * or the status word of the failure; on failure every NVM write of the
 * install is undone.
 */
int vm_install(vm_runtime *rt, const uint8_t *pkg_aid, uint8_t pkg_aid_len,
               const uint8_t *applet_aid, uint8_t applet_aid_len,
               const uint8_t *instance_aid, uint8_t instance_aid_len,
               const uint8_t *params, uint8_t params_len, uint16_t *sw);

/* Delete an applet instance (deselecting it first). Its objects stay until
 * the package is deleted (they may be referenced from statics). */
int vm_delete_instance(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len);

typedef struct vm_applet_info {
    uint8_t aid[VM_AID_MAX];
    uint8_t aid_len;
    uint8_t pkg_aid[VM_AID_MAX];
    uint8_t pkg_aid_len;
    uint8_t selected;
} vm_applet_info;

int vm_applet_info_at(vm_runtime *rt, unsigned index, vm_applet_info *out);

/* The instance a SELECT [by name] of `aid` reaches, by vm_select's rule
 * (the instance with that AID, else the first whose AID starts with it):
 * its AID in out_aid / *out_len and its index (>= 0, the same while the
 * instance exists), or -1 when there is none. */
int vm_select_lookup(const vm_runtime *rt, const uint8_t *aid, uint8_t aid_len, uint8_t out_aid[VM_AID_MAX],
                     uint8_t *out_len);

/*
 * SELECT by AID (exact match, or the first instance whose AID starts with the
 * given partial AID). Deselects the current applet (deselect()), calls the
 * new one's select() and, when `apdu` is not NULL, passes the SELECT command
 * to its process() (Applet.selectingApplet() is true there). *sw is 6A82 when
 * no instance matches (the current applet stays selected), 6999 when
 * select() refuses (nothing is selected then).
 */
int vm_select(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len,
              const uint8_t *apdu, size_t apdu_len,
              uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

/* Deselect the current applet (calls deselect(), clears its
 * CLEAR_ON_DESELECT arrays and unverifies its PINs). */
int vm_deselect(vm_runtime *rt);

/*
 * Run one command APDU (short form: CLA INS P1 P2 [Lc data] [Le], at most
 * 261 bytes) through the selected applet's process(). The response data the
 * applet sends go to resp (resp_cap >= 256 recommended). With no applet
 * selected, *sw = 6999. Any transaction still open when process() ends is
 * aborted.
 */
int vm_process(vm_runtime *rt, const uint8_t *apdu, size_t apdu_len,
               uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

/*
 * Logical channels (ISO 7816-4, JCRE 3.0.5 ch. 4): the basic channel 0,
 * always open, and supplementary channels 1..19 (CLA 01..03 and 40..4F,
 * ISO 7816-4 first and further interindustry classes). vm_select /
 * vm_process / vm_deselect work on channel 0, the _on forms on any open
 * channel (a closed one answers 6881). An instance may be active on
 * several channels, and applets of one package on several channels at
 * once, only when its class implements MultiSelectable: the JCRE then
 * calls MultiSelectable.select(appInstAlreadyActive) /
 * deselect(appInstStillActive) instead of Applet.select() / deselect(),
 * and CLEAR_ON_DESELECT memory is cleared only when no applet of the
 * package stays active on any channel. A selection the rules refuse
 * answers 6985 and leaves the channel as it was. APDU.getCLAChannel() and
 * JCSystem.getAssignedChannel() give the channel of the running command.
 */
#define VM_MAX_CHANNELS 20
int vm_select_on(vm_runtime *rt, uint8_t channel, const uint8_t *aid, uint8_t aid_len,
                 const uint8_t *apdu, size_t apdu_len,
                 uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);
/* vm_select_on of the instance vm_select_lookup answered (`idx`), for a
 * caller that has just looked it up: not looked up again. */
int vm_select_index_on(vm_runtime *rt, uint8_t channel, int idx, const uint8_t *apdu, size_t apdu_len,
                       uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);
int vm_process_on(vm_runtime *rt, uint8_t channel, const uint8_t *apdu, size_t apdu_len,
                  uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);
/* Deselect the applet of `channel`, if any (the card's own application,
 * the security domain, is being selected there). */
int vm_deselect_on(vm_runtime *rt, uint8_t channel);
/* Nonzero when `channel` is open / open with an applet selected on it. */
int vm_channel_is_open(const vm_runtime *rt, uint8_t channel);
int vm_channel_has_applet(const vm_runtime *rt, uint8_t channel);
/*
 * MANAGE CHANNEL (INS 70) received on `channel`: P1 00 opens (P2 00: the
 * card picks the lowest closed channel and answers its number in one byte;
 * P2 1..19: that channel). Opened from a supplementary channel, the applet
 * selected there is selected on the new one too (MultiSelectable rules:
 * 6985, or 6999 when it refuses, and the channel stays closed); opened
 * from the basic channel nothing is (the VM has no default applet; the
 * card's security domain, loader/isd.c, takes it). P1 80 closes channel
 * P2, deselecting its applet.
 * SWs: 9000; 6881 origin channel closed; 6A81 no channel left, P1 not 00
 * or 80, closing channel 0 or a number past 19; 6A86 opening a channel
 * already open or past 19; 6200 (warning) closing a channel already closed.
 */
int vm_manage_channel(vm_runtime *rt, uint8_t channel, uint8_t p1, uint8_t p2,
                      uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

/*
 * Run a `static void m(APDU)` method of package `pkg_aid` on a command, in
 * that package's firewall context. `method` names an exported method:
 * class token in the high byte, public static method token in the low
 * byte (the Export component; 0x0000 is the first static method of the
 * first public class). This is how the LOADER's vector table reaches bytecode entry
 * points of masked, update or customization packages.
 */
int vm_invoke(vm_runtime *rt, const uint8_t *pkg_aid, uint8_t pkg_aid_len,
              uint16_t method, const uint8_t *apdu, size_t apdu_len,
              uint8_t *resp, size_t resp_cap, size_t *resp_len, uint16_t *sw);

/* ---- statistics ---- */
typedef struct vm_stats {
    uint64_t bytecodes;       /* executed since vm_create */
    uint64_t last_bytecodes;  /* executed by the last command */
    uint32_t objects;         /* live objects in the handle table */
    uint32_t ram_free;        /* free bytes in the VM's transient arena */
    uint64_t native_entries;  /* loop regions entered as machine code since vm_create (vm_config.native) */
} vm_stats;
void vm_get_stats(vm_runtime *rt, vm_stats *out);

/* Change the per-command budget (bytecodes) at run time. */
void vm_set_budget(vm_runtime *rt, uint32_t budget);

#ifdef __cplusplus
}
#endif
#endif
