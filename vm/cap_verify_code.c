/*
 * cap_verify_code.c — bytecode verification of one CAP method (see
 * cap_verify.h): a linear pass for instruction boundaries, operands,
 * constant-pool kinds and the positions RefLocation must list, then a
 * dataflow over basic blocks that types every stack word and local.
 *
 * The type lattice is kept small on purpose. All 16-bit integral values
 * (boolean, byte, short) are one class; references are null, an object or
 * any reference, and the three array kinds the element opcodes care about
 * (byte/boolean, short, reference). What matters for the card's safety is
 * that no path can turn a number into a reference, and that an element
 * opcode meets an array of its own kind; which class an object belongs to
 * is checked again by the runtime where it matters (field access by token,
 * checkcast), so it is not tracked here.
 */
#include "cap_verify_internal.h"
#include "opcodes.h"
#include "vm.h"

#include <stdlib.h>
#include <string.h>

#define OP_INVOKEINTERFACE 0x8E

/* Stack and local types: a kind in the low byte and, for references and
 * reference arrays, a class_ref above it (CV_CLS_ANY: any class). Kinds
 * without a class always carry 0, so they compare as plain values. */
typedef uint32_t vt;
enum {
    T_TOP = 0,     /* unusable (uninitialised local, merged conflict) */
    T_SHORT,       /* boolean, byte, short */
    T_NULL,
    T_REF,         /* an object of a class */
    T_ABYTE,       /* byte[] or boolean[] */
    T_ASHORT,
    T_AREF,        /* array of references of a class */
    T_UNINIT,      /* made by the `new` at pc (in the class bits), its
                      constructor not called yet: usable only as that call's
                      receiver (and by stack shuffles) */
};
#define VT(k, cls) ((vt)(k) | (vt)(cls) << 8)
#define VK(t) ((uint8_t)((t) & 0xFF))
#define VC(t) ((uint16_t)((t) >> 8))

static int is_ref(vt t) { return VK(t) >= T_NULL && VK(t) <= T_AREF; }
static int is_array(vt t) { return VK(t) == T_ABYTE || VK(t) == T_ASHORT || VK(t) == T_AREF; }

/* The stack kind of a declared type kind (T_TOP for int and void). */
static uint8_t kind_of(uint8_t k)
{
    switch (k) {
    case CVT_BOOL: case CVT_BYTE: case CVT_SHORT: return T_SHORT;
    case CVT_REF: return T_REF;
    case CVT_ABOOL: case CVT_ABYTE: return T_ABYTE;
    case CVT_ASHORT: return T_ASHORT;
    case CVT_AREF: return T_AREF;
    default: return T_TOP;
    }
}

static vt type_of(uint8_t k, uint16_t cls)
{
    uint8_t t = kind_of(k);
    return (t == T_REF || t == T_AREF) ? VT(t, cls) : (vt)t;
}

/* May a value of type t go where the declared type (k, cls) is wanted? */
static int assignable(cv_ctx *c, vt t, uint8_t k, uint16_t cls)
{
    uint8_t want = kind_of(k);
    switch (want) {
    case T_SHORT: return t == T_SHORT;
    case T_REF:
        if (t == T_NULL)
            return 1;
        if (VK(t) == T_REF)
            return cv_assignable_class(c, VC(t), cls);
        /* An array is an Object (and nothing more specific). */
        return is_array(t) && cv_assignable_class(c, CV_CLS_ANY, cls);
    case T_ABYTE: case T_ASHORT: return t == T_NULL || t == want;
    case T_AREF:
        return t == T_NULL || (VK(t) == T_AREF && cv_assignable_class(c, VC(t), cls));
    default: return 0;
    }
}

/* Two references meeting: their common type. */
static vt merge_ref(cv_ctx *c, vt a, vt b)
{
    if (a == b)
        return a;
    if (a == T_NULL)
        return b;
    if (b == T_NULL)
        return a;
    if (VK(a) == VK(b) && (VK(a) == T_REF || VK(a) == T_AREF))
        return VT(VK(a), cv_lub_class(c, VC(a), VC(b)));
    return VT(T_REF, CV_CLS_ANY);
}

typedef struct frame {
    uint16_t sp;
    vt *stack;        /* max_stack */
    vt *locals;       /* nlocals */
} frame;

typedef struct mctx {
    cv_ctx *c;
    const cv_method *m;
    const uint8_t *code;        /* first bytecode */
    uint32_t code_at;           /* its method offset */
    uint32_t len;
    unsigned max_stack, nlocals, nargs;
    int is_static;
    cv_sig sig;
    uint8_t *start;             /* 1 at each instruction start */
    uint16_t *block;            /* block index at a block start, else 0xFFFF */
    uint32_t nblocks;
    vt *states;                 /* nblocks x (1 + max_stack + nlocals): sp, stack, locals */
    uint8_t *seen;              /* block has a state */
    uint32_t *work;
    uint32_t nwork;
    uint8_t *inwork;
    unsigned hfirst, hcount;    /* this method's handlers */
} mctx;

#define FAIL(pc, ...) return cv_fail_code(x->c, x->m, (pc), __VA_ARGS__)

static size_t state_size(const mctx *x) { return 1u + x->max_stack + x->nlocals; }

static vt *state_of(const mctx *x, uint32_t b) { return x->states + (size_t)b * state_size(x); }

static void load_state(const mctx *x, uint32_t b, frame *f)
{
    const vt *s = state_of(x, b);
    f->sp = (uint16_t)s[0];
    memcpy(f->stack, s + 1, x->max_stack * sizeof(vt));
    memcpy(f->locals, s + 1 + x->max_stack, x->nlocals * sizeof(vt));
}

