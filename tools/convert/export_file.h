/*
 * export_file.h — what the converter knows of an imported package: its
 * name, AID, version, and the tokens of its public classes, methods and
 * fields (JCVM 3.0.5 ch. 5, the export file). One model, three sources and
 * one writer:
 *
 *   ex_from_api()   a built-in API package, from the card's own token
 *                   tables (vm/api_tokens.h); no file needed.
 *   ex_read()       an export file (.exp, format 2.1 or 2.2) as Oracle's
 *                   converter and cardvm's write them.
 *   ex_from_cap()   a library's CAP file (export_cap.c): tokens from its
 *                   Export and Descriptor components, names from its Debug
 *                   component. A CAP without Debug component has tokens
 *                   only, no names, so no model: EX_NO_NAMES.
 *   ex_write()      the export file of a converted package.
 *
 * A class lists every public and protected member it has, inherited ones
 * included (as export files do), so a lookup never walks superclasses of
 * another package except for the declaring class's name.
 */
#ifndef CARDVM_TOOLS_EXPORT_FILE_H
#define CARDVM_TOOLS_EXPORT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "api_tokens.h"

enum ex_kind { EX_STATIC = 1, EX_VIRTUAL = 2, EX_CONSTRUCTOR = 3, EX_FIELD = 4 };

typedef struct ex_member {
    char *name, *desc;
    uint8_t token;      /* 0xFF: a compile-time constant */
    uint16_t flags;     /* JC_ACC_* */
    uint8_t kind;       /* enum ex_kind */
    int32_t value;      /* compile-time constant's value */
} ex_member;

typedef struct ex_class {
    char *name;         /* "javacard/framework/Applet" */
    uint8_t token;
    uint16_t flags;     /* JC_ACC_*: INTERFACE, SHAREABLE, ... */
    char **supers;      /* superclass chain, nearest first (interfaces: java/lang/Object) */
    unsigned n_supers;
    char **interfaces;  /* all superinterfaces / implemented interfaces */
    unsigned n_interfaces;
    ex_member *members;
    unsigned n_members;
} ex_class;

typedef struct ex_package {
    char *name;         /* "javacard/framework" */
    uint8_t aid[16], aid_len, major, minor;
    ex_class *classes;
    unsigned n_classes;
} ex_package;

int ex_from_api(const jc_api_package *api, ex_package *out);

/* The class of another package that a CAP's class extends, by name
 * ("javacard/framework/Applet"), or NULL when unknown: ex_from_cap takes
 * the virtual methods a class inherits, its superclass chain and interfaces
 * from it. */
typedef const ex_class *(*ex_class_lookup)(void *ctx, const char *class_name);

#define EX_NO_NAMES (-2)
/* The export model of the package in a CAP file (zip bytes): the classes
 * its Export component lists (a library's public classes and interfaces,
 * an applet package's Shareable interfaces), each as an export file gives
 * it. 0; EX_NO_NAMES when the CAP has no Debug component; -1 on a CAP
 * that cannot be read or whose components disagree; err says why. */
int ex_from_cap(const uint8_t *zip, size_t len, ex_class_lookup lookup, void *ctx, ex_package *out, char *err,
                size_t errlen);

/* Parse an export file. 0, or -1 with err. */
int ex_read(const uint8_t *bytes, size_t len, ex_package *out, char *err, size_t errlen);
/* Write the export file (format 2.1) of a package; *bytes malloc'ed. */
int ex_write(const ex_package *p, uint8_t **bytes, size_t *len);
void ex_free(ex_package *p);
void ex_class_free(ex_class *c);

const ex_class *ex_class_by_name(const ex_package *p, const char *name);
/* Append a member to c, or a copy of s to the string vector v. 0, -1 (memory). */
int ex_add_member(ex_class *c, const char *name, const char *desc, uint8_t token, uint16_t flags, int kind,
                  int32_t value);
int ex_add_str(char ***v, unsigned *n, const char *s);

/* A member of class c by name, descriptor and kind (EX_FIELD for fields). */
const ex_member *ex_member_of(const ex_class *c, const char *name, const char *desc, int kind);

#endif
