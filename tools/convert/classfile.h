/*
 * classfile.h — a JVM class file as the converter reads it (JVMS ch. 4):
 * the constant pool, the class's names and flags, fields with their
 * ConstantValue, methods with Code, exception table, LineNumberTable and
 * LocalVariableTable. Nothing is resolved here; the converter does that.
 *
 * cf_parse() accepts class file versions 45 to 61 (Java 1.1 to 17) and
 * checks every index it follows, so any bytes give a class or an error.
 */
#ifndef CARDVM_TOOLS_CLASSFILE_H
#define CARDVM_TOOLS_CLASSFILE_H

#include <stddef.h>
#include <stdint.h>

enum {
    CF_UTF8 = 1, CF_INTEGER = 3, CF_FLOAT = 4, CF_LONG = 5, CF_DOUBLE = 6, CF_CLASS = 7, CF_STRING = 8,
    CF_FIELDREF = 9, CF_METHODREF = 10, CF_IMETHODREF = 11, CF_NAMETYPE = 12, CF_METHODHANDLE = 15,
    CF_METHODTYPE = 16, CF_DYNAMIC = 17, CF_INVOKEDYNAMIC = 18, CF_MODULE = 19, CF_PACKAGE = 20,
};

#define CF_ACC_PUBLIC 0x0001
#define CF_ACC_PRIVATE 0x0002
#define CF_ACC_PROTECTED 0x0004
#define CF_ACC_STATIC 0x0008
#define CF_ACC_FINAL 0x0010
#define CF_ACC_SYNCHRONIZED 0x0020
#define CF_ACC_NATIVE 0x0100
#define CF_ACC_INTERFACE 0x0200
#define CF_ACC_ABSTRACT 0x0400

typedef struct cf_const {
    uint8_t tag;
    uint16_t a, b;        /* indices (class: a = name; ref: a = class, b = name&type; nt: a = name, b = desc) */
    int32_t value;        /* CONSTANT_Integer */
    char *utf8;           /* CONSTANT_Utf8, NUL-terminated (modified UTF-8 kept as is) */
} cf_const;

typedef struct cf_handler {
    uint16_t start, end, handler, catch_type;   /* catch_type: class constant or 0 (any) */
} cf_handler;

typedef struct cf_line {
    uint16_t pc, line;
} cf_line;

typedef struct cf_local {
    uint16_t start, length, index;
    const char *name, *desc;
} cf_local;

typedef struct cf_field {
    uint16_t flags;
    const char *name, *desc;
    int has_value;
    uint16_t value_index;   /* ConstantValue: a constant-pool index */
} cf_field;

typedef struct cf_method {
    uint16_t flags;
    const char *name, *desc;
    int has_code;
    uint16_t max_stack, max_locals;
    const uint8_t *code;
    uint32_t code_len;
    cf_handler *handlers;
    unsigned n_handlers;
    cf_line *lines;
    unsigned n_lines;
    cf_local *locals;
    unsigned n_locals;
} cf_method;

typedef struct cf_class {
    uint8_t *bytes;         /* the file (owned) */
    size_t len;
    uint16_t major;
    cf_const *cp;
    unsigned cp_count;
    uint16_t flags;
    const char *name, *super_name;   /* super_name NULL for java/lang/Object */
    const char **interfaces;
    unsigned n_interfaces;
    cf_field *fields;
    unsigned n_fields;
    cf_method *methods;
    unsigned n_methods;
    const char *source_file;         /* "Foo.java" or NULL */
} cf_class;

/* Parse bytes (taken over: freed by cf_free, also on error). 0, or -1 with
 * err naming what is wrong and where. */
int cf_parse(uint8_t *bytes, size_t len, cf_class *out, char *err, size_t errlen);
void cf_free(cf_class *c);

/* Constant-pool helpers: NULL when the index is not of that kind. */
const char *cf_utf8(const cf_class *c, unsigned index);
const char *cf_class_name(const cf_class *c, unsigned index);
/* A Fieldref/Methodref/InterfaceMethodref: owner class, name, descriptor. */
int cf_member_ref(const cf_class *c, unsigned index, const char **owner, const char **name, const char **desc);

/* The source line of pc (LineNumberTable), 0 when unknown. */
unsigned cf_line_of(const cf_method *m, unsigned pc);

#endif
