/*
 * package.c — parsing of the package format, and the static tables shared by
 * the verifier, the interpreter and the tools (opcodes, natives, system
 * classes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tomcrypt.h>

#include "natives.h"
#include "opcodes.h"
#include "package.h"

/* ---- opcode table ---- */

const vm_opinfo vm_opinfo_table[256] = {
#define VM_OP_INFO(name, code, fmt, pop, push) [code] = { #name, fmt, pop, push },
    VM_OPCODES(VM_OP_INFO)
#undef VM_OP_INFO
};

uint32_t vm_insn_length(const uint8_t *code, uint32_t code_len, uint32_t pc)
{
    if (pc >= code_len)
        return 0;
    const vm_opinfo *oi = &vm_opinfo_table[code[pc]];
    if (!oi->name)
        return 0;
    uint32_t n;
    switch (oi->fmt) {
    case OPF_NONE: n = 1; break;
    case OPF_S1: case OPF_LOCAL: case OPF_CP1: case OPF_BR1:
    case OPF_MN: case OPF_ATYPE: n = 2; break;
    case OPF_S2: case OPF_CP2: case OPF_BR2: case OPF_SINC: n = 3; break;
    case OPF_SINCW: case OPF_CAST: n = 4; break;
    case OPF_TSWITCH: {
        if (pc + 7 > code_len)
            return 0;
        int16_t lo = (int16_t)vm_be16(code + pc + 3), hi = (int16_t)vm_be16(code + pc + 5);
        if (hi < lo)
            return 0;
        n = 7 + 2u * (uint32_t)(hi - lo + 1);
        break;
    }
    case OPF_LSWITCH: {
        if (pc + 5 > code_len)
            return 0;
        n = 5 + 4u * vm_be16(code + pc + 3);
        break;
    }
    default: return 0;
    }
    return pc + n <= code_len ? n : 0;
}

/* ---- natives ---- */

typedef struct native_row {
    const char *name;
    uint16_t token;
    uint8_t nargs, returns;
} native_row;

static const native_row native_rows[] = {
#define VM_NATIVE_ROW(id, name, tok, nargs, ret) { name, tok, nargs, ret },
    VM_NATIVES(VM_NATIVE_ROW)
#undef VM_NATIVE_ROW
};

int vm_native_lookup(uint16_t token, uint8_t *nargs, uint8_t *returns, const char **name)
{
    for (size_t i = 0; i < sizeof native_rows / sizeof native_rows[0]; i++)
        if (native_rows[i].token == token) {
            if (nargs) *nargs = native_rows[i].nargs;
            if (returns) *returns = native_rows[i].returns;
            if (name) *name = native_rows[i].name;
            return 0;
        }
    return -1;
}

int vm_native_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof native_rows / sizeof native_rows[0]; i++)
        if (strlen(native_rows[i].name) == len && memcmp(native_rows[i].name, name, len) == 0)
            return native_rows[i].token;
    return -1;
}

/* ---- system classes ---- */

static const struct { const char *name; uint16_t super; } sys_classes[VM_SC_COUNT] = {
    [VM_SC_Object - VM_SC_Object] = { "Object", VM_CLASS_NONE },
    [VM_SC_Throwable - VM_SC_Object] = { "Throwable", VM_SC_Object },
    [VM_SC_Exception - VM_SC_Object] = { "Exception", VM_SC_Throwable },
    [VM_SC_RuntimeException - VM_SC_Object] = { "RuntimeException", VM_SC_Exception },
    [VM_SC_ArithmeticException - VM_SC_Object] = { "ArithmeticException", VM_SC_RuntimeException },
    [VM_SC_ArrayIndexOutOfBoundsException - VM_SC_Object] = { "ArrayIndexOutOfBoundsException", VM_SC_RuntimeException },
    [VM_SC_NullPointerException - VM_SC_Object] = { "NullPointerException", VM_SC_RuntimeException },
    [VM_SC_ClassCastException - VM_SC_Object] = { "ClassCastException", VM_SC_RuntimeException },
    [VM_SC_NegativeArraySizeException - VM_SC_Object] = { "NegativeArraySizeException", VM_SC_RuntimeException },
    [VM_SC_SecurityException - VM_SC_Object] = { "SecurityException", VM_SC_RuntimeException },
    [VM_SC_ArrayStoreException - VM_SC_Object] = { "ArrayStoreException", VM_SC_RuntimeException },
    [VM_SC_CardRuntimeException - VM_SC_Object] = { "CardRuntimeException", VM_SC_RuntimeException },
    [VM_SC_ISOException - VM_SC_Object] = { "ISOException", VM_SC_CardRuntimeException },
    [VM_SC_SystemException - VM_SC_Object] = { "SystemException", VM_SC_CardRuntimeException },
    [VM_SC_TransactionException - VM_SC_Object] = { "TransactionException", VM_SC_CardRuntimeException },
    [VM_SC_CryptoException - VM_SC_Object] = { "CryptoException", VM_SC_CardRuntimeException },
    [VM_SC_CardException - VM_SC_Object] = { "CardException", VM_SC_Exception },
    [VM_SC_UserException - VM_SC_Object] = { "UserException", VM_SC_CardException },
    [VM_SC_StackOverflowError - VM_SC_Object] = { "StackOverflowError", VM_SC_Throwable },
    [VM_SC_APDU - VM_SC_Object] = { "APDU", VM_SC_Object },
    [VM_SC_OwnerPIN - VM_SC_Object] = { "OwnerPIN", VM_SC_Object },
    [VM_SC_Applet - VM_SC_Object] = { "Applet", VM_SC_Object },
};