/* Merge frame f into the state at block b; queue b when it changed. */
static int merge_into(mctx *x, uint32_t pc_from, uint32_t target, const frame *f)
{
    uint32_t b = x->block[target];
    vt *s = state_of(x, b);
    int changed = 0;
    if (!x->seen[b]) {
        s[0] = f->sp;
        memcpy(s + 1, f->stack, x->max_stack * sizeof(vt));
        memcpy(s + 1 + x->max_stack, f->locals, x->nlocals * sizeof(vt));
        x->seen[b] = 1;
        changed = 1;
    } else {
        uint16_t sp = (uint16_t)s[0];
        if (sp != f->sp)
            FAIL(pc_from, "stack height %u meets height %u at pc %u", f->sp, sp, target);
        for (unsigned i = 0; i < sp; i++) {
            vt a = s[1 + i], bb = f->stack[i];
            if (a == bb)
                continue;
            if (!is_ref(a) || !is_ref(bb))
                FAIL(pc_from, "stack word %u: a short meets a reference at pc %u", i, target);
            vt m = merge_ref(x->c, a, bb);
            if (m != a) {
                s[1 + i] = m;
                changed = 1;
            }
        }
        vt *l = s + 1 + x->max_stack;
        for (unsigned i = 0; i < x->nlocals; i++) {
            vt a = l[i], bb = f->locals[i];
            if (a == bb || a == T_TOP)
                continue;
            vt m = (is_ref(a) && is_ref(bb)) ? merge_ref(x->c, a, bb) : (vt)T_TOP;
            if (m != a) {
                l[i] = m;
                changed = 1;
            }
        }
    }
    if (changed && !x->inwork[b]) {
        x->inwork[b] = 1;
        x->work[x->nwork++] = target;
    }
    return 0;
}

/* ---- linear pass ---- */

static uint32_t insn_len(const mctx *x, uint32_t pc)
{
    if (x->code[pc] == OP_INVOKEINTERFACE)
        return pc + 5 <= x->len ? 5 : 0;
    return vm_insn_length(x->code, x->len, pc);
}

static int cp_index_of(const mctx *x, uint32_t pc, uint16_t *idx, int *width)
{
    uint8_t op = x->code[pc];
    if (op == OP_INVOKEINTERFACE) {
        *idx = vm_be16(x->code + pc + 2);
        *width = 2;
        return 1;
    }
    const vm_opinfo *oi = &vm_opinfo_table[op];
    switch (oi->fmt) {
    case OPF_CP1: *idx = x->code[pc + 1]; *width = 1; return 1;
    case OPF_CP2: *idx = vm_be16(x->code + pc + 1); *width = 2; return 1;
    case OPF_CAST:
        /* Primitive array casts carry index 0, which is no reference. */
        if (x->code[pc + 1] != VM_T_CLASS && x->code[pc + 1] != VM_T_REFERENCE)
            return 0;
        *idx = vm_be16(x->code + pc + 2);
        *width = 2;
        return 1;
    default: return 0;
    }
}

/* Branch targets of the instruction at pc into out (at most n), count. */
static int targets_of(const mctx *x, uint32_t pc, int32_t *out, unsigned cap, unsigned *count)
{
    const uint8_t *p = x->code + pc;
    const vm_opinfo *oi = &vm_opinfo_table[p[0]];
    *count = 0;
    if (p[0] == OP_INVOKEINTERFACE)
        return 0;
    switch (oi->fmt) {
    case OPF_BR1: out[(*count)++] = (int32_t)pc + (int8_t)p[1]; break;
    case OPF_BR2: out[(*count)++] = (int32_t)pc + (int16_t)vm_be16(p + 1); break;
    case OPF_TSWITCH: {
        int16_t lo = (int16_t)vm_be16(p + 3), hi = (int16_t)vm_be16(p + 5);
        unsigned n = (unsigned)(hi - lo + 1);
        if (n + 1 > cap)
            return -1;
        out[(*count)++] = (int32_t)pc + (int16_t)vm_be16(p + 1);
        for (unsigned i = 0; i < n; i++)
            out[(*count)++] = (int32_t)pc + (int16_t)vm_be16(p + 7 + 2 * i);
        break;
    }
    case OPF_LSWITCH: {
        unsigned n = vm_be16(p + 3);
        if (n + 1 > cap)
            return -1;
        out[(*count)++] = (int32_t)pc + (int16_t)vm_be16(p + 1);
        for (unsigned i = 0; i < n; i++) {
            out[(*count)++] = (int32_t)pc + (int16_t)vm_be16(p + 7 + 4 * i);
            if (i > 0 && (int16_t)vm_be16(p + 5 + 4 * i) <= (int16_t)vm_be16(p + 1 + 4 * i))
                return -2;
        }
        break;
    }
    default: break;
    }
    return 0;
}

static int ends_path(uint8_t op)
{
    return op == OP_goto || op == OP_goto_w || op == OP_stableswitch || op == OP_slookupswitch ||
           op == OP_areturn || op == OP_sreturn || op == OP_return || op == OP_athrow;
}

static int cp_tag(const mctx *x, uint16_t idx) { return x->c->v->cp[4u * idx]; }

