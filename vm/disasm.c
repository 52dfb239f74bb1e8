/*
 * disasm.c — package blob to assembly text that assembles back to the same
 * bytes. Names do not exist in the binary, so the disassembler invents them:
 * classes C<i>, fields f<slot>, methods m<i>, statics s<i>, labels L<pc>.
 * Every table is printed explicitly (.cp, .vtable, args/locals/stack), and an
 * operand is printed symbolically only when the assembler would resolve the
 * symbol to the very same constant; otherwise it is printed raw (#index,
 * @offset, .db bytes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natives.h"
#include "opcodes.h"
#include "package.h"
#include "vm_asm.h"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void out(sbuf *s, const char *fmt, ...)
{
    if (s->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t cap = s->cap ? s->cap * 2 : 4096;
        while (cap < s->n + (size_t)k + 1)
            cap *= 2;
        char *q = realloc(s->p, cap);
        if (!q) {
            s->oom = 1;
            return;
        }
        s->p = q;
        s->cap = cap;
    }
}

static void hex(sbuf *s, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        out(s, "%02X", b[i]);
}

static const char *kind_name(uint8_t k)
{
    switch (k) {
    case VM_PKG_APPLET: return "applet";
    case VM_PKG_LIBRARY: return "library";
    case VM_PKG_CUSTOMIZATION: return "customization";
    case VM_PKG_UPDATE: return "update";
    default: return "?";
    }
}

typedef struct D {
    const vm_package *p;
    const vm_extension *ext;
    sbuf *s;
} D;

static void class_name(D *d, uint16_t id)
{
    if (id < d->p->class_count)
        out(d->s, "C%u", id);
    else if (vm_sys_class_name(id))
        out(d->s, "%s", vm_sys_class_name(id));
    else
        out(d->s, "?%u", id);
}

/* First constant identical to entry i. */
static unsigned cp_first(const vm_package *p, unsigned i)
{
    for (unsigned k = 0; k < i; k++)
        if (!memcmp(p->cp + 4 * k, p->cp + 4 * i, 4))
            return k;
    return i;
}

/* Can entry i be written symbolically (and would the assembler resolve the
 * symbol to exactly these bytes)? */
static int cp_symbolic(const D *d, unsigned i)
{
    const vm_package *p = d->p;
    const uint8_t *e = p->cp + 4 * i;
    uint16_t w = vm_be16(e + 1);
    if (e[3] != 0)
        return 0;
    switch (e[0]) {
    case VM_CP_CLASS: return w < p->class_count || vm_sys_class_name(w) != NULL;
    case VM_CP_IFIELD: {
        if (e[1] >= p->class_count || e[2] >= p->classes[e[1]].field_count)
            return 0;
        return 1;
    }
    case VM_CP_SFIELD: return w < p->static_count;
    case VM_CP_SMETHOD: return w < p->method_count && p->methods[w].cls != 0xFF && p->methods[w].cls < p->class_count;
    case VM_CP_VMETHOD: {
        if (e[1] >= p->class_count || e[2] >= p->classes[e[1]].vtable_count)
            return 0;
        uint16_t mi = vm_be16(p->classes[e[1]].vtable + 2 * e[2]);
        for (unsigned s = 0; s < e[2]; s++)
            if (vm_be16(p->classes[e[1]].vtable + 2 * s) == mi)
                return 0;   /* the assembler would find the earlier slot */
        if (mi >= p->method_count || p->methods[mi].cls == 0xFF)
            return 0;
        /* the name must be unique in the vtable */
        return 1;
    }
    case VM_CP_NATIVE:
        return vm_native_lookup(w, NULL, NULL, NULL) == 0 || (w >= VM_EXT_TOKEN_FIRST && w <= VM_EXT_TOKEN_LAST);
    default: return 0;
    }
}

/* Owner class of field slot `slot` seen from class c: the class that
 * declares it (walks superclasses whose field count covers it). */