const char *vm_sys_class_name(uint16_t id)
{
    if (id < VM_SC_Object || id >= VM_SC_END)
        return NULL;
    return sys_classes[id - VM_SC_Object].name;
}

uint16_t vm_sys_class_super(uint16_t id)
{
    if (id < VM_SC_Object || id >= VM_SC_END)
        return VM_CLASS_NONE;
    return sys_classes[id - VM_SC_Object].super;
}

int vm_sys_class_by_name(const char *name, size_t len)
{
    for (unsigned i = 0; i < VM_SC_COUNT; i++)
        if (strlen(sys_classes[i].name) == len && memcmp(sys_classes[i].name, name, len) == 0)
            return (int)(VM_SC_Object + i);
    return -1;
}

/* ---- SHA-256 ---- */

void vm_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    hash_state st;
    sha256_init(&st);
    sha256_process(&st, data, (unsigned long)len);
    sha256_done(&st, out);
}

/* ---- parser ---- */

typedef struct reader {
    const uint8_t *p;
    uint32_t pos, end;
    int failed;
    char *err;
    size_t errlen;
} reader;

static int rfail(reader *r, const char *fmt, ...)
{
    if (!r->failed && r->err && r->errlen) {
        va_list ap;
        int n = snprintf(r->err, r->errlen, "offset %u: ", (unsigned)r->pos);
        if (n >= 0 && (size_t)n < r->errlen) {
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    r->failed = 1;
    return VM_ERR_VERIFY;
}

static int need(reader *r, uint32_t n, const char *what)
{
    if (r->failed)
        return 0;
    if (n > r->end - r->pos) {
        rfail(r, "truncated %s", what);
        return 0;
    }
    return 1;
}

static uint8_t u8(reader *r, const char *what)
{
    if (!need(r, 1, what))
        return 0;
    return r->p[r->pos++];
}

static uint16_t u16(reader *r, const char *what)
{
    if (!need(r, 2, what))
        return 0;
    uint16_t v = vm_be16(r->p + r->pos);
    r->pos += 2;
    return v;
}

static const uint8_t *bytes(reader *r, uint32_t n, const char *what)
{
    if (!need(r, n, what))
        return NULL;
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

static void read_aid(reader *r, vm_aid *aid, const char *what)
{
    uint8_t n = u8(r, what);
    if (r->failed)
        return;
    if (n < VM_AID_MIN || n > VM_AID_MAX) {
        rfail(r, "%s length %u outside %u..%u", what, n, VM_AID_MIN, VM_AID_MAX);
        return;
    }
    const uint8_t *b = bytes(r, n, what);
    if (b) {
        aid->len = n;
        memcpy(aid->b, b, n);
    }
}

void vm_pkg_free(vm_package *p)
{
    if (!p)
        return;
    free(p->classes);
    free(p->methods);
    p->classes = NULL;
    p->methods = NULL;
}

static int parse_body(const uint8_t *blob, size_t len, vm_package *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    reader r = { blob, 0, 0, 0, err, errlen };
    if (err && errlen)
        err[0] = 0;
    if (!blob || len < 8 + VM_PKG_HASH_LEN)
        return rfail(&r, "package too short (%zu bytes)", len);
    if (len > VM_PKG_MAX_SIZE)
        return rfail(&r, "package too large (%zu bytes)", len);
    r.end = (uint32_t)len - VM_PKG_HASH_LEN;

    uint8_t digest[32];
    vm_sha256(blob, r.end, digest);
    if (memcmp(digest, blob + r.end, 32) != 0) {
        r.pos = r.end;
        return rfail(&r, "SHA-256 does not match the package");
    }
    p->blob = blob;
    p->len = (uint32_t)len;

    if (blob[0] != VM_PKG_MAGIC0 || blob[1] != VM_PKG_MAGIC1 || blob[2] != VM_PKG_MAGIC2 ||
        blob[3] != VM_PKG_MAGIC3)
        return rfail(&r, "bad magic (not a cardvm package)");
    r.pos = 4;
    uint8_t fmt = u8(&r, "header");
    if (fmt != VM_PKG_FORMAT) {
        r.pos--;
        return rfail(&r, "format version %u, expected %u", fmt, VM_PKG_FORMAT);
    }
    p->kind = u8(&r, "header");
    if (p->kind < VM_PKG_APPLET || p->kind > VM_PKG_UPDATE) {
        r.pos--;
        return rfail(&r, "unknown package kind %u", p->kind);
    }
    p->flags = u16(&r, "header");
    if (p->flags != 0) {
        r.pos -= 2;
        return rfail(&r, "reserved flags 0x%04x set", p->flags);
    }
    p->major = u8(&r, "version");
    p->minor = u8(&r, "version");
    read_aid(&r, &p->aid, "package AID");

    p->import_count = u8(&r, "import count");
    if (p->import_count > VM_MAX_IMPORTS)
        return rfail(&r, "%u imports (at most %u)", p->import_count, VM_MAX_IMPORTS);
    for (unsigned i = 0; i < p->import_count && !r.failed; i++) {
        read_aid(&r, &p->imports[i].aid, "import AID");
        p->imports[i].major = u8(&r, "import version");
        p->imports[i].minor = u8(&r, "import version");
    }

    p->cp_count = u16(&r, "constant pool count");
    if (p->cp_count > VM_MAX_CP)
        return rfail(&r, "%u constant pool entries (at most %u)", p->cp_count, VM_MAX_CP);
    p->cp = bytes(&r, 4u * p->cp_count, "constant pool");

    p->class_count = u8(&r, "class count");
    if (p->class_count == 0xFF)   /* class id 255 would collide with "no class" */
        return rfail(&r, "%u classes (at most %u)", p->class_count, VM_MAX_CLASSES - 1);
    if (!r.failed && p->class_count) {
        p->classes = calloc(p->class_count, sizeof *p->classes);
        if (!p->classes)
            return VM_ERR_NOMEM;
    }
    for (unsigned i = 0; i < p->class_count && !r.failed; i++) {
        vm_class *c = &p->classes[i];
        c->super = u16(&r, "class");
        c->field_count = u8(&r, "class");
        c->vtable_count = u8(&r, "class");
        c->vtable = bytes(&r, 2u * c->vtable_count, "vtable");
    }

    p->static_count = u16(&r, "static count");
    if (p->static_count > VM_MAX_STATICS)
        return rfail(&r, "%u static fields (at most %u)", p->static_count, VM_MAX_STATICS);
    p->statics = bytes(&r, 2u * p->static_count, "static image");

    p->method_count = u16(&r, "method count");
    if (p->method_count > VM_MAX_METHODS)
        return rfail(&r, "%u methods (at most %u)", p->method_count, VM_MAX_METHODS);
    if (!r.failed && p->method_count) {
        p->methods = calloc(p->method_count, sizeof *p->methods);
        if (!p->methods)
            return VM_ERR_NOMEM;
    }
    for (unsigned i = 0; i < p->method_count && !r.failed; i++) {
        vm_method *m = &p->methods[i];
        m->flags = u8(&r, "method header");
        m->cls = u8(&r, "method header");
        m->nargs = u8(&r, "method header");
        m->max_locals = u8(&r, "method header");
        m->max_stack = u8(&r, "method header");
        m->code_len = u16(&r, "method header");
        if (r.failed)
            break;
        if (m->code_len == 0 || m->code_len > VM_MAX_CODE) {
            r.pos -= 2;
            return rfail(&r, "method %u: code length %u", i, m->code_len);
        }
        m->code_off = r.pos;
        m->code = bytes(&r, m->code_len, "method code");
        m->handler_count = u8(&r, "handler count");
        m->handlers = bytes(&r, 8u * m->handler_count, "handler table");
    }

    p->applet_count = u8(&r, "applet count");
    if (p->applet_count > VM_MAX_APPLETS)
        return rfail(&r, "%u applets (at most %u)", p->applet_count, VM_MAX_APPLETS);
    for (unsigned i = 0; i < p->applet_count && !r.failed; i++) {
        vm_applet_decl *a = &p->applets[i];
        read_aid(&r, &a->aid, "applet AID");
        a->cls = u8(&r, "applet");
        a->install = u16(&r, "applet");
        a->process = u16(&r, "applet");
        a->select = u16(&r, "applet");
        a->deselect = u16(&r, "applet");
    }
    if (!r.failed && r.pos != r.end)
        return rfail(&r, "%u unexpected bytes before the hash", r.end - r.pos);
    return r.failed ? VM_ERR_VERIFY : VM_OK;
}

int vm_pkg_parse(const uint8_t *blob, size_t len, vm_package *p, char *err, size_t errlen)
{
    int rc = parse_body(blob, len, p, err, errlen);
    if (rc != VM_OK)
        vm_pkg_free(p);
    return rc;
}