/* The constant-pool kind each opcode needs (0: none). */
static int cp_kind_for(uint8_t op)
{
    switch (op) {
    case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
    case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s:
        return CAP_CP_STATIC_FIELDREF;
    case OP_getfield_a: case OP_getfield_b: case OP_getfield_s:
    case OP_putfield_a: case OP_putfield_b: case OP_putfield_s:
    case OP_getfield_a_w: case OP_getfield_b_w: case OP_getfield_s_w:
    case OP_putfield_a_w: case OP_putfield_b_w: case OP_putfield_s_w:
    case OP_getfield_a_this: case OP_getfield_b_this: case OP_getfield_s_this:
    case OP_putfield_a_this: case OP_putfield_b_this: case OP_putfield_s_this:
        return CAP_CP_INSTANCE_FIELDREF;
    case OP_invokevirtual: return CAP_CP_VIRTUAL_METHODREF;
    case OP_invokestatic: return CAP_CP_STATIC_METHODREF;
    case OP_new: case OP_anewarray: case OP_checkcast: case OP_instanceof: case OP_INVOKEINTERFACE:
        return CAP_CP_CLASSREF;
    default: return 0;
    }
}

static int linear_pass(mctx *x)
{
    cv_ctx *c = x->c;
    uint32_t pc = 0;
    while (pc < x->len) {
        uint8_t op = x->code[pc];
        if (op != OP_INVOKEINTERFACE && !vm_opinfo_table[op].name)
            FAIL(pc, "opcode %02X is not supported (unknown, an int instruction, or jsr/ret)", op);
        uint32_t n = insn_len(x, pc);
        if (n == 0)
            FAIL(pc, "instruction %02X runs past the end of the method", op);
        x->start[pc] = 1;
        uint16_t idx;
        int width;
        if (cp_index_of(x, pc, &idx, &width)) {
            if (idx >= c->v->cp_count)
                FAIL(pc, "constant-pool index %u out of range (%u entries)", idx, c->v->cp_count);
            int want = cp_kind_for(op);
            int have = cp_tag(x, idx);
            if (op == OP_invokespecial) {
                if (have != CAP_CP_SUPER_METHODREF && have != CAP_CP_STATIC_METHODREF)
                    FAIL(pc, "invokespecial needs a super or static method reference, entry %u has tag %d",
                         idx, have);
            } else if (want && have != want) {
                FAIL(pc, "opcode %02X needs constant-pool tag %d, entry %u has tag %d", op, want, idx, have);
            }
            uint32_t at = x->code_at + pc + (op == OP_INVOKEINTERFACE || vm_opinfo_table[op].fmt == OPF_CAST ? 2 : 1);
            c->operand_marks[at] = (uint8_t)width;
        } else if (vm_opinfo_table[op].fmt == OPF_CAST && op != OP_INVOKEINTERFACE && vm_be16(x->code + pc + 2) != 0) {
            FAIL(pc, "primitive array cast with a constant-pool index");
        }
        pc += n;
    }
    return 0;
}

/* ---- dataflow ---- */

static int pop(mctx *x, frame *f, uint32_t pc, vt *t)
{
    *t = T_TOP;   /* defined on the failure path too (-O2 -Werror=maybe-uninitialized) */
    if (f->sp == 0)
        FAIL(pc, "stack underflow");
    *t = f->stack[--f->sp];
    return 0;
}

static int push(mctx *x, frame *f, uint32_t pc, vt t)
{
    if (f->sp >= x->max_stack)
        FAIL(pc, "stack overflow (max_stack %u)", x->max_stack);
    f->stack[f->sp++] = t;
    return 0;
}

#define POP(t) do { if (pop(x, f, pc, &(t))) return VM_ERR_VERIFY; } while (0)
#define PUSH(t) do { if (push(x, f, pc, (t))) return VM_ERR_VERIFY; } while (0)
#define POP_SHORT() do { vt t_; POP(t_); if (t_ != T_SHORT) FAIL(pc, "a short is needed, the stack holds a %s", tname(t_)); } while (0)
#define POP_REF(var) do { POP(var); if (!is_ref(var)) FAIL(pc, "a reference is needed, the stack holds a %s", tname(var)); } while (0)

static const char *tname(vt t)
{
    switch (VK(t)) {
    case T_UNINIT: return "object before its constructor ran";
    case T_SHORT: return "short";
    case T_NULL: return "null";
    case T_REF: return "reference";
    case T_ABYTE: return "byte array";
    case T_ASHORT: return "short array";
    case T_AREF: return "reference array";
    default: return "unusable value";
    }
}

static int local_index(mctx *x, uint32_t pc, unsigned i)
{
    if (i >= x->nlocals)
        FAIL(pc, "local %u out of range (%u)", i, x->nlocals);
    return 0;
}

static int pop_array(mctx *x, frame *f, uint32_t pc, uint8_t want, vt *got)
{
    vt t;
    POP(t);
    *got = t;
    if (t != T_NULL && VK(t) != want)
        FAIL(pc, "a %s is needed, the stack holds a %s", tname(want), tname(t));
    return 0;
}

/* Pop a call's arguments (declared types, last first). */
static int pop_args(mctx *x, frame *f, uint32_t pc, const cv_sig *s)
{
    for (unsigned i = s->nparams; i-- > 0;) {
        vt t;
        if (s->params[i] == CVT_INT || s->params[i] == CVT_AINT)
            FAIL(pc, "call with an int argument: int is not supported on this card");
        POP(t);
        if (!assignable(x->c, t, s->params[i], s->pcls[i]))
            FAIL(pc, "argument %u: a %s where the method wants type %u", i, tname(t), s->params[i]);
    }
    return 0;
}

static int push_result(mctx *x, frame *f, uint32_t pc, uint8_t ret, uint16_t rcls)
{
    if (ret == CVT_VOID)
        return 0;
    if (kind_of(ret) == T_TOP)
        FAIL(pc, "call returning int: int is not supported on this card");
    PUSH(type_of(ret, rcls));
    return 0;
}

