/*
 * jca.h — JCA (Java Card Assembly), the text form of a CAP file: the manual
 * of tools/jca/.
 *
 * JCA is what Oracle's converter writes with `-out JCA` and what its capgen
 * turns back into a CAP file. cardvm uses it as its one text form for
 * packages: `cardvm asm X.jca -o X.cap` assembles, `cardvm disasm X.cap`
 * prints JCA that assembles back to the same components. The language as
 * cardvm accepts it is described in docs/jca.md.
 *
 *   jca_assemble()     lexer + parser + emitter: JCA text -> the CAP
 *                      components (Header ... Descriptor), laid out the way
 *                      Oracle's converter lays them out, so that the
 *                      converter's own JCA gives its CAP byte for byte; and a
 *                      Debug component when the text has cardvm's
 *                      `.sourceFile` / `.line` directives (docs/jca.md).
 *   jca_write_cap()    the components -> a CAP zip (libzip), one file per
 *                      component under <package path>/javacard/.
 *   jca_disassemble()  a load file (components concatenated, as
 *                      tools/cap/cap_file.h reads them) -> JCA text, with
 *                      labels, bytecode pcs and constant-pool comments naming
 *                      API members from vm/api_tokens.h; with a Debug
 *                      component, its names, `.sourceFile` and `.line`.
 *
 * Errors are "file:line:column: message" in err, the message naming what was
 * expected.
 *
 * The CAP format version is not in the JCA Oracle writes (the converter
 * chooses 2.1 without -debug, 2.2 with it); cardvm takes it from the option
 * below or from its own directive `.capFormat 2.2;` (docs/jca.md).
 */
#ifndef CARDVM_TOOLS_JCA_H
#define CARDVM_TOOLS_JCA_H

#include <stddef.h>
#include <stdint.h>

#define JCA_MAX_TAG 12

typedef struct jca_options {
    uint8_t cap_major, cap_minor;   /* 0.0: the directive, else 2.1 */
} jca_options;

/* An assembled package: components by tag (bytes NULL when absent), each
 * "u1 tag, u2 size, info" as in the CAP file. */
typedef struct jca_cap {
    uint8_t *component[JCA_MAX_TAG + 1];
    size_t component_len[JCA_MAX_TAG + 1];
    char package_path[256];          /* "capwork/counter" */
    /* Where the Method component came from, for diagnostics: the JCA line
     * of the instruction (or method header) at each Method-info offset (0:
     * none), and the bytecode start of the method whose header is at each
     * offset. Both method_len long. */
    int *line_at;
    uint16_t *code_at;
    size_t method_len;
} jca_cap;

int jca_assemble(const char *src, size_t len, const char *filename, const jca_options *opt, jca_cap *out,
                 char *err, size_t errlen);
void jca_cap_free(jca_cap *c);

/* The JCA line a verifier message (vm/cap_verify.h) points at: "Method
 * offset M (class C method T) pc P: ..." or "Method offset M: ...".
 * 0 when the message names no place in the code. */
int jca_source_line(const jca_cap *c, const char *verifier_message);

/* Write the components as a CAP zip at path. 0, or -1 with err. */
int jca_write_cap(const jca_cap *c, const char *path, char *err, size_t errlen);

/* The components in load order without Debug (what the card receives). */
int jca_load_file(const jca_cap *c, uint8_t **bytes, size_t *len);

/* Disassemble a load file (components concatenated; a Debug component
 * gives names, source files and lines). package_path ("capwork/counter") names the package when the
 * Header (CAP 2.1) carries no name; may be NULL. *text is malloc'ed. */
int jca_disassemble(const uint8_t *load_file, size_t len, const char *package_path, char **text, char *err,
                    size_t errlen);

#endif
