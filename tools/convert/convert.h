/*
 * convert.h — the open Java Card converter: a package's JVM class files
 * (javac's output) -> the package as JCA text (tools/jca/jca.h), which the
 * JCA assembler turns into the CAP file, plus the package's export file.
 * The manual for users is docs/convert.md; `cardvm convert` is the front
 * end (tools/cmd_convert.c).
 *
 * What it does, in the order of the specification's converter duties:
 *
 *   * reads the classes of one package (a folder or a jar);
 *   * resolves every reference: to this package, to a built-in API package
 *     (the card's own token tables, vm/api_tokens.h), or to a user library
 *     through its export file or, without one, its CAP file with a Debug
 *     component (--export-path; export_file.h); anything else is a missing
 *     import, a member a package does not export an unsupported API call;
 *   * checks the Java Card language subset: no long, float, double, char,
 *     String, int (the card has no int support), synchronized, jsr,
 *     multi-dimensional arrays, static initializers beyond constants and
 *     arrays of constants;
 *   * types JVM int arithmetic as the JCVM's short arithmetic: the result
 *     of an operation that can overflow a short (+ - * << neg / >>>) is an
 *     "int intermediate" and must be cast to short or byte (i2s / i2b)
 *     before it is stored, passed, returned, compared, used as an index or
 *     divided; & | ^ >> % of shorts stay shorts;
 *   * assigns tokens by JCVM 3.0.5 section 4.3.7 (class, static field and
 *     static method tokens in class order; virtual method tokens after the
 *     superclass's, overriding methods keep theirs; package-visible
 *     methods in the package table; instance fields public primitives,
 *     public references, private references, private primitives); with
 *     export_map, the public tokens of the previous version are kept
 *     (classes, static fields and methods, virtual and interface methods)
 *     and new ones follow them, for binary compatibility (JCVM 4.4);
 *   * emits JCA that the assembler lays out as CAP components.
 *
 * Every refusal names the class, the method and the source line
 * (LineNumberTable: compile with javac -g for line numbers).
 */
#ifndef CARDVM_TOOLS_CONVERT_H
#define CARDVM_TOOLS_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "export_file.h"

#define CONVERT_MAX_APPLETS 16
#define CONVERT_MAX_EXPORT_PATH 16

typedef struct convert_applet {
    uint8_t aid[16], aid_len;
    const char *class_name;     /* "capwork.counter.CounterApplet" or "CounterApplet" */
} convert_applet;

typedef struct convert_options {
    const char *classes;        /* a folder (the package's classes under its path) or a .jar */
    const char *package;        /* "capwork.counter" (or with '/') */
    uint8_t aid[16], aid_len;
    uint8_t major, minor;
    convert_applet applets[CONVERT_MAX_APPLETS];
    unsigned n_applets;
    const char *export_path[CONVERT_MAX_EXPORT_PATH];
    unsigned n_export_path;
    int cap22;                  /* CAP format 2.2 (the .capFormat directive) */
    int debug_info;             /* .sourceFile and .line for the JCA assembler's Debug
                                 * component (needs cap22) */
    const char *export_map;     /* the previous export file of this package: its public
                                 * tokens are kept, new members get the next ones */
} convert_options;

typedef struct convert_result {
    char *jca;                  /* the package as JCA text (malloc'ed) */
    ex_package exp;             /* its export model, for ex_write() */
    char package_path[256];     /* "capwork/counter" */
} convert_result;

/* Convert. 0, or -1 with err ("File.java:LINE: class C, method M: what").
 * On success free the result with convert_result_free(). */
int convert_package(const convert_options *o, convert_result *out, char *err, size_t errlen);
void convert_result_free(convert_result *r);

/* "A0:00:00:00:62:01:01", "A00000006201 01", "0xA0:0x0:..." -> bytes.
 * 0, or -1 when not 5..16 hex bytes. */
int convert_parse_aid(const char *s, uint8_t *aid, uint8_t *len);

#endif
