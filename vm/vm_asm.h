/*
 * vm_asm.h — assembler and disassembler for cardvm packages.
 *
 * The text form is described in docs/vm.md ("Assembly language"). In short:
 *
 *   .package A00000006203 1.0 applet      ; AID, version, kind
 *   .equ INS_HELLO 0x10                   ; named constant
 *   .static counter 0                     ; static field (one 16-bit word)
 *   .class Hello extends Applet
 *   .field greeting                       ; instance field
 *   .method install static args=3
 *       new Hello
 *       ...
 *       return
 *   .end
 *   .applet A0000000620301 Hello install=install process=process
 *
 * Errors are reported as "file:line:column: message". The disassembler
 * prints every table explicitly (constant pool, vtables, max stack...), so
 * vm_asm(vm_disasm(p)) reproduces p byte for byte.
 */
#ifndef CARDVM_VM_ASM_H
#define CARDVM_VM_ASM_H

#include <stddef.h>
#include <stdint.h>
#include "vm.h"

/*
 * Assemble `src` (len bytes; need not be NUL-terminated). `name` is used in
 * error messages. `ext` names extension tokens (may be NULL; `.native`
 * directives can name them too). On success *out is a malloc'd package
 * blob (free it) and the result is VM_OK; on failure VM_ERR_VERIFY with the
 * first error in err.
 */
int vm_asm(const char *src, size_t len, const char *name, const vm_extension *ext,
           uint8_t **out, size_t *out_len, char *err, size_t errlen);

/*
 * Disassemble a package (structure and hash are checked first; the full
 * verifier is not needed, so refused packages can be inspected). *out is a
 * malloc'd NUL-terminated text.
 */
int vm_disasm(const uint8_t *blob, size_t len, const vm_extension *ext, char **out,
              char *err, size_t errlen);

#endif