static unsigned field_owner(const vm_package *p, unsigned c, unsigned slot)
{
    for (int guard = 0; guard < 256; guard++) {
        uint16_t sup = p->classes[c].super;
        if (sup < p->class_count && sup < c && slot < p->classes[sup].field_count)
            c = sup;
        else
            break;
    }
    return c;
}

static void cp_symbol(D *d, unsigned i)
{
    const vm_package *p = d->p;
    const uint8_t *e = p->cp + 4 * i;
    uint16_t w = vm_be16(e + 1);
    switch (e[0]) {
    case VM_CP_CLASS: class_name(d, w); break;
    case VM_CP_IFIELD: out(d->s, "C%u.f%u", e[1], e[2]); break;
    case VM_CP_SFIELD: out(d->s, "s%u", w); break;
    case VM_CP_SMETHOD: out(d->s, "C%u.m%u", p->methods[w].cls, w); break;
    case VM_CP_VMETHOD: out(d->s, "C%u.m%u", e[1], vm_be16(p->classes[e[1]].vtable + 2 * e[2])); break;
    case VM_CP_NATIVE: {
        const char *name;
        if (vm_native_lookup(w, NULL, NULL, &name) == 0)
            out(d->s, "%s", name);
        else
            out(d->s, "N%04X", w);
        break;
    }
    }
}

static const char *cp_kind(uint8_t tag)
{
    switch (tag) {
    case VM_CP_CLASS: return "class";
    case VM_CP_IFIELD: return "ifield";
    case VM_CP_SFIELD: return "sfield";
    case VM_CP_SMETHOD: return "smethod";
    case VM_CP_VMETHOD: return "vmethod";
    case VM_CP_NATIVE: return "native";
    default: return NULL;
    }
}

/* Operand referring to constant i, as the instruction `op` would resolve it. */
static void cp_operand(D *d, unsigned i, uint8_t op)
{
    const vm_package *p = d->p;
    if (i >= p->cp_count || cp_first(p, i) != i || !cp_symbolic(d, i)) {
        out(d->s, "#%u", i);
        return;
    }
    const uint8_t *e = p->cp + 4 * i;
    int want;
    switch (op) {
    case OP_invokestatic: want = e[0] == VM_CP_SMETHOD || e[0] == VM_CP_NATIVE; break;
    case OP_invokespecial: want = e[0] == VM_CP_SMETHOD; break;
    case OP_invokevirtual: want = e[0] == VM_CP_VMETHOD; break;
    case OP_new: case OP_anewarray: case OP_checkcast: case OP_instanceof: want = e[0] == VM_CP_CLASS; break;
    case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
    case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s: want = e[0] == VM_CP_SFIELD; break;
    default: want = e[0] == VM_CP_IFIELD; break;
    }
    /* invokestatic of a method named like a native would be ambiguous only
     * for SMETHOD entries, which print as C<i>.m<j>: never a native name. */
    if (!want) {
        out(d->s, "#%u", i);
        return;
    }
    cp_symbol(d, i);
}

static int is_start(const uint8_t *starts, uint32_t len, int32_t t)
{
    return t >= 0 && (uint32_t)t < len && starts[t];
}

static void target(D *d, const uint8_t *starts, uint32_t len, uint32_t pc, int32_t off)
{
    int32_t t = (int32_t)pc + off;
    if (is_start(starts, len, t))
        out(d->s, "L%d", t);
    else
        out(d->s, "@%d", off);
}

