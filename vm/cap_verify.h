/*
 * cap_verify.h — on-card verification of a parsed CAP package: the manual
 * of vm/cap_verify.c (structure across components) and
 * vm/cap_verify_code.c (bytecode and its types).
 *
 * cap_parse() (vm/cap_format.h) has already checked that each component is
 * well formed on its own. vm_cap_verify() checks everything else the JCVM
 * specification (3.0.5, ch. 6 and 7) and the off-card verifier's rules ask
 * for, before the card stores one byte of the package:
 *
 *   structure    the Directory's component sizes equal the real ones; the
 *                import and applet counts agree; every class_ref, method
 *                offset (applet install methods, vtables, Export, internal
 *                constant-pool refs, exception handlers) lands on a real
 *                class_info or method header; static field refs fall inside
 *                the static image; the Descriptor component agrees with the
 *                Class and Method components.
 *   linking      every import is a package the card has (a built-in API
 *                package from vm/api_tokens.h, or a user package already
 *                loaded) with the same major version and a minor version no
 *                higher than the card's; every external token names a class,
 *                method or field that exists in it.
 *   RefLocation  lists exactly the constant-pool operands of the bytecode:
 *                every listed offset is the CP-index operand of an
 *                instruction (1-byte list: u1 operands, 2-byte list: u2
 *                operands), and every CP-index operand is listed.
 *   bytecode     every opcode known (the VM's table, vm/opcodes.h; the `int`
 *                opcodes are refused: cardvm is a 16-bit machine), operands
 *                in range, constant-pool entries of the kind each opcode
 *                needs, branch and switch targets on instruction boundaries
 *                inside the method, exception handler ranges inside one
 *                method with handler entries on instruction boundaries,
 *                max_stack and max_locals respected on every path.
 *   types        a dataflow over each method types every stack word and
 *                local as short (byte/boolean/short: one 16-bit word
 *                class), reference (null, a class, an array of a given
 *                element type), or uninitialised; a short is never used as a
 *                reference nor a reference as a short, so a reference cannot
 *                be forged from a number and the card may trust every
 *                reference it meets at run time.
 *
 * Types of internal methods and fields come from the Descriptor component
 * (JCVM §6.13): a CAP without one is refused ("Descriptor component
 * required for on-card verification"). Every converter output the project
 * knows of (Oracle 2.2.x and 3.0.x, with and without -debug) carries it.
 * Types of external members come from the API tables (JVM descriptor
 * strings) or from the imported user package's own Descriptor component.
 *
 * Error messages name where the problem is, so `cardvm verify` can print
 * them as they are:
 *   "<Component> offset N: reason"                      (component info offset)
 *   "Method offset N (class C method M) pc P: reason"   (bytecode; N the
 *                                                        method offset, C
 *                                                        the class offset
 *                                                        or token, M the
 *                                                        method's token, P
 *                                                        the offset from the
 *                                                        first bytecode)
 * and a missing or incompatible import as "Import offset N: ...".
 */
#ifndef CARDVM_VM_CAP_VERIFY_H
#define CARDVM_VM_CAP_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "cap_format.h"
#include "api_tokens.h"

/*
 * What the verifier may link against. The card's built-in API packages are
 * a table (normally jc_api_packages / jc_api_package_count); user packages
 * already on the card are reached through a callback returning that
 * package's parsed view (the engine keeps or re-parses the stored load
 * file), from which the verifier reads the Export and Descriptor
 * components. find_user may be NULL: then only API imports resolve.
 */
typedef struct cap_link_env {
    const jc_api_package *api;
    unsigned api_count;
    /* The loaded user package with this AID, or NULL. The view must stay
     * valid until vm_cap_verify returns. */
    const cap_view *(*find_user)(void *ctx, const uint8_t *aid, uint8_t aid_len);
    void *ctx;
} cap_link_env;

enum cap_verify_flags {
    /* Host use (`cardvm verify` without the libraries at hand): an import
     * that is neither an API package nor found by find_user is accepted,
     * and references into it are checked for kind and shape only (their
     * tokens and types cannot be). Never set on the card. */
    CAP_VERIFY_UNRESOLVED_IMPORTS_OK = 1,
    /* The package is the customization software, which the LOADER loads
     * privileged (VM_LOAD_PRIVILEGED): it may import a privileged API
     * package (cardvm.loader, api_tokens.h). Without the flag such an
     * import is refused like a package the card lacks (VM_ERR_DEPENDENCY,
     * 6985): outside the customization software's context the package is
     * invisible. */
    CAP_VERIFY_PRIVILEGED = 2,
};

/*
 * Verify a parsed package. Returns 0; VM_ERR_VERIFY with the reason in err
 * (format above); VM_ERR_DEPENDENCY when an import is missing or has an
 * incompatible version (the card answers 6985); VM_ERR_NOMEM when a host
 * allocation fails. Writes nothing but err; needs no runtime.
 */
int vm_cap_verify(const cap_view *v, const cap_link_env *env, unsigned flags,
                  char *err, size_t errlen);

/*
 * Parse then verify a load file (components concatenated, with or without
 * the GP C4 tag and BER length in front). Same results; the parser's
 * messages are in the same format. This is what `cardvm verify FILE.cap`
 * and vm_verify() on CAP bytes run.
 */
int vm_cap_verify_load_file(const uint8_t *bytes, size_t len,
                            const cap_link_env *env, unsigned flags,
                            char *err, size_t errlen);

/* An env over the card's built-in API packages only (jc_api_packages). */
void cap_link_env_builtin(cap_link_env *env);

#endif