/* Field type checks: _a wants a reference type, _b boolean/byte, _s short. */
static int field_kind_ok(uint8_t variant, uint8_t k)
{
    switch (variant) {
    case 'a': return kind_of(k) >= T_NULL;
    case 'b': return k == CVT_BOOL || k == CVT_BYTE;
    case 's': return k == CVT_SHORT;
    default: return 0;
    }
}

static uint8_t field_variant(uint8_t op)
{
    switch (op) {
    case OP_getstatic_a: case OP_putstatic_a: case OP_getfield_a: case OP_putfield_a:
    case OP_getfield_a_w: case OP_putfield_a_w: case OP_getfield_a_this: case OP_putfield_a_this:
        return 'a';
    case OP_getstatic_b: case OP_putstatic_b: case OP_getfield_b: case OP_putfield_b:
    case OP_getfield_b_w: case OP_putfield_b_w: case OP_getfield_b_this: case OP_putfield_b_this:
        return 'b';
    default:
        return 's';
    }
}

/* Execute the instruction at pc on f: 0, VM_ERR_VERIFY, or 1 when the
 * path cannot be followed further (host flag, unresolved import). */
/* An external static ref into an import the card does not have (host). */
static int ref_unresolved_cp(const cv_ctx *c, const uint8_t *e)
{
    uint8_t pt = e[1] & 0x7F;
    return pt < c->v->import_count && !c->imports[pt].api && !c->imports[pt].user;
}

/* The object a field access or call works on: of class cls or below. */
static int check_receiver(mctx *x, uint32_t pc, vt t, uint16_t cls, const char *what)
{
    if (!is_ref(t))
        FAIL(pc, "%s: a reference is needed, the stack holds a %s", what, tname(t));
    if (t == T_NULL)
        return 0;
    if (VK(t) == T_REF) {
        if (!cv_assignable_class(x->c, VC(t), cls))
            FAIL(pc, "%s on an object of class %04X, which is no %04X", what, VC(t), cls);
        return 0;
    }
    if (!cv_assignable_class(x->c, CV_CLS_ANY, cls))
        FAIL(pc, "%s on an array", what);
    return 0;
}

