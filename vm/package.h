/*
 * package.h — the package (".cvp") binary format, parsed.
 *
 * docs/package-format.md describes the bytes; this header describes what the
 * parser makes of them. vm_pkg_parse() checks structure only (lengths, counts,
 * the SHA-256 trailer); vm_pkg_verify() (verify.c) then checks every
 * reference and every method's code. All multi-byte fields are big-endian.
 */
#ifndef CARDVM_VM_PACKAGE_H
#define CARDVM_VM_PACKAGE_H

#include <stddef.h>
#include <stdint.h>
#include "vm.h"

#define VM_PKG_MAGIC0 'C'
#define VM_PKG_MAGIC1 'V'
#define VM_PKG_MAGIC2 'P'
#define VM_PKG_MAGIC3 'K'
#define VM_PKG_FORMAT 1
#define VM_PKG_HASH_LEN 32
#define VM_PKG_MAX_SIZE 65535u   /* whole blob, hash included */

/* Limits checked by the parser. */
#define VM_MAX_IMPORTS 16
#define VM_MAX_CLASSES 255       /* class count limit + 1: ids 0..253, 0xFF = no class */
#define VM_MAX_METHODS 1024
#define VM_MAX_CP 4096
#define VM_MAX_STATICS 1024
#define VM_MAX_APPLETS 8
#define VM_MAX_CODE 32767

/* Constant pool: 4 bytes per entry, tag then 3 bytes. */
enum vm_cp_tag {
    VM_CP_CLASS = 1,   /* u2 class id, u1 0                   */
    VM_CP_IFIELD = 2,  /* u1 class index, u1 field slot, u1 0 */
    VM_CP_SFIELD = 3,  /* u2 static index, u1 0               */
    VM_CP_SMETHOD = 4, /* u2 method index, u1 0               */
    VM_CP_VMETHOD = 5, /* u1 class index, u1 vtable slot, u1 0 */
    VM_CP_NATIVE = 6,  /* u2 token, u1 0                      */
};

/* Class ids: 0..254 are the package's own classes (index into classes[]);
 * 0x100.. are the system classes below. */
#define VM_CLASS_NONE 0xFFFFu
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

/* Name and superclass of a system class id, or NULL / VM_CLASS_NONE. */
const char *vm_sys_class_name(uint16_t id);
uint16_t vm_sys_class_super(uint16_t id);
int vm_sys_class_by_name(const char *name, size_t len);   /* id or -1 */

typedef struct vm_aid {
    uint8_t len;
    uint8_t b[VM_AID_MAX];
} vm_aid;

typedef struct vm_import {
    vm_aid aid;
    uint8_t major, minor;
} vm_import;

typedef struct vm_class {
    uint16_t super;          /* class id; VM_CLASS_NONE = Object */
    uint8_t field_count;     /* instance field slots, inherited included */
    uint8_t vtable_count;
    const uint8_t *vtable;   /* vtable_count x u2 method index (in blob) */
} vm_class;

/* Method flags (byte 0 of a method). */
#define VM_MF_STATIC  0x01
#define VM_MF_RETURNS 0x02   /* returns one word (sreturn/areturn) */

typedef struct vm_handler {
    uint16_t start, end;     /* protected range [start, end) */
    uint16_t handler;        /* entry pc */
    uint16_t catch_cp;       /* CLASS constant, 0xFFFF = any */
} vm_handler;

typedef struct vm_method {
    uint8_t flags;
    uint8_t cls;             /* class index the method belongs to */
    uint8_t nargs;           /* argument words ("this" included) */
    uint8_t max_locals;      /* local words beyond the arguments */
    uint8_t max_stack;       /* operand stack words */
    uint16_t code_len;
    const uint8_t *code;     /* in the blob */
    uint32_t code_off;       /* offset of code in the blob */
    uint8_t handler_count;
    const uint8_t *handlers; /* handler_count x 8 bytes (in the blob) */
} vm_method;

typedef struct vm_applet_decl {
    vm_aid aid;
    uint8_t cls;
    uint16_t install, process, select, deselect;   /* 0xFFFF: none */
} vm_applet_decl;

typedef struct vm_package {
    const uint8_t *blob;
    uint32_t len;            /* hash included */
    uint8_t kind;
    uint16_t flags;
    uint8_t major, minor;
    vm_aid aid;
    uint8_t import_count;
    vm_import imports[VM_MAX_IMPORTS];
    uint16_t cp_count;
    const uint8_t *cp;       /* cp_count x 4 bytes */
    uint8_t class_count;
    vm_class *classes;
    uint16_t static_count;
    const uint8_t *statics;  /* static_count x u2 initial values */
    uint16_t method_count;
    vm_method *methods;
    uint8_t applet_count;
    vm_applet_decl applets[VM_MAX_APPLETS];
} vm_package;

static inline uint16_t vm_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void vm_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static inline vm_handler vm_method_handler(const vm_method *m, unsigned i)
{
    const uint8_t *h = m->handlers + 8u * i;
    vm_handler r = { vm_be16(h), vm_be16(h + 2), vm_be16(h + 4), vm_be16(h + 6) };
    return r;
}

/* Parse structure and check the SHA-256 trailer. The package keeps pointers
 * into `blob`, which must outlive it. Returns 0 or VM_ERR_VERIFY (message in
 * err as "offset N: reason"). */
int vm_pkg_parse(const uint8_t *blob, size_t len, vm_package *p, char *err, size_t errlen);
void vm_pkg_free(vm_package *p);

/* Full verification of a parsed package (verify.c). */
int vm_pkg_verify(const vm_package *p, const vm_extension *ext, unsigned flags,
                  char *err, size_t errlen);

/* Arity of an invocation target, as the verifier and assembler see it.
 * Returns 0 and fills pops/pushes, or -1 (unknown token...). */
int vm_cp_invoke_effect(const vm_package *p, uint8_t opcode, uint16_t cp_index,
                        const vm_extension *ext, int *pops, int *pushes);

/* Compute the maximum stack depth of method `m` by the verifier's dataflow
 * (used by the assembler when a method does not state it). -1 on error. */
int vm_method_stack_need(const vm_package *p, const vm_method *m,
                         const vm_extension *ext, char *err, size_t errlen);

/* SHA-256 (libtomcrypt). */
void vm_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif
