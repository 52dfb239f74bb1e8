/*
 * verify.c — the on-card verifier.
 *
 * A package runs only after it passed here. What is checked, in order:
 *   1. structure (package.c): lengths, counts, the SHA-256 trailer;
 *   2. every constant pool entry: a known tag, indices in range, a native
 *      token that exists (extension tokens only for privileged packages);
 *   3. classes: superclass declared before the class (no cycles), field and
 *      vtable counts at least the superclass's, overriding methods with the
 *      same shape as the methods they override;
 *   4. every method's code: known opcodes, operands inside the code, local
 *      indices below nargs + max_locals, constant pool references of the
 *      right kind, branch and switch targets on instruction boundaries,
 *      handler ranges on boundaries, and a dataflow pass proving that on
 *      every path the operand stack neither underflows nor exceeds
 *      max_stack, that paths meet with the same depth, that control never
 *      falls off the end of the code, and that returns match the method;
 *   5. applet declarations: methods of the right shape.
 * The interpreter relies on all of this and checks only what depends on
 * values at run time (references, array bounds, the firewall).
 *
 * Not checked: types of stack words (a short used as a reference). The
 * interpreter validates every reference it dereferences (handle range,
 * object kind, firewall), so a forged reference gains nothing.
 */
#include "cap_verify.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natives.h"
#include "opcodes.h"
#include "package.h"

typedef struct vctx {
    const vm_package *p;
    const vm_extension *ext;
    unsigned flags;
    char *err;
    size_t errlen;
} vctx;