static int step(mctx *x, frame *f, uint32_t pc)
{
    cv_ctx *c = x->c;
    const uint8_t *p = x->code + pc;
    uint8_t op = p[0];
    vt a, b, t, arr;

    switch (op) {
    case OP_nop: break;
    case OP_aconst_null: PUSH(T_NULL); break;
    case OP_sconst_m1: case OP_sconst_0: case OP_sconst_1: case OP_sconst_2:
    case OP_sconst_3: case OP_sconst_4: case OP_sconst_5: case OP_bspush: case OP_sspush:
        PUSH(T_SHORT);
        break;
    case OP_aload: case OP_aload_0: case OP_aload_1: case OP_aload_2: case OP_aload_3: {
        unsigned i = op == OP_aload ? p[1] : (unsigned)(op - OP_aload_0);
        if (local_index(x, pc, i))
            return VM_ERR_VERIFY;
        if (!is_ref(f->locals[i]))
            FAIL(pc, "aload of local %u, which holds a %s", i, tname(f->locals[i]));
        PUSH(f->locals[i]);
        break;
    }
    case OP_sload: case OP_sload_0: case OP_sload_1: case OP_sload_2: case OP_sload_3: {
        unsigned i = op == OP_sload ? p[1] : (unsigned)(op - OP_sload_0);
        if (local_index(x, pc, i))
            return VM_ERR_VERIFY;
        if (f->locals[i] != T_SHORT)
            FAIL(pc, "sload of local %u, which holds a %s", i, tname(f->locals[i]));
        PUSH(T_SHORT);
        break;
    }
    case OP_astore: case OP_astore_0: case OP_astore_1: case OP_astore_2: case OP_astore_3: {
        unsigned i = op == OP_astore ? p[1] : (unsigned)(op - OP_astore_0);
        if (local_index(x, pc, i))
            return VM_ERR_VERIFY;
        POP_REF(t);
        f->locals[i] = t;
        break;
    }
    case OP_sstore: case OP_sstore_0: case OP_sstore_1: case OP_sstore_2: case OP_sstore_3: {
        unsigned i = op == OP_sstore ? p[1] : (unsigned)(op - OP_sstore_0);
        if (local_index(x, pc, i))
            return VM_ERR_VERIFY;
        POP_SHORT();
        f->locals[i] = T_SHORT;
        break;
    }
    case OP_sinc: case OP_sinc_w:
        if (local_index(x, pc, p[1]))
            return VM_ERR_VERIFY;
        if (f->locals[p[1]] != T_SHORT)
            FAIL(pc, "sinc of local %u, which holds a %s", p[1], tname(f->locals[p[1]]));
        break;
    case OP_aaload:
        POP_SHORT();
        if (pop_array(x, f, pc, T_AREF, &arr))
            return VM_ERR_VERIFY;
        PUSH(VT(T_REF, arr == T_NULL ? CV_CLS_ANY : VC(arr)));
        break;
    case OP_baload: POP_SHORT(); if (pop_array(x, f, pc, T_ABYTE, &arr)) return VM_ERR_VERIFY; PUSH(T_SHORT); break;
    case OP_saload: POP_SHORT(); if (pop_array(x, f, pc, T_ASHORT, &arr)) return VM_ERR_VERIFY; PUSH(T_SHORT); break;
    case OP_aastore:
        POP_REF(t);
        POP_SHORT();
        /* Element class: checked at run time (covariant arrays). */
        if (pop_array(x, f, pc, T_AREF, &arr))
            return VM_ERR_VERIFY;
        break;
    case OP_bastore: case OP_sastore:
        POP_SHORT();
        POP_SHORT();
        if (pop_array(x, f, pc, op == OP_bastore ? T_ABYTE : T_ASHORT, &arr))
            return VM_ERR_VERIFY;
        break;
    case OP_pop: POP(t); break;
    case OP_pop2: POP(t); POP(t); break;
    case OP_dup: POP(t); PUSH(t); PUSH(t); break;
    case OP_dup2: POP(a); POP(b); PUSH(b); PUSH(a); PUSH(b); PUSH(a); break;
    case OP_dup_x: {
        unsigned m = p[1] >> 4, n = p[1] & 0x0F;
        if (m < 1 || m > 4 || (n != 0 && (n < m || n > m + 4)))
            FAIL(pc, "dup_x %u,%u out of range", m, n);
        unsigned depth = n ? n : m;
        if (f->sp < depth)
            FAIL(pc, "stack underflow");
        if (f->sp + m > x->max_stack)
            FAIL(pc, "stack overflow (max_stack %u)", x->max_stack);
        vt top[4];
        memcpy(top, f->stack + f->sp - m, m * sizeof(vt));
        if (n == 0) {
            memcpy(f->stack + f->sp, top, m * sizeof(vt));
        } else {
            vt *ins = f->stack + f->sp - n;
            memmove(ins + m, ins, n * sizeof(vt));
            memcpy(ins, top, m * sizeof(vt));
        }
        f->sp = (uint16_t)(f->sp + m);
        break;
    }
    case OP_swap_x: {
        unsigned m = p[1] >> 4, n = p[1] & 0x0F;
        if (m < 1 || m > 2 || n < 1 || n > 2)
            FAIL(pc, "swap_x %u,%u out of range", m, n);
        if (f->sp < m + n)
            FAIL(pc, "stack underflow");
        vt tmp[4];
        vt *base = f->stack + f->sp - m - n;
        memcpy(tmp, base, n * sizeof(vt));            /* the lower n words */
        memmove(base, base + n, m * sizeof(vt));      /* the top m words go down */
        memcpy(base + m, tmp, n * sizeof(vt));
        break;
    }
    case OP_sadd: case OP_ssub: case OP_smul: case OP_sdiv: case OP_srem: case OP_sshl:
    case OP_sshr: case OP_sushr: case OP_sand: case OP_sor: case OP_sxor:
        POP_SHORT();
        POP_SHORT();
        PUSH(T_SHORT);
        break;
    case OP_sneg: case OP_s2b: POP_SHORT(); PUSH(T_SHORT); break;
    case OP_ifeq: case OP_ifne: case OP_iflt: case OP_ifge: case OP_ifgt: case OP_ifle:
    case OP_ifeq_w: case OP_ifne_w: case OP_iflt_w: case OP_ifge_w: case OP_ifgt_w: case OP_ifle_w:
    case OP_stableswitch: case OP_slookupswitch:
        POP_SHORT();
        break;
    case OP_ifnull: case OP_ifnonnull: case OP_ifnull_w: case OP_ifnonnull_w:
        POP_REF(t);
        break;
    case OP_if_acmpeq: case OP_if_acmpne: case OP_if_acmpeq_w: case OP_if_acmpne_w:
        POP_REF(t);
        POP_REF(t);
        break;
    case OP_if_scmpeq: case OP_if_scmpne: case OP_if_scmplt: case OP_if_scmpge: case OP_if_scmpgt:
    case OP_if_scmple: case OP_if_scmpeq_w: case OP_if_scmpne_w: case OP_if_scmplt_w:
    case OP_if_scmpge_w: case OP_if_scmpgt_w: case OP_if_scmple_w:
        POP_SHORT();
        POP_SHORT();
        break;
    case OP_goto: case OP_goto_w: break;
    case OP_return:
        if (x->sig.ret != CVT_VOID)
            FAIL(pc, "return in a method that returns a value");
        break;
    case OP_sreturn:
        if (x->sig.ret != CVT_BOOL && x->sig.ret != CVT_BYTE && x->sig.ret != CVT_SHORT)
            FAIL(pc, "sreturn in a method that does not return a short");
        POP_SHORT();
        break;
    case OP_areturn:
        if (kind_of(x->sig.ret) < T_NULL)
            FAIL(pc, "areturn in a method that does not return a reference");
        POP(t);
        if (!assignable(c, t, x->sig.ret, x->sig.rcls))
            FAIL(pc, "areturn of a %s", tname(t));
        break;
    case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
    case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s:
    case OP_getfield_a: case OP_getfield_b: case OP_getfield_s:
    case OP_putfield_a: case OP_putfield_b: case OP_putfield_s:
    case OP_getfield_a_w: case OP_getfield_b_w: case OP_getfield_s_w:
    case OP_putfield_a_w: case OP_putfield_b_w: case OP_putfield_s_w:
    case OP_getfield_a_this: case OP_getfield_b_this: case OP_getfield_s_this:
    case OP_putfield_a_this: case OP_putfield_b_this: case OP_putfield_s_this: {
        const vm_opinfo *oi = &vm_opinfo_table[op];
        uint16_t idx = oi->fmt == OPF_CP1 ? p[1] : vm_be16(p + 1);
        uint8_t var = field_variant(op);
        int is_put = strncmp(oi->name, "put", 3) == 0;
        int is_this = strstr(oi->name, "_this") != NULL;
        int is_static = strstr(oi->name, "static") != NULL;
        uint8_t k = c->cp_known[idx] ? c->cp_sigs[idx].ret : 0;
        uint16_t kcls = c->cp_known[idx] ? c->cp_sigs[idx].rcls : CV_CLS_ANY;
        /* The class the field is declared in (instance fields). */
        uint16_t owner = vm_be16(c->v->cp + 4u * idx + 1);
        if (k && !field_kind_ok(var, k))
            FAIL(pc, "%s on a field of type %u", oi->name, k);
        if (k == 0)   /* a field of an unresolved import: shape only */
            k = var == 'a' ? CVT_REF : var == 'b' ? CVT_BYTE : CVT_SHORT;
        if (is_put) {
            POP(t);
            if (!assignable(c, t, k, kcls))
                FAIL(pc, "%s stores a %s into a field of type %u", oi->name, tname(t), k);
        }
        if (is_this) {
            if (x->is_static)
                FAIL(pc, "%s in a static method", oi->name);
            if (check_receiver(x, pc, f->locals[0], owner, oi->name))
                return VM_ERR_VERIFY;
        } else if (!is_static) {
            POP(t);
            if (check_receiver(x, pc, t, owner, oi->name))
                return VM_ERR_VERIFY;
            if (is_array(t))
                FAIL(pc, "%s on an array", oi->name);
        }
        if (!is_put)
            PUSH(type_of(k, kcls));
        break;
    }
    case OP_invokevirtual: case OP_invokespecial: case OP_invokestatic: {
        uint16_t idx = vm_be16(p + 1);
        const cv_sig *s = &c->cp_sigs[idx];
        if (!c->cp_known[idx])
            FAIL(pc, "call into a package that is not on the card");
        /* The class the receiver must belong to. */
        const uint8_t *e = c->v->cp + 4u * idx;
        uint16_t owner = vm_be16(e + 1);
        if (op == OP_invokespecial && cp_tag(x, idx) == CAP_CP_STATIC_METHODREF) {
            /* Only a constructor or a private method. */
            if (c->cp_flags[idx] & CV_CPF_STATIC)
                FAIL(pc, "invokespecial of a static method");
            if (!(e[1] & 0x80)) {
                const cv_method *tm = cv_method_at(c, vm_be16(e + 2));
                if (!tm || (tm->access & CV_ACC_STATIC))
                    FAIL(pc, "invokespecial of a static method");
                owner = tm->class_ref;
            } else {
                owner = (uint16_t)(e[1] << 8 | e[2]);
            }
        }
        if (op == OP_invokestatic) {
            if ((e[1] & 0x80) && c->cp_known[idx] && !(c->cp_flags[idx] & CV_CPF_STATIC) &&
                !ref_unresolved_cp(c, e))
                FAIL(pc, "invokestatic of a constructor");
            if (!(e[1] & 0x80)) {
                const cv_method *tm = cv_method_at(c, vm_be16(e + 2));
                if (!tm || !(tm->access & CV_ACC_STATIC))
                    FAIL(pc, "invokestatic of an instance method");
            }
        }
        if (pop_args(x, f, pc, s))
            return VM_ERR_VERIFY;
        if (op != OP_invokestatic) {
            POP(t);
            int ctor = op == OP_invokespecial && cp_tag(x, idx) == CAP_CP_STATIC_METHODREF &&
                       (c->cp_flags[idx] & CV_CPF_CTOR);
            if (ctor && VK(t) == T_UNINIT) {
                /* The constructor of the class `new` named: every copy of
                 * that object is initialised from here on. */
                uint16_t npc = VC(t);
                uint16_t cls = vm_be16(c->v->cp + 4u * vm_be16(x->code + npc + 1) + 1);
                if (cls != owner)
                    FAIL(pc, "constructor of class %04X called on a new %04X", owner, cls);
                vt done = VT(T_REF, cls);
                for (unsigned i = 0; i < f->sp; i++)
                    if (f->stack[i] == t)
                        f->stack[i] = done;
                for (unsigned i = 0; i < x->nlocals; i++)
                    if (f->locals[i] == t)
                        f->locals[i] = done;
            } else {
                if (ctor && !(x->m->access & CV_ACC_INIT))
                    FAIL(pc, "constructor called on an object already made");
                if (check_receiver(x, pc, t, owner, "call"))
                    return VM_ERR_VERIFY;
            }
        }
        if (push_result(x, f, pc, s->ret, s->rcls))
            return VM_ERR_VERIFY;
        break;
    }
    case OP_INVOKEINTERFACE: {
        uint16_t idx = vm_be16(p + 2);
        uint16_t ref = vm_be16(c->v->cp + 4u * idx + 1);
        cv_sig s;
        int r = cv_interface_method(c, ref, p[4], &s);
        if (r == -2)
            return 1;   /* host, unresolved import: the result's type is unknown, the path ends here */
        if (r != 0 || cv_class_kind(c, ref) != 1)
            FAIL(pc, "invokeinterface: no method token %u in interface %04X", p[4], ref);
        unsigned words = 1;
        for (unsigned i = 0; i < s.nparams; i++)
            words += s.params[i] == CVT_INT ? 2 : 1;
        if (p[1] != words)
            FAIL(pc, "invokeinterface nargs %u, the method takes %u words", p[1], words);
        if (pop_args(x, f, pc, &s))
            return VM_ERR_VERIFY;
        POP_REF(t);
        if (push_result(x, f, pc, s.ret, s.rcls))
            return VM_ERR_VERIFY;
        break;
    }
    case OP_new: {
        uint16_t idx = vm_be16(p + 1);
        uint16_t cls = vm_be16(c->v->cp + 4u * idx + 1);
        if (cv_class_kind(c, cls) == 1 || cv_class_abstract(c, cls))
            FAIL(pc, "new of an interface or abstract class");
        PUSH(VT(T_UNINIT, pc));
        break;
    }
    case OP_newarray:
        POP_SHORT();
        if (p[1] == VM_T_BOOLEAN || p[1] == VM_T_BYTE)
            PUSH(T_ABYTE);
        else if (p[1] == VM_T_SHORT)
            PUSH(T_ASHORT);
        else if (p[1] == VM_T_INT)
            FAIL(pc, "newarray of int: int is not supported on this card");
        else
            FAIL(pc, "newarray of element type %u", p[1]);
        break;
    case OP_anewarray:
        POP_SHORT();
        PUSH(VT(T_AREF, vm_be16(c->v->cp + 4u * vm_be16(p + 1) + 1)));
        break;
    case OP_arraylength:
        POP(t);
        if (t != T_NULL && !is_array(t))
            FAIL(pc, "arraylength of a %s", tname(t));
        PUSH(T_SHORT);
        break;
    case OP_athrow:
        /* Handlers trust the catch class they are typed with. */
        POP_REF(t);
        if (t != T_NULL && (VK(t) != T_REF || !cv_is_throwable(c, VC(t))))
            FAIL(pc, "athrow of a %s that is not a Throwable", tname(t));
        break;
    case OP_checkcast: case OP_instanceof: {
        uint8_t at = p[1];
        POP_REF(t);
        vt r;
        uint16_t cls = (at == VM_T_CLASS || at == VM_T_REFERENCE) ? vm_be16(c->v->cp + 4u * vm_be16(p + 2) + 1) : 0;
        switch (at) {
        case VM_T_CLASS: r = VT(T_REF, cls); break;
        case VM_T_BOOLEAN: case VM_T_BYTE: r = T_ABYTE; break;
        case VM_T_SHORT: r = T_ASHORT; break;
        case VM_T_REFERENCE: r = VT(T_AREF, cls); break;
        case VM_T_INT: FAIL(pc, "cast to int[]: int is not supported on this card");
        default: FAIL(pc, "cast to element type %u", at);
        }
        PUSH(op == OP_checkcast ? r : (vt)T_SHORT);
        break;
    }
    default:
        FAIL(pc, "opcode %02X is not supported", op);
    }
    return 0;
}

