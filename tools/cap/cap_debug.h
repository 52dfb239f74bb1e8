/*
 * cap_debug.h — names and source lines from the Debug components of CAP
 * files (JCVM 3.0.5 §6.14), for the host's reports: the trace's account of
 * an uncaught exception (`cardvm --trace`), the tearing report's writer.
 *
 * The card never receives the Debug component; what it reports is a
 * package AID, a Method component offset (the method_info's `location` in
 * the Debug component) and a bytecode pc, or a Class component offset for
 * a class. This table turns those into class and method names, the source
 * file and the line, for every CAP added to it. A CAP without a Debug
 * component adds nothing, and every lookup may answer NULL.
 */
#ifndef CARDVM_TOOLS_CAP_DEBUG_H
#define CARDVM_TOOLS_CAP_DEBUG_H

#include <stddef.h>
#include <stdint.h>

typedef struct cap_debug_line {
    uint16_t start_pc, end_pc;     /* inclusive */
    uint16_t line;
} cap_debug_line;

typedef struct cap_debug_method {
    uint8_t aid[16], aid_len;      /* package */
    uint16_t location;             /* Method component offset of the method_info */
    const char *name;              /* "process" */
    const char *descriptor;        /* "(Ljavacard/framework/APDU;)V" */
    const char *class_name;        /* "capwork/counter/CounterApplet" */
    const char *source;            /* "CounterApplet.java", or NULL */
    cap_debug_line *lines;
    size_t n_lines;
} cap_debug_method;

typedef struct cap_debug_class {
    uint8_t aid[16], aid_len;
    uint16_t location;             /* Class component offset */
    const char *name;
} cap_debug_class;

typedef struct cap_debug {
    cap_debug_method *methods;
    size_t n_methods;
    cap_debug_class *classes;
    size_t n_classes;
    char **strings;                /* every name above, owned here */
    size_t n_strings;
} cap_debug;

/* Add a CAP file (zip bytes, or a path). 0 (also for a CAP without a Debug
 * component), or -1 on an unreadable file, a malformed component, memory. */
int cap_debug_add_cap(cap_debug *d, const uint8_t *zip, size_t len);
int cap_debug_add_file(cap_debug *d, const char *path);

/* The method at Method component offset `location` of package aid, or NULL. */
const cap_debug_method *cap_debug_method_at(const cap_debug *d, const uint8_t *aid, size_t aid_len,
                                            uint16_t location);
/* The source line of bytecode pc in that method: the narrowest entry of its
 * line table covering pc; 0 when none does. */
unsigned cap_debug_line_at(const cap_debug_method *m, uint16_t pc);
/* The class at Class component offset `location` of package aid, or NULL. */
const cap_debug_class *cap_debug_class_at(const cap_debug *d, const uint8_t *aid, size_t aid_len,
                                          uint16_t location);

void cap_debug_free(cap_debug *d);

/* ---- The Debug component as it stands ----
 * Every entry §6.14 lists but the local variable tables, for host code
 * that needs more than the names and lines above (the converter's export
 * model of a library CAP, tools/convert/export_cap.c), and what the table
 * above is built from: one reader of the component for both.
 * Strings are referred to by their index in the component's string table;
 * the reader does not judge indexes (cap_debug_string answers NULL for one
 * out of range), its users decide what a missing name means. */
typedef struct cap_debug_field_info {
    uint16_t name, descriptor;     /* string indexes */
    uint16_t access;               /* class file access flags */
    uint32_t contents;             /* token_var, location_var or const_value */
} cap_debug_field_info;

typedef struct cap_debug_method_info {
    uint16_t name, descriptor;     /* string indexes */
    uint16_t access;
    uint16_t location;             /* Method component offset (0: abstract) */
    cap_debug_line *lines;
    size_t n_lines;
} cap_debug_method_info;

typedef struct cap_debug_class_info {
    uint16_t name, superclass, source_file;   /* string indexes */
    uint16_t access;
    uint16_t location;             /* Class component offset */
    uint16_t *interfaces;          /* string indexes */
    unsigned n_interfaces;
    cap_debug_field_info *fields;
    unsigned n_fields;
    cap_debug_method_info *methods;
    unsigned n_methods;
} cap_debug_class_info;

typedef struct cap_debug_component {
    char **strings;                /* NUL-terminated copies, owned here */
    unsigned n_strings;
    uint16_t package_name;         /* string index */
    cap_debug_class_info *classes;
    unsigned n_classes;
} cap_debug_component;

/* Read a Debug component's info (the bytes after its tag and size).
 * 0, CAP_DEBUG_MALFORMED (a count or length past its end) or
 * CAP_DEBUG_NO_MEMORY; out is then empty. */
enum { CAP_DEBUG_MALFORMED = -1, CAP_DEBUG_NO_MEMORY = -2 };
int cap_debug_component_read(const uint8_t *info, size_t len, cap_debug_component *out);
/* String `index` of the component's table, or NULL when out of range. */
const char *cap_debug_string(const cap_debug_component *c, unsigned index);
void cap_debug_component_free(cap_debug_component *c);

#endif