static void method(D *d, unsigned mi)
{
    const vm_package *p = d->p;
    const vm_method *m = &p->methods[mi];
    const uint8_t *code = m->code;
    uint32_t len = m->code_len;
    sbuf *s = d->s;
    uint8_t *starts = calloc(len + 1, 1), *labels = calloc(len + 1, 1);
    if (!starts || !labels) {
        s->oom = 1;
        free(starts);
        free(labels);
        return;
    }
    /* Decode boundaries; stop at the first undecodable byte. */
    uint32_t good = 0;
    for (uint32_t pc = 0; pc < len;) {
        uint32_t n = vm_insn_length(code, len, pc);
        if (!n)
            break;
        starts[pc] = 1;
        pc += n;
        good = pc;
    }
    starts[good] = good == len;   /* the end of the code may carry a label */
    for (uint32_t pc = 0; pc < good; pc += vm_insn_length(code, len, pc)) {
        const vm_opinfo *oi = &vm_opinfo_table[code[pc]];
        int32_t t;
        switch (oi->fmt) {
        case OPF_BR1: t = (int32_t)pc + (int8_t)code[pc + 1]; if (is_start(starts, len, t)) labels[t] = 1; break;
        case OPF_BR2: t = (int32_t)pc + (int16_t)vm_be16(code + pc + 1); if (is_start(starts, len, t)) labels[t] = 1; break;
        case OPF_TSWITCH: {
            int16_t lo = (int16_t)vm_be16(code + pc + 3), hi = (int16_t)vm_be16(code + pc + 5);
            for (int32_t k = -1; k <= hi - lo; k++) {
                t = (int32_t)pc + (int16_t)vm_be16(k < 0 ? code + pc + 1 : code + pc + 7 + 2 * k);
                if (is_start(starts, len, t)) labels[t] = 1;
            }
            break;
        }
        case OPF_LSWITCH: {
            uint32_t np = vm_be16(code + pc + 3);
            for (int32_t k = -1; k < (int32_t)np; k++) {
                t = (int32_t)pc + (int16_t)vm_be16(k < 0 ? code + pc + 1 : code + pc + 5 + 4 * k + 2);
                if (is_start(starts, len, t)) labels[t] = 1;
            }
            break;
        }
        default: break;
        }
    }
    int handlers_ok = 1;
    for (unsigned h = 0; h < m->handler_count; h++) {
        vm_handler hd = vm_method_handler(m, h);
        if (!(hd.start <= len && starts[hd.start]) || !(hd.end <= len && starts[hd.end]) ||
            !(hd.handler <= len && starts[hd.handler]))
            handlers_ok = 0;
        else
            labels[hd.start] = labels[hd.end] = labels[hd.handler] = 1;
    }

    out(s, "\n.method ");
    if (m->cls == 0xFF)
        out(s, "m%u noclass", mi);
    else
        out(s, "C%u.m%u", m->cls, mi);
    if (m->flags & VM_MF_STATIC)
        out(s, " static");
    if (m->flags & VM_MF_RETURNS)
        out(s, " returns");
    out(s, " args=%u locals=%u stack=%u\n", m->nargs, m->max_locals, m->max_stack);
    if (m->flags & ~(VM_MF_STATIC | VM_MF_RETURNS))
        out(s, "    ; unknown method flags 0x%02x are lost\n", m->flags);
    if (!handlers_ok)
        out(s, "    ; handler table does not match instruction boundaries; printed raw below\n");

    for (uint32_t pc = 0; pc < good;) {
        uint32_t n = vm_insn_length(code, len, pc);
        const uint8_t *c = code + pc;
        const vm_opinfo *oi = &vm_opinfo_table[c[0]];
        if (labels[pc])
            out(s, "L%u:\n", pc);
        out(s, "    %s", oi->name);
        switch (oi->fmt) {
        case OPF_NONE: break;
        case OPF_S1: out(s, " %d", (int8_t)c[1]); break;
        case OPF_S2: out(s, " %d", (int16_t)vm_be16(c + 1)); break;
        case OPF_LOCAL: out(s, " %u", c[1]); break;
        case OPF_CP1: out(s, " "); cp_operand(d, c[1], c[0]); break;
        case OPF_CP2: out(s, " "); cp_operand(d, vm_be16(c + 1), c[0]); break;
        case OPF_BR1: out(s, " "); target(d, starts, len, pc, (int8_t)c[1]); break;
        case OPF_BR2: out(s, " "); target(d, starts, len, pc, (int16_t)vm_be16(c + 1)); break;
        case OPF_SINC: out(s, " %u %d", c[1], (int8_t)c[2]); break;
        case OPF_SINCW: out(s, " %u %d", c[1], (int16_t)vm_be16(c + 2)); break;
        case OPF_MN: out(s, " %u %u", c[1] >> 4, c[1] & 15); break;
        case OPF_ATYPE:
            if (c[1] == VM_T_BOOLEAN) out(s, " boolean");
            else if (c[1] == VM_T_BYTE) out(s, " byte");
            else if (c[1] == VM_T_SHORT) out(s, " short");
            else out(s, " %u", c[1]);
            break;
        case OPF_CAST: {
            uint16_t idx = vm_be16(c + 2);
            if (c[1] >= VM_T_BOOLEAN && c[1] <= VM_T_SHORT && idx == 0) {
                out(s, " %s[]", c[1] == VM_T_BOOLEAN ? "boolean" : c[1] == VM_T_BYTE ? "byte" : "short");
            } else if ((c[1] == VM_T_CLASS || c[1] == VM_T_REFERENCE) && idx < d->p->cp_count &&
                       d->p->cp[4 * idx] == VM_CP_CLASS) {
                out(s, " ");
                cp_operand(d, idx, OP_checkcast);
                if (c[1] == VM_T_REFERENCE)
                    out(s, "[]");
            } else {
                /* not expressible: print the bytes */
                s->n -= strlen(oi->name);
                out(s, ".db %u %u %u %u", c[0], c[1], c[2], c[3]);
            }
            break;
        }
        case OPF_TSWITCH: {
            int16_t lo = (int16_t)vm_be16(c + 3), hi = (int16_t)vm_be16(c + 5);
            out(s, " %d %d ", lo, hi);
            target(d, starts, len, pc, (int16_t)vm_be16(c + 1));
            for (int32_t k = 0; k <= hi - lo; k++) {
                out(s, " ");
                target(d, starts, len, pc, (int16_t)vm_be16(c + 7 + 2 * k));
            }
            break;
        }
        case OPF_LSWITCH: {
            uint32_t np = vm_be16(c + 3);
            out(s, " ");
            target(d, starts, len, pc, (int16_t)vm_be16(c + 1));
            for (uint32_t k = 0; k < np; k++) {
                out(s, " %d:", (int16_t)vm_be16(c + 5 + 4 * k));
                target(d, starts, len, pc, (int16_t)vm_be16(c + 7 + 4 * k));
            }
            break;
        }
        }
        out(s, "\n");
        pc += n;
    }
    if (good < len) {
        out(s, "    .db");
        for (uint32_t pc = good; pc < len; pc++)
            out(s, " %u", code[pc]);
        out(s, "\n");
    } else if (labels[len]) {
        out(s, "L%u:\n", len);
    }
    for (unsigned h = 0; h < m->handler_count; h++) {
        vm_handler hd = vm_method_handler(m, h);
        if (handlers_ok) {
            out(s, "    .catch L%u L%u L%u ", hd.start, hd.end, hd.handler);
        } else {
            out(s, "    .catch @%u @%u @%u ", hd.start, hd.end, hd.handler);
        }
        if (hd.catch_cp == 0xFFFF)
            out(s, "any\n");
        else if (hd.catch_cp < d->p->cp_count && d->p->cp[4 * hd.catch_cp] == VM_CP_CLASS &&
                 cp_first(d->p, hd.catch_cp) == hd.catch_cp && cp_symbolic(d, hd.catch_cp)) {
            cp_symbol(d, hd.catch_cp);
            out(s, "\n");
        } else {
            out(s, "#%u\n", hd.catch_cp);
        }
    }
    out(s, ".end\n");
    free(starts);
    free(labels);
}