static int vfail(vctx *v, uint32_t off, const char *fmt, ...)
{
    if (v->err && v->errlen) {
        int n = snprintf(v->err, v->errlen, "offset %u: ", (unsigned)off);
        if (n >= 0 && (size_t)n < v->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(v->err + n, v->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return VM_ERR_VERIFY;
}

static uint32_t cp_off(const vm_package *p, unsigned i)
{
    return (uint32_t)(p->cp - p->blob) + 4u * i;
}

static int native_arity(const vctx *v, uint16_t token, int *nargs, int *ret)
{
    uint8_t a, r;
    if (vm_native_lookup(token, &a, &r, NULL) == 0) {
        *nargs = a;
        *ret = r;
        return 0;
    }
    if (token >= VM_EXT_TOKEN_FIRST && token <= VM_EXT_TOKEN_LAST && (v->flags & VM_LOAD_PRIVILEGED) &&
        v->ext && token - VM_EXT_TOKEN_FIRST < v->ext->count) {
        const vm_ext_entry *e = &v->ext->entries[token - VM_EXT_TOKEN_FIRST];
        *nargs = e->nargs;
        *ret = e->returns ? 1 : 0;
        return 0;
    }
    return -1;
}

/* Is class id `c` (of package p) Throwable? */
static int is_throwable(const vm_package *p, uint16_t c)
{
    for (int guard = 0; guard < 300 && c != VM_CLASS_NONE; guard++) {
        if (c == VM_SC_Throwable)
            return 1;
        if (c < VM_SC_Object) {
            if (c >= p->class_count)
                return 0;
            c = p->classes[c].super;
        } else {
            c = vm_sys_class_super(c);
        }
    }
    return 0;
}

static int check_cp(vctx *v)
{
    const vm_package *p = v->p;
    for (unsigned i = 0; i < p->cp_count; i++) {
        const uint8_t *e = p->cp + 4u * i;
        uint16_t w = vm_be16(e + 1);
        switch (e[0]) {
        case VM_CP_CLASS:
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (!(w < p->class_count || (w >= VM_SC_Object && w < VM_SC_END)))
                return vfail(v, cp_off(p, i), "constant %u: unknown class id 0x%04x", i, w);
            break;
        case VM_CP_IFIELD:
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (e[1] >= p->class_count || e[2] >= p->classes[e[1]].field_count)
                return vfail(v, cp_off(p, i), "constant %u: field %u of class %u out of range", i, e[2], e[1]);
            break;
        case VM_CP_SFIELD:
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (w >= p->static_count)
                return vfail(v, cp_off(p, i), "constant %u: static field %u out of range", i, w);
            break;
        case VM_CP_SMETHOD:
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (w >= p->method_count)
                return vfail(v, cp_off(p, i), "constant %u: method %u out of range", i, w);
            break;
        case VM_CP_VMETHOD:
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (e[1] >= p->class_count || e[2] >= p->classes[e[1]].vtable_count)
                return vfail(v, cp_off(p, i), "constant %u: virtual method %u of class %u out of range", i, e[2], e[1]);
            break;
        case VM_CP_NATIVE: {
            int a, r;
            if (e[3] != 0)
                return vfail(v, cp_off(p, i), "constant %u: reserved byte not zero", i);
            if (native_arity(v, w, &a, &r) != 0)
                return vfail(v, cp_off(p, i), "constant %u: unknown native token 0x%04x", i, w);
            break;
        }
        default:
            return vfail(v, cp_off(p, i), "constant %u: unknown tag %u", i, e[0]);
        }
    }
    return VM_OK;
}

static int check_classes(vctx *v)
{
    const vm_package *p = v->p;
    uint32_t off;
    for (unsigned i = 0; i < p->class_count; i++) {
        const vm_class *c = &p->classes[i];
        off = (uint32_t)(c->vtable - p->blob) - 4;
        unsigned super_fields = 0, super_vt = 0;
        const vm_class *sc = NULL;
        if (c->super < VM_SC_Object) {
            if (c->super >= i)
                return vfail(v, off, "class %u: superclass %u not declared before it", i, c->super);
            sc = &p->classes[c->super];
            super_fields = sc->field_count;
            super_vt = sc->vtable_count;
        } else if (c->super != VM_CLASS_NONE) {
            if (c->super >= VM_SC_END || c->super == VM_SC_APDU || c->super == VM_SC_OwnerPIN)
                return vfail(v, off, "class %u: cannot extend class id 0x%04x", i, c->super);
        }
        if (c->field_count < super_fields)
            return vfail(v, off, "class %u: %u fields, fewer than its superclass's %u", i, c->field_count, super_fields);
        if (c->vtable_count < super_vt)
            return vfail(v, off, "class %u: vtable shorter than its superclass's", i);
        for (unsigned k = 0; k < c->vtable_count; k++) {
            uint16_t mi = vm_be16(c->vtable + 2 * k);
            if (mi >= p->method_count)
                return vfail(v, off + 4 + 2 * k, "class %u: vtable method %u out of range", i, mi);
            const vm_method *m = &p->methods[mi];
            if (m->flags & VM_MF_STATIC)
                return vfail(v, off + 4 + 2 * k, "class %u: static method %u in vtable", i, mi);
            if (k < super_vt) {
                const vm_method *o = &p->methods[vm_be16(sc->vtable + 2 * k)];
                if (o->nargs != m->nargs || o->flags != m->flags)
                    return vfail(v, off + 4 + 2 * k, "class %u: method %u overrides a method of another shape", i, mi);
            }
        }
    }
    return VM_OK;
}

/* ---- code ---- */

/* Stack effect of an invocation; -1 if the target is not acceptable. */
int vm_cp_invoke_effect(const vm_package *p, uint8_t op, uint16_t idx, const vm_extension *ext,
                        int *pops, int *pushes)
{
    if (idx >= p->cp_count)
        return -1;
    const uint8_t *e = p->cp + 4u * idx;
    uint16_t w = vm_be16(e + 1);
    const vm_method *m = NULL;
    switch (op) {
    case OP_invokestatic:
        if (e[0] == VM_CP_NATIVE) {
            vctx v = { p, ext, VM_LOAD_PRIVILEGED, NULL, 0 };
            return native_arity(&v, w, pops, pushes);
        }
        if (e[0] != VM_CP_SMETHOD || w >= p->method_count)
            return -1;
        m = &p->methods[w];
        if (!(m->flags & VM_MF_STATIC))
            return -1;
        break;
    case OP_invokespecial:
        if (e[0] != VM_CP_SMETHOD || w >= p->method_count)
            return -1;
        m = &p->methods[w];
        if (m->flags & VM_MF_STATIC)
            return -1;
        break;
    case OP_invokevirtual:
        if (e[0] != VM_CP_VMETHOD || e[1] >= p->class_count || e[2] >= p->classes[e[1]].vtable_count)
            return -1;
        w = vm_be16(p->classes[e[1]].vtable + 2 * e[2]);
        if (w >= p->method_count)
            return -1;
        m = &p->methods[w];
        break;
    default:
        return -1;
    }
    *pops = m->nargs;
    *pushes = (m->flags & VM_MF_RETURNS) ? 1 : 0;
    return 0;
}

static int cp_tag(const vm_package *p, uint16_t idx)
{
    return idx < p->cp_count ? p->cp[4u * idx] : -1;
}

/* The constant pool tag an instruction's operand must have, or 0. */
static int cp_tag_for(uint8_t op)
{
    switch (op) {
    case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
    case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s:
        return VM_CP_SFIELD;
    case OP_getfield_a: case OP_getfield_b: case OP_getfield_s:
    case OP_putfield_a: case OP_putfield_b: case OP_putfield_s:
    case OP_getfield_a_w: case OP_getfield_b_w: case OP_getfield_s_w:
    case OP_putfield_a_w: case OP_putfield_b_w: case OP_putfield_s_w:
    case OP_getfield_a_this: case OP_getfield_b_this: case OP_getfield_s_this:
    case OP_putfield_a_this: case OP_putfield_b_this: case OP_putfield_s_this:
        return VM_CP_IFIELD;
    case OP_new: case OP_anewarray:
        return VM_CP_CLASS;
    default:
        return 0;
    }
}

static int is_this_form(uint8_t op)
{
    return (op >= OP_getfield_a_this && op <= OP_getfield_s_this) ||
           (op >= OP_putfield_a_this && op <= OP_putfield_s_this);
}

/* Branch targets of the instruction at pc (offsets from the method start).
 * Returns the number of targets written to out (at most cap), or -1 if a
 * target lies outside the code. */
static int branch_targets(const uint8_t *code, uint32_t len, uint32_t pc, uint32_t *out, int cap, int *count)
{
    const vm_opinfo *oi = &vm_opinfo_table[code[pc]];
    int n = 0;
    int32_t t;
    switch (oi->fmt) {
    case OPF_BR1:
        t = (int32_t)pc + (int8_t)code[pc + 1];
        if (t < 0 || (uint32_t)t >= len) return -1;
        if (n < cap) out[n] = (uint32_t)t;
        n++;
        break;
    case OPF_BR2:
        t = (int32_t)pc + (int16_t)vm_be16(code + pc + 1);
        if (t < 0 || (uint32_t)t >= len) return -1;
        if (n < cap) out[n] = (uint32_t)t;
        n++;
        break;
    case OPF_TSWITCH: {
        int16_t lo = (int16_t)vm_be16(code + pc + 3), hi = (int16_t)vm_be16(code + pc + 5);
        uint32_t cnt = (uint32_t)(hi - lo + 1);
        for (uint32_t k = 0; k <= cnt; k++) {
            const uint8_t *q = k == 0 ? code + pc + 1 : code + pc + 7 + 2 * (k - 1);
            t = (int32_t)pc + (int16_t)vm_be16(q);
            if (t < 0 || (uint32_t)t >= len) return -1;
            if (n < cap) out[n] = (uint32_t)t;
            n++;
        }
        break;
    }
    case OPF_LSWITCH: {
        uint32_t np = vm_be16(code + pc + 3);
        for (uint32_t k = 0; k <= np; k++) {
            const uint8_t *q = k == 0 ? code + pc + 1 : code + pc + 5 + 4 * (k - 1) + 2;
            t = (int32_t)pc + (int16_t)vm_be16(q);
            if (t < 0 || (uint32_t)t >= len) return -1;
            if (n < cap) out[n] = (uint32_t)t;
            n++;
        }
        break;
    }
    default:
        break;
    }
    *count = n;
    return 0;
}

static int ends_flow(uint8_t op)
{
    return op == OP_goto || op == OP_goto_w || op == OP_athrow || op == OP_return ||
           op == OP_sreturn || op == OP_areturn || op == OP_stableswitch || op == OP_slookupswitch;
}

/* Walk method m: structural checks and the dataflow over stack depth.
 * limit: max_stack to enforce (or 255 to compute); *need receives the
 * deepest stack seen. */
static int check_code(vctx *v, unsigned mi, const vm_method *m, int limit, int *need)
{
    const vm_package *p = v->p;
    const uint8_t *code = m->code;
    uint32_t len = m->code_len;
    unsigned nlocals = (unsigned)m->nargs + m->max_locals;
    int rc = VM_OK;
    uint8_t *start = calloc(len, 1);
    int16_t *depth = malloc(len * sizeof *depth);
    uint32_t *work = malloc((len + 1) * sizeof *work);
    uint32_t *targets = NULL;
    if (!start || !depth || !work) {
        rc = VM_ERR_NOMEM;
        goto out;
    }
#define FAIL(pc, ...) do { rc = vfail(v, m->code_off + (pc), __VA_ARGS__); goto out; } while (0)

    if (nlocals > 255)
        FAIL(0, "method %u: %u locals (at most 255)", mi, nlocals);
    if (!(m->flags & VM_MF_STATIC) && m->nargs < 1)
        FAIL(0, "method %u: instance method without 'this'", mi);
    if (m->flags & ~(VM_MF_STATIC | VM_MF_RETURNS))
        FAIL(0, "method %u: unknown flags 0x%02x", mi, m->flags);
    if (m->cls != 0xFF && m->cls >= p->class_count)
        FAIL(0, "method %u: class %u out of range", mi, m->cls);

    /* Pass 1: instruction boundaries and operands. */
    for (uint32_t pc = 0; pc < len;) {
        uint8_t op = code[pc];
        const vm_opinfo *oi = &vm_opinfo_table[op];
        if (!oi->name)
            FAIL(pc, "method %u pc %u: unknown opcode 0x%02x", mi, pc, op);
        uint32_t n = vm_insn_length(code, len, pc);
        if (n == 0)
            FAIL(pc, "method %u pc %u: %s runs past the end of the code", mi, pc, oi->name);
        start[pc] = 1;
        switch (oi->fmt) {
        case OPF_LOCAL: case OPF_SINC: case OPF_SINCW:
            if (code[pc + 1] >= nlocals)
                FAIL(pc, "method %u pc %u: local %u out of range (%u locals)", mi, pc, code[pc + 1], nlocals);
            break;
        case OPF_NONE: {
            int idx = -1;
            if (op >= OP_aload_0 && op <= OP_aload_3) idx = op - OP_aload_0;
            else if (op >= OP_sload_0 && op <= OP_sload_3) idx = op - OP_sload_0;
            else if (op >= OP_astore_0 && op <= OP_astore_3) idx = op - OP_astore_0;
            else if (op >= OP_sstore_0 && op <= OP_sstore_3) idx = op - OP_sstore_0;
            if (idx >= 0 && (unsigned)idx >= nlocals)
                FAIL(pc, "method %u pc %u: local %d out of range (%u locals)", mi, pc, idx, nlocals);
            if ((op == OP_sreturn || op == OP_areturn) && !(m->flags & VM_MF_RETURNS))
                FAIL(pc, "method %u pc %u: %s in a void method", mi, pc, oi->name);
            if (op == OP_return && (m->flags & VM_MF_RETURNS))
                FAIL(pc, "method %u pc %u: return in a method that returns a value", mi, pc);
            break;
        }
        case OPF_CP1: case OPF_CP2: {
            uint16_t idx = oi->fmt == OPF_CP1 ? code[pc + 1] : vm_be16(code + pc + 1);
            if (idx >= p->cp_count)
                FAIL(pc, "method %u pc %u: constant %u out of range", mi, pc, idx);
            int want = cp_tag_for(op);
            if (want && cp_tag(p, idx) != want)
                FAIL(pc, "method %u pc %u: %s needs a constant of kind %d, #%u is %d", mi, pc, oi->name, want,
                     idx, cp_tag(p, idx));
            if (op == OP_new && vm_be16(p->cp + 4u * idx + 1) >= p->class_count)
                FAIL(pc, "method %u pc %u: new of a system class", mi, pc);
            if (is_this_form(op) && (m->flags & VM_MF_STATIC))
                FAIL(pc, "method %u pc %u: %s in a static method", mi, pc, oi->name);
            if (op == OP_invokestatic || op == OP_invokespecial || op == OP_invokevirtual) {
                int a, r;
                if (vm_cp_invoke_effect(p, op, idx, v->ext, &a, &r) != 0)
                    FAIL(pc, "method %u pc %u: %s target #%u not acceptable", mi, pc, oi->name, idx);
                if (op == OP_invokestatic && p->cp[4u * idx] == VM_CP_NATIVE) {
                    vctx tmp = *v;
                    if (native_arity(&tmp, vm_be16(p->cp + 4u * idx + 1), &a, &r) != 0)
                        FAIL(pc, "method %u pc %u: unknown native token", mi, pc);
                }
            }
            break;
        }
        case OPF_MN: {
            unsigned mm = code[pc + 1] >> 4, nn = code[pc + 1] & 15;
            if (op == OP_dup_x) {
                if (mm < 1 || mm > 4 || !(nn == 0 || (nn >= mm && nn <= mm + 4)))
                    FAIL(pc, "method %u pc %u: dup_x 0x%02x invalid", mi, pc, code[pc + 1]);
            } else if (mm < 1 || mm > 2 || nn < 1 || nn > 2) {
                FAIL(pc, "method %u pc %u: swap_x 0x%02x invalid", mi, pc, code[pc + 1]);
            }
            break;
        }
        case OPF_ATYPE:
            if (code[pc + 1] < VM_T_BOOLEAN || code[pc + 1] > VM_T_SHORT)
                FAIL(pc, "method %u pc %u: array type %u not supported", mi, pc, code[pc + 1]);
            break;
        case OPF_CAST: {
            uint8_t at = code[pc + 1];
            uint16_t idx = vm_be16(code + pc + 2);
            if (at == VM_T_CLASS || at == VM_T_REFERENCE) {
                if (cp_tag(p, idx) != VM_CP_CLASS)
                    FAIL(pc, "method %u pc %u: %s needs a class constant", mi, pc, oi->name);
            } else if (at < VM_T_BOOLEAN || at > VM_T_SHORT || idx != 0) {
                FAIL(pc, "method %u pc %u: %s type %u invalid", mi, pc, oi->name, at);
            }
            break;
        }
        case OPF_LSWITCH: {
            uint32_t np = vm_be16(code + pc + 3);
            for (uint32_t k = 1; k < np; k++)
                if ((int16_t)vm_be16(code + pc + 5 + 4 * k) <= (int16_t)vm_be16(code + pc + 5 + 4 * (k - 1)))
                    FAIL(pc, "method %u pc %u: slookupswitch keys not ascending", mi, pc);
            break;
        }
        default:
            break;
        }
        pc += n;
    }

    /* Pass 2: branch targets land on instruction starts. */
    uint32_t tcap = 8;
    targets = malloc(tcap * sizeof *targets);
    if (!targets) {
        rc = VM_ERR_NOMEM;
        goto out;
    }
    for (uint32_t pc = 0; pc < len; pc += vm_insn_length(code, len, pc)) {
        int cnt;
        if (branch_targets(code, len, pc, targets, (int)tcap, &cnt) != 0)
            FAIL(pc, "method %u pc %u: branch target outside the method", mi, pc);
        if ((uint32_t)cnt > tcap) {
            uint32_t *nt = realloc(targets, (uint32_t)cnt * sizeof *targets);
            if (!nt) {
                rc = VM_ERR_NOMEM;
                goto out;
            }
            targets = nt;
            tcap = (uint32_t)cnt;
            branch_targets(code, len, pc, targets, (int)tcap, &cnt);
        }
        for (int k = 0; k < cnt; k++)
            if (!start[targets[k]])
                FAIL(pc, "method %u pc %u: branch into the middle of an instruction (pc %u)", mi, pc, targets[k]);
    }

    /* Handlers. */
    for (unsigned h = 0; h < m->handler_count; h++) {
        vm_handler hd = vm_method_handler(m, h);
        uint32_t hoff = (uint32_t)(m->handlers - p->blob) + 8 * h - m->code_off;
        if (hd.start >= hd.end || hd.end > len || !start[hd.start] || (hd.end < len && !start[hd.end]))
            FAIL(hoff, "method %u handler %u: bad range %u..%u", mi, h, hd.start, hd.end);
        if (hd.handler >= len || !start[hd.handler])
            FAIL(hoff, "method %u handler %u: entry %u not an instruction", mi, h, hd.handler);
        if (hd.catch_cp != 0xFFFF) {
            if (cp_tag(p, hd.catch_cp) != VM_CP_CLASS ||
                !is_throwable(p, vm_be16(p->cp + 4u * hd.catch_cp + 1)))
                FAIL(hoff, "method %u handler %u: catch type #%u is not a Throwable class", mi, h, hd.catch_cp);
        }
    }

    /* Pass 3: dataflow over stack depth. */
    for (uint32_t i = 0; i < len; i++)
        depth[i] = -1;
    int sp = 0;
    int deepest = 0;
    depth[0] = 0;
    work[sp++] = 0;
    for (unsigned h = 0; h < m->handler_count; h++) {
        vm_handler hd = vm_method_handler(m, h);
        if (depth[hd.handler] < 0) {
            depth[hd.handler] = 1;
            work[sp++] = hd.handler;
        } else if (depth[hd.handler] != 1) {
            FAIL(hd.handler, "method %u pc %u: handler entered with different stack depths", mi, hd.handler);
        }
        if (limit < 1)
            FAIL(hd.handler, "method %u: handler needs a stack of 1, max_stack is %d", mi, limit);
        if (deepest < 1)
            deepest = 1;
    }
    while (sp > 0) {
        uint32_t pc = work[--sp];
        uint8_t op = code[pc];
        const vm_opinfo *oi = &vm_opinfo_table[op];
        int d = depth[pc], pops = oi->pops, pushes = oi->pushes;
        if (op == OP_dup_x) {
            unsigned mm = code[pc + 1] >> 4, nn = code[pc + 1] & 15;
            pops = (int)(nn > mm ? nn : mm);
            pushes = pops + (int)mm;
        } else if (op == OP_swap_x) {
            pops = pushes = (code[pc + 1] >> 4) + (code[pc + 1] & 15);
        } else if (op == OP_invokestatic || op == OP_invokespecial || op == OP_invokevirtual) {
            if (vm_cp_invoke_effect(p, op, vm_be16(code + pc + 1), v->ext, &pops, &pushes) != 0)
                FAIL(pc, "method %u pc %u: invocation target not acceptable", mi, pc);
        }
        if (d < pops)
            FAIL(pc, "method %u pc %u: %s needs %d stack words, %d on the stack", mi, pc, oi->name, pops, d);
        int nd = d - pops + pushes;
        /* dup_x / dup2 peak equals the final depth; natives' arguments are
         * already counted in d. */
        if (nd > limit)
            FAIL(pc, "method %u pc %u: stack depth %d exceeds max_stack %d", mi, pc, nd, limit);
        if (nd > deepest)
            deepest = nd;
        int cnt = 0;
        branch_targets(code, len, pc, targets, (int)tcap, &cnt);
        if ((uint32_t)cnt > tcap) {
            uint32_t *nt = realloc(targets, (uint32_t)cnt * sizeof *targets);
            if (!nt) {
                rc = VM_ERR_NOMEM;
                goto out;
            }
            targets = nt;
            tcap = (uint32_t)cnt;
            branch_targets(code, len, pc, targets, (int)tcap, &cnt);
        }
        uint32_t succ_buf[1] = { 0 };
        int nsucc = 0;
        if (!ends_flow(op)) {
            uint32_t next = pc + vm_insn_length(code, len, pc);
            if (next >= len)
                FAIL(pc, "method %u pc %u: control falls off the end of the code", mi, pc);
            succ_buf[nsucc++] = next;
        }
        if (op == OP_sreturn || op == OP_areturn || op == OP_return || op == OP_athrow)
            cnt = 0;
        for (int k = 0; k < cnt + nsucc; k++) {
            uint32_t t = k < cnt ? targets[k] : succ_buf[0];
            if (depth[t] < 0) {
                depth[t] = (int16_t)nd;
                if ((uint32_t)sp >= len + 1)
                    FAIL(pc, "method %u: internal worklist overflow", mi);
                work[sp++] = t;
            } else if (depth[t] != nd) {
                FAIL(pc, "method %u pc %u: paths meet at pc %u with stack depths %d and %d", mi, pc, t, depth[t], nd);
            }
        }
    }
    if (need)
        *need = deepest;
#undef FAIL
out:
    free(start);
    free(depth);
    free(work);
    free(targets);
    return rc;
}

static int check_applets(vctx *v)
{
    const vm_package *p = v->p;
    uint32_t off = p->len - VM_PKG_HASH_LEN;
    if (p->kind == VM_PKG_LIBRARY && p->applet_count)
        return vfail(v, off, "a library package declares applets");
    for (unsigned i = 0; i < p->applet_count; i++) {
        const vm_applet_decl *a = &p->applets[i];
        for (unsigned j = 0; j < i; j++)
            if (p->applets[j].aid.len == a->aid.len && !memcmp(p->applets[j].aid.b, a->aid.b, a->aid.len))
                return vfail(v, off, "applet %u: AID declared twice", i);
        if (a->cls >= p->class_count)
            return vfail(v, off, "applet %u: class %u out of range", i, a->cls);
        const vm_method *m;
        if (a->install >= p->method_count)
            return vfail(v, off, "applet %u: install method out of range", i);
        m = &p->methods[a->install];
        if (m->flags != VM_MF_STATIC || m->nargs != 3)
            return vfail(v, off, "applet %u: install must be static void (byte[], short, byte)", i);
        if (a->process >= p->method_count)
            return vfail(v, off, "applet %u: process method out of range", i);
        m = &p->methods[a->process];
        if (m->flags != 0 || m->nargs != 2)
            return vfail(v, off, "applet %u: process must be a void instance method (APDU)", i);
        if (a->select != 0xFFFF) {
            if (a->select >= p->method_count)
                return vfail(v, off, "applet %u: select method out of range", i);
            m = &p->methods[a->select];
            if (m->flags != VM_MF_RETURNS || m->nargs != 1)
                return vfail(v, off, "applet %u: select must be a boolean instance method ()", i);
        }
        if (a->deselect != 0xFFFF) {
            if (a->deselect >= p->method_count)
                return vfail(v, off, "applet %u: deselect method out of range", i);
            m = &p->methods[a->deselect];
            if (m->flags != 0 || m->nargs != 1)
                return vfail(v, off, "applet %u: deselect must be a void instance method ()", i);
        }
    }
    return VM_OK;
}

int vm_pkg_verify(const vm_package *p, const vm_extension *ext, unsigned flags, char *err, size_t errlen)
{
    vctx v = { p, ext, flags, err, errlen };
    int rc;
    if ((rc = check_cp(&v)) != VM_OK)
        return rc;
    if ((rc = check_classes(&v)) != VM_OK)
        return rc;
    for (unsigned i = 0; i < p->method_count; i++) {
        const vm_method *m = &p->methods[i];
        if ((rc = check_code(&v, i, m, m->max_stack, NULL)) != VM_OK)
            return rc;
    }
    return check_applets(&v);
}

int vm_method_stack_need(const vm_package *p, const vm_method *m, const vm_extension *ext, char *err,
                         size_t errlen)
{
    vctx v = { p, ext, VM_LOAD_PRIVILEGED, err, errlen };
    int need = 0;
    if (check_code(&v, (unsigned)(m - p->methods), m, 255, &need) != VM_OK)
        return -1;
    return need;
}

int vm_verify(const uint8_t *blob, size_t len, const vm_extension *ext, unsigned flags, char *err, size_t errlen)
{
    /* A CAP load file (bare or in its C4 wrapper): the CAP verifier, with
     * the built-in API packages; without a card, user-package imports
     * cannot be resolved and are checked for shape only. */
    if (cap_is_load_file(blob, len) ||
        (blob && len > 4 && blob[0] == 0xC4 && cap_is_load_file(blob + (blob[1] < 0x80 ? 2 : blob[1] == 0x81 ? 3 : 4),
                                                               len - (blob[1] < 0x80 ? 2 : blob[1] == 0x81 ? 3 : 4)))) {
        cap_link_env env;
        cap_link_env_builtin(&env);
        return vm_cap_verify_load_file(blob, len, &env,
                                       CAP_VERIFY_UNRESOLVED_IMPORTS_OK |
                                           ((flags & VM_LOAD_PRIVILEGED) ? CAP_VERIFY_PRIVILEGED : 0),
                                       err, errlen);
    }
    vm_package p;
    int rc = vm_pkg_parse(blob, len, &p, err, errlen);
    if (rc != VM_OK)
        return rc;
    rc = vm_pkg_verify(&p, ext, flags, err, errlen);
    vm_pkg_free(&p);
    return rc;
}