static int run_dataflow(mctx *x)
{
    const cap_view *v = x->c->v;
    vt *buf = calloc(x->max_stack + x->nlocals + 1u, sizeof(vt));
    vt *hbuf = calloc(x->max_stack + x->nlocals + 1u, sizeof(vt));
    if (!buf || !hbuf) {
        free(buf);
        free(hbuf);
        return VM_ERR_NOMEM;
    }
    frame f = { 0, buf, buf + x->max_stack };
    frame hf = { 0, hbuf, hbuf + x->max_stack };
    int rc = 0;

    /* Entry: "this" (an object of the declaring class), the arguments,
     * then unusable locals. */
    unsigned li = 0;
    if (!x->is_static)
        f.locals[li++] = VT(T_REF, x->m->class_ref);
    for (unsigned i = 0; i < x->sig.nparams; i++)
        f.locals[li++] = type_of(x->sig.params[i], x->sig.pcls[i]);
    f.sp = 0;
    if ((rc = merge_into(x, 0, 0, &f)) != 0)
        goto out;

    while (x->nwork) {
        uint32_t pc = x->work[--x->nwork];
        x->inwork[x->block[pc]] = 0;
        load_state(x, x->block[pc], &f);
        for (;;) {
            uint8_t op = x->code[pc];
            /* Exception handlers covering pc see its locals. */
            for (unsigned h = 0; h < x->hcount; h++) {
                const cap_handler *hd = &v->handlers[x->hfirst + h];
                uint32_t s = hd->start - x->code_at, e = hd->end - x->code_at;
                if (pc < s || pc >= e)
                    continue;
                hf.sp = 1;
                memset(hf.stack, 0, x->max_stack * sizeof(vt));
                hf.stack[0] = VT(T_REF, hd->catch_type ? vm_be16(v->cp + 4u * hd->catch_type + 1) : CV_CLS_THROWABLE);
                memcpy(hf.locals, f.locals, x->nlocals * sizeof(vt));
                if ((rc = merge_into(x, pc, hd->handler - x->code_at, &hf)) != 0)
                    goto out;
            }
            if ((rc = step(x, &f, pc)) != 0) {
                if (rc == 1) {
                    rc = 0;
                    break;
                }
                goto out;
            }
            int32_t tg[1];
            unsigned cnt = 0;
            const vm_opinfo *oi = &vm_opinfo_table[op];
            if (op != OP_INVOKEINTERFACE &&
                (oi->fmt == OPF_BR1 || oi->fmt == OPF_BR2 || oi->fmt == OPF_TSWITCH || oi->fmt == OPF_LSWITCH)) {
                /* Targets were checked in the linear pass; walk them again. */
                const uint8_t *p = x->code + pc;
                if (oi->fmt == OPF_BR1 || oi->fmt == OPF_BR2) {
                    (void)targets_of(x, pc, tg, 1, &cnt);
                    if ((rc = merge_into(x, pc, (uint32_t)tg[0], &f)) != 0)
                        goto out;
                } else {
                    uint32_t def = (uint32_t)((int32_t)pc + (int16_t)vm_be16(p + 1));
                    if ((rc = merge_into(x, pc, def, &f)) != 0)
                        goto out;
                    if (oi->fmt == OPF_TSWITCH) {
                        int16_t lo = (int16_t)vm_be16(p + 3), hi = (int16_t)vm_be16(p + 5);
                        for (int32_t i = 0; i <= hi - lo; i++)
                            if ((rc = merge_into(x, pc, (uint32_t)((int32_t)pc + (int16_t)vm_be16(p + 7 + 2 * i)), &f)) != 0)
                                goto out;
                    } else {
                        unsigned n = vm_be16(p + 3);
                        for (unsigned i = 0; i < n; i++)
                            if ((rc = merge_into(x, pc, (uint32_t)((int32_t)pc + (int16_t)vm_be16(p + 7 + 4 * i)), &f)) != 0)
                                goto out;
                    }
                }
            }
            if (ends_path(op))
                break;
            uint32_t next = pc + insn_len(x, pc);
            if (next >= x->len) {
                rc = cv_fail_code(x->c, x->m, pc, "execution falls off the end of the method");
                goto out;
            }
            if (x->block[next] != 0xFFFF) {
                if ((rc = merge_into(x, pc, next, &f)) != 0)
                    goto out;
                break;
            }
            pc = next;
        }
    }
out:
    free(buf);
    free(hbuf);
    return rc;
}