int vm_disasm(const uint8_t *blob, size_t len, const vm_extension *ext, char **result, char *err, size_t errlen)
{
    vm_package p;
    *result = NULL;
    int rc = vm_pkg_parse(blob, len, &p, err, errlen);
    if (rc != VM_OK)
        return rc;
    sbuf s = { 0 };
    D d = { &p, ext, &s };

    out(&s, "; cardvm package, %u bytes, disassembled\n", p.len);
    out(&s, ".package ");
    hex(&s, p.aid.b, p.aid.len);
    out(&s, " %u.%u %s\n", p.major, p.minor, kind_name(p.kind));
    for (unsigned i = 0; i < p.import_count; i++) {
        out(&s, ".import ");
        hex(&s, p.imports[i].aid.b, p.imports[i].aid.len);
        out(&s, " %u.%u\n", p.imports[i].major, p.imports[i].minor);
    }
    for (unsigned i = 0; i < p.cp_count; i++) {
        const uint8_t *e = p.cp + 4 * i;
        uint16_t w = vm_be16(e + 1);
        if (e[0] == VM_CP_NATIVE && w >= VM_EXT_TOKEN_FIRST && w <= VM_EXT_TOKEN_LAST)
            out(&s, ".native N%04X 0x%04X\n", w, w);
    }
    for (unsigned i = 0; i < p.static_count; i++)
        out(&s, ".static s%u %u\n", i, vm_be16(p.statics + 2 * i));

    /* Classes before the constant pool: .cp entries name classes, fields
     * and methods. */
    for (unsigned i = 0; i < p.class_count; i++) {
        const vm_class *c = &p.classes[i];
        out(&s, "\n.class C%u", i);
        if (c->super != VM_CLASS_NONE) {
            out(&s, " extends ");
            class_name(&d, c->super);
        }
        out(&s, "\n");
        unsigned inherited = c->super < p.class_count && c->super < i ? p.classes[c->super].field_count : 0;
        if (inherited > c->field_count)
            inherited = c->field_count;
        for (unsigned f = inherited; f < c->field_count; f++)
            out(&s, ".field f%u\n", f);
        out(&s, ".vtable");
        for (unsigned k = 0; k < c->vtable_count; k++) {
            uint16_t mi = vm_be16(c->vtable + 2 * k);
            if (mi < p.method_count && p.methods[mi].cls != 0xFF)
                out(&s, " C%u.m%u", p.methods[mi].cls, mi);
            else
                out(&s, " m%u", mi);
        }
        out(&s, "\n");
    }
    if (p.cp_count)
        out(&s, "\n");
    for (unsigned i = 0; i < p.cp_count; i++) {
        const uint8_t *e = p.cp + 4 * i;
        const char *k = cp_kind(e[0]);
        if (k && cp_symbolic(&d, i)) {
            out(&s, ".cp %s ", k);
            cp_symbol(&d, i);
            out(&s, "    ; #%u\n", i);
        } else {
            out(&s, ".cp raw %u %u %u %u    ; #%u\n", e[0], e[1], e[2], e[3], i);
        }
    }
    for (unsigned i = 0; i < p.method_count; i++)
        method(&d, i);
    if (p.applet_count)
        out(&s, "\n");
    for (unsigned i = 0; i < p.applet_count; i++) {
        const vm_applet_decl *a = &p.applets[i];
        out(&s, ".applet ");
        hex(&s, a->aid.b, a->aid.len);
        out(&s, " C%u", a->cls);
        const char *keys[4] = { "install", "process", "select", "deselect" };
        uint16_t ms[4] = { a->install, a->process, a->select, a->deselect };
        for (int k = 0; k < 4; k++) {
            if (ms[k] == 0xFFFF)
                continue;
            if (ms[k] < p.method_count && p.methods[ms[k]].cls != 0xFF)
                out(&s, " %s=C%u.m%u", keys[k], p.methods[ms[k]].cls, ms[k]);
            else
                out(&s, " %s=m%u", keys[k], ms[k]);
        }
        out(&s, "\n");
    }
    vm_pkg_free(&p);
    if (s.oom) {
        free(s.p);
        return VM_ERR_NOMEM;
    }
    (void)field_owner;
    *result = s.p;
    return VM_OK;
}
