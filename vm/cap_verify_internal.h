/*
 * cap_verify_internal.h — what vm/cap_verify.c (components, linking) hands
 * vm/cap_verify_code.c (bytecode): the decoded Descriptor component, the
 * method table, the resolved imports and the types of constant-pool
 * entries. Private to the verifier.
 */
#ifndef CARDVM_VM_CAP_VERIFY_INTERNAL_H
#define CARDVM_VM_CAP_VERIFY_INTERNAL_H

#include "cap_verify.h"

/* Value types, numbered as the Descriptor's type nibbles (JCVM §6.13). */
enum cv_kind {
    CVT_VOID = 0x1,
    CVT_BOOL = 0x2,
    CVT_BYTE = 0x3,
    CVT_SHORT = 0x4,
    CVT_INT = 0x5,
    CVT_REF = 0x6,
    CVT_ABOOL = 0xA,
    CVT_ABYTE = 0xB,
    CVT_ASHORT = 0xC,
    CVT_AINT = 0xD,
    CVT_AREF = 0xE,
};

/* Descriptor access flags (§6.13). */
#define CV_ACC_PUBLIC    0x01
#define CV_ACC_PRIVATE   0x02
#define CV_ACC_PROTECTED 0x04
#define CV_ACC_STATIC    0x08
#define CV_ACC_FINAL     0x10
#define CV_ACC_CINTERFACE 0x40   /* class descriptor */
#define CV_ACC_CABSTRACT  0x80   /* class descriptor */
#define CV_ACC_MABSTRACT  0x40   /* method descriptor */
#define CV_ACC_INIT       0x80   /* method descriptor: a constructor */

#define CV_MAX_PARAMS 64

/* "Any class": java.lang.Object, or a class the verifier cannot name. */
#define CV_CLS_ANY 0xFFFFu
/* "Some Throwable": what a catch-any (finally) handler receives. No class
 * token is 0xFE in any package, so it names no real class. */
#define CV_CLS_THROWABLE 0xFFFEu

/* A method or field type. Fields: nparams 0, ret = the field's type. The
 * class of a reference (or of an array's elements) is a class_ref in the
 * verified package's encoding, CV_CLS_ANY when unknown or not a class. */
typedef struct cv_sig {
    uint8_t nparams;
    uint8_t params[CV_MAX_PARAMS];
    uint16_t pcls[CV_MAX_PARAMS];
    uint8_t ret;
    uint16_t rcls;
} cv_sig;

#define CV_CPF_STATIC 1       /* a static method */
#define CV_CPF_CTOR   2       /* a constructor (else: a private instance method) */

typedef struct cv_method {
    uint16_t offset;          /* method offset; 0 for interface methods */
    uint16_t type_offset;
    uint16_t bytecode_count;
    uint16_t handler_count, handler_index;
    uint16_t class_ref;       /* the declaring class (class offset) */
    uint8_t token, access;
    uint8_t class_is_interface;
} cv_method;

typedef struct cv_dclass {
    uint8_t token, access;
    uint16_t this_ref;
    uint8_t iface_count;
    const uint8_t *ifaces;    /* iface_count x class_ref */
    uint16_t field_count, method_count;
    const uint8_t *fields;    /* field_count x 7 bytes */
    uint32_t first_method;    /* index into cv_desc.methods */
} cv_dclass;

/* A decoded Descriptor component (ours or an imported user package's). */
typedef struct cv_desc {
    uint8_t class_count;
    cv_dclass *classes;
    cv_method *methods;
    uint32_t method_count;
    const uint8_t *types;     /* type_descriptor_info: type offsets count from here */
    uint16_t types_size;
    uint16_t cp_type_count;   /* constant_pool_types entries */
} cv_desc;

typedef struct cv_import {
    const jc_api_package *api;
    const cap_view *user;
    cv_desc user_desc;
} cv_import;

typedef struct cv_ctx {
    const cap_view *v;
    const cap_link_env *env;
    unsigned flags;
    char *err;
    size_t errlen;
    int failed;
    cv_desc d;
    cv_import imports[CAP_MAX_IMPORTS];
    cv_method **by_offset;    /* methods with a method_info, by offset */
    uint32_t by_offset_count;
    cv_sig *cp_sigs;          /* type of each field/method CP entry */
    uint8_t *cp_known;        /* 1: cp_sigs[i] is set */
    uint8_t *cp_flags;        /* static method refs: CV_CPF_* of the target */
    uint8_t *operand_marks;   /* per Method byte: 1 = u1 CP operand, 2 = u2 */
} cv_ctx;

/* "<Component> offset N: reason"; returns VM_ERR_VERIFY. */
int cv_fail(cv_ctx *c, uint8_t tag, unsigned off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "Method offset N (class C method M) pc P: reason". */
int cv_fail_code(cv_ctx *c, const cv_method *m, unsigned pc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The method whose method_info starts at this offset, or NULL. */
const cv_method *cv_method_at(const cv_ctx *c, uint16_t offset);
/* Decode the type at a type offset of a Descriptor. 0 or -1. */
int cv_decode_type(const cv_desc *d, uint16_t type_offset, cv_sig *out);
/* Resolve a class_ref to "is an interface" (1), a class (0), or -1 when it
 * names nothing. Unresolved imports (host flag) answer -2. */
int cv_class_kind(cv_ctx *c, uint16_t class_ref);
/* 1 when the class is java.lang.Throwable or below it. */
int cv_is_throwable(cv_ctx *c, uint16_t class_ref);
/* 1 when the class is abstract (cannot be instantiated). */
int cv_class_abstract(cv_ctx *c, uint16_t class_ref);
/* The method of interface `iface_ref` with this token: its type. 0, -1 when
 * absent, -2 when the interface lies in an unresolved import. */
int cv_interface_method(cv_ctx *c, uint16_t iface_ref, uint8_t token, cv_sig *out);

/* Class hierarchy, on class_refs of the verified package: may a value of
 * class `from` go where class `to` is wanted (subclass, or `to` is an
 * interface or Object)? And the nearest common superclass of two. */
int cv_assignable_class(cv_ctx *c, uint16_t from, uint16_t to);
uint16_t cv_lub_class(cv_ctx *c, uint16_t a, uint16_t b);

/* Bytecode of one method (cap_verify_code.c): 0 or VM_ERR_*. */
int cv_verify_method(cv_ctx *c, const cv_method *m);

#endif