int cv_verify_method(cv_ctx *c, const cv_method *m)
{
    const cap_view *v = c->v;
    cap_method_header h;
    if (cap_method_header_at(v, m->offset, &h) != 0)
        return cv_fail(c, CAP_Method, m->offset, "no method header");
    mctx xs;
    mctx *x = &xs;
    memset(x, 0, sizeof *x);
    x->c = c;
    x->m = m;
    x->code_at = h.code_offset;
    x->code = v->methods + h.code_offset;
    x->len = m->bytecode_count;
    x->max_stack = h.max_stack;
    x->nargs = h.nargs;
    x->nlocals = (unsigned)h.nargs + h.max_locals;
    x->is_static = (m->access & CV_ACC_STATIC) != 0;
    x->hfirst = m->handler_index;
    x->hcount = m->handler_count;
    if (cv_decode_type(&c->d, m->type_offset, &x->sig) != 0)
        return cv_fail(c, CAP_Descriptor, m->type_offset, "bad method type");
    for (unsigned i = 0; i < x->sig.nparams; i++)
        if (x->sig.params[i] == CVT_INT || x->sig.params[i] == CVT_AINT)
            FAIL(0, "int parameter: int is not supported on this card");
    if (x->sig.ret == CVT_INT || x->sig.ret == CVT_AINT)
        FAIL(0, "int result: int is not supported on this card");

    int rc = VM_ERR_NOMEM;
    x->start = calloc(x->len, 1);
    x->block = malloc(x->len * sizeof *x->block);
    if (!x->start || !x->block)
        goto out;
    memset(x->block, 0xFF, x->len * sizeof *x->block);
    if ((rc = linear_pass(x)) != 0)
        goto out;

    /* Block starts: entry, branch targets, handler starts and entries. */
    int32_t *tg = malloc(65536u * sizeof *tg);
    if (!tg) {
        rc = VM_ERR_NOMEM;
        goto out;
    }
    x->block[0] = 0;
    for (uint32_t pc = 0; pc < x->len; pc += insn_len(x, pc)) {
        unsigned cnt;
        int r = targets_of(x, pc, tg, 65536u, &cnt);
        if (r < 0) {
            free(tg);
            rc = cv_fail_code(c, m, pc, r == -2 ? "slookupswitch keys not in increasing order"
                                                : "switch table too large");
            goto out;
        }
        for (unsigned i = 0; i < cnt; i++) {
            if (tg[i] < 0 || (uint32_t)tg[i] >= x->len || !x->start[tg[i]]) {
                int bad = (int)tg[i];
                free(tg);
                rc = cv_fail_code(c, m, pc, "branch target %d is not an instruction of the method", bad);
                goto out;
            }
            x->block[tg[i]] = 0;
        }
    }
    free(tg);
    for (unsigned i = 0; i < x->hcount; i++) {
        const cap_handler *hd = &v->handlers[x->hfirst + i];
        uint32_t s = hd->start - x->code_at, e = hd->end - x->code_at, en = hd->handler - x->code_at;
        unsigned hoff = 1u + 8u * (x->hfirst + i);
        if (!x->start[s] || (e < x->len && !x->start[e]) || !x->start[en]) {
            rc = cv_fail(c, CAP_Method, hoff, "handler %u: range or entry not on an instruction boundary",
                         x->hfirst + i);
            goto out;
        }
        x->block[en] = 0;
    }
    for (uint32_t pc = 0; pc < x->len; pc++)
        if (x->block[pc] == 0)
            x->block[pc] = (uint16_t)x->nblocks++;
    x->states = calloc(x->nblocks, state_size(x) * sizeof(vt));
    x->seen = calloc(x->nblocks, 1);
    x->inwork = calloc(x->nblocks, 1);
    x->work = malloc(x->nblocks * sizeof *x->work);
    if (!x->states || !x->seen || !x->inwork || !x->work) {
        rc = VM_ERR_NOMEM;
        goto out;
    }
    rc = run_dataflow(x);
out:
    free(x->start);
    free(x->block);
    free(x->states);
    free(x->seen);
    free(x->inwork);
    free(x->work);
    return rc;
}
