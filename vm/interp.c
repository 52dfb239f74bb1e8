/*
 * interp.c — the dispatch loop.
 *
 * The code it runs has passed the verifier (verify.c), so the loop does not
 * check what the verifier proved: opcodes are known, operands lie inside the
 * code, branch targets are instruction starts, locals are in range, constant
 * pool entries have the right kind, and the operand stack stays within
 * [0, max_stack] on every path. It checks only what depends on values:
 * references (null, a live handle, the firewall), array bounds, object
 * kinds, division by zero, stack space for calls, and the budget.
 *
 * Translation: at its first call a method is translated into threaded ops
 * (vm_xop, vm_internal.h): handler addresses, decoded operands, resolved
 * statics/field slots and branch targets, and superinstructions for the
 * common sequences (locals compared and branched on, array element loads
 * and stores through locals, constant arithmetic, loop increments). Fusion
 * never crosses a branch target, a handler range boundary or a handler
 * entry, and a fused op does all its checks (that may throw) before its
 * first local write, so exceptions see the state of the original code at
 * the fused sequence's first instruction, whose offset the op keeps.
 *
 * Registers of the loop: ip (current op), sp (next free stack word), lv
 * (locals of the current frame), f (current frame). Stack words are
 * uint16_t; arithmetic is done in 32 bits and truncated, which gives Java
 * Card's wrap-around semantics for short.
 *
 * Dispatch: with GCC/Clang, direct threading (each op holds its handler's
 * label address; one indirect jump at the end of each handler); otherwise a
 * switch over op ids in a loop.
 *
 * Budget: counted in original bytecodes. Each op knows the number of
 * bytecodes from it to the next control transfer (branch, switch, return,
 * athrow): that "chain" is charged when the op is entered by a jump, a call,
 * a handler or at method entry, so straight-line code pays nothing per op.
 * A taken branch and a call first test the budget: every runaway program
 * passes there. The count is exact except that a run cut short by an
 * exception is counted whole, and the budget may be overrun by one run.
 */
#include <stdlib.h>
#include <string.h>

#include "natives.h"
#include "opcodes.h"
#include "vm_internal.h"

#if defined(__GNUC__)
#define VM_COMPUTED_GOTO 1
#define VM_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define VM_COMPUTED_GOTO 0
#define VM_LIKELY(x) (x)
#endif

int vm_is_instance_of(const vm_runtime *rt, const vm_lpkg *pkg, uint16_t cls, uint16_t target)
{
    (void)rt;
    if (target == VM_SC_Object)
        return 1;
    for (int guard = 0; guard < 300 && cls != VM_CLASS_NONE; guard++) {
        if (cls == target)
            return 1;
        if (cls < VM_SC_Object)
            cls = cls < pkg->pkg.class_count ? pkg->pkg.classes[cls].super : VM_CLASS_NONE;
        else
            cls = vm_sys_class_super(cls);
    }
    return 0;
}

/* checkcast / instanceof test for a non-null object. */
static int cast_ok(const vm_runtime *rt, const vm_lpkg *pkg, const vm_obj *o, uint8_t atype, uint16_t cls)
{
    switch (atype) {
    case VM_T_CLASS:
        if (cls == VM_SC_Object)
            return 1;
        if (o->kind != VM_OBJ_INSTANCE && o->kind != VM_OBJ_SYSTEM && o->kind != VM_OBJ_PIN)
            return 0;
        return vm_is_instance_of(rt, pkg, o->cls, cls);
    case VM_T_BOOLEAN: return o->kind == VM_OBJ_BOOLS;
    case VM_T_BYTE: return o->kind == VM_OBJ_BYTES;
    case VM_T_SHORT: return o->kind == VM_OBJ_SHORTS;
    case VM_T_REFERENCE:
        return o->kind == VM_OBJ_REFS && vm_is_instance_of(rt, pkg, o->cls, cls);
    default: return 0;
    }
}

static int call_extension(vm_runtime *rt, const vm_lpkg *P, uint16_t token, uint16_t *args, unsigned nargs,
                          uint16_t *ret)
{
    unsigned i = token - VM_EXT_TOKEN_FIRST;
    if (!P->privileged || !rt->ext || i >= rt->ext->count || !rt->ext->entries[i].fn)
        return vm_set_reason(rt, VM_SC_SecurityException, 0);
    vm_native_call call = { rt, args, 0, (uint16_t)nargs, 0 };
    rt->ext->entries[i].fn(rt->ext->ctx, &call);
    *ret = call.ret;
    return call.result;
}

/* ---- translation into threaded ops ---- */

/* Op ids: 0..255 are the original opcodes (sload stands for every local load,
 * sstore for every local store, sspush for every constant, sinc for sinc_w,
 * the short branches for the _w ones); superinstructions follow. */
enum {
    X_LOAD2 = 256,     /* push la, lb                                   */
    X_BALOAD_LL,       /* push la[lb] (byte/boolean array)              */
    X_SALOAD_LL,       /* push la[lb] (short array)                     */
    X_LOAD_BALOAD_LL,  /* push lc; push la[lb]                          */
    X_SALOAD_LL_ST,    /* lc = la[lb]                                   */
    X_SALOAD_LLK_ST,   /* lc = la[lb + k]                               */
    X_SASTORE_LLL,     /* la[lb] = lc                                   */
    X_SASTORE_LLKL,    /* la[lb + k] = lc                               */
    X_BASTORE_LLL,     /* la[lb] = (byte)lc                             */
    X_ADD_LL,          /* push la + lb                                  */
    X_SUB_LL,          /* push la - lb                                  */
    X_ADDK,            /* top += a                                      */
    X_ANDK,            /* top &= a                                      */
    X_ORK,             /* top |= a                                      */
    X_MULK,            /* top *= a                                      */
    X_REMK,            /* top %= a (a != 0), by reciprocal u.m          */
    X_REMK_ST,         /* lc = pop % a                                  */
    X_ADDK_ST,         /* lc = pop + a                                  */
    X_LADDK_ST,        /* lc = la + b                                   */
    X_MOV,             /* lb = la                                       */
    X_SETK,            /* lb = a                                        */
    X_RSUB_KL,         /* push a - lb                                   */
    X_INC_LOAD,        /* la += b; push la                              */
    X_INC_GOTO,        /* la += b; goto t                               */
    X_UBALOAD_LL,      /* push la[lb] & 0xFF                            */
    X_LOAD_UBALOAD_LL, /* push lc; push la[lb] & 0xFF                   */
    X_ADD_REMK_ST,     /* lc = (pop + pop) % a (a != 0), reciprocal u.m */
    X_LADD_REMK_ST,    /* lc = (la + lb) % e (e != 0), reciprocal u.m   */
    X_IFCMP_LL,        /* 6 ops: if (la ? lb) goto t                    */
    X_IFCMP_LK = X_IFCMP_LL + 6,      /* if (la ? b) goto t            */
    X_INC_IFCMP_LK = X_IFCMP_LK + 6,  /* la += b; if (la ? c) goto t   */
    X_IF_L = X_INC_IFCMP_LK + 6,      /* if (la ? 0) goto t            */
    X_INC_IFCMP_LKSUBL = X_IF_L + 6,  /* la += (s1)b; if (la ? c - l[b >> 8]) goto t */
    X_COUNT = X_INC_IFCMP_LKSUBL + 6
};

/* Condition codes, in the order of the 6-op groups above. */
enum { C_EQ, C_NE, C_LT, C_GE, C_GT, C_LE };

/* A decoded original instruction. */
enum { K_OTHER, K_LOAD, K_STORE, K_CONST, K_INC, K_CMPBR, K_IFZ, K_GOTO, K_BINOP };
typedef struct xins {
    uint16_t pc, next;
    uint8_t op, kind, cond, leader;
    int32_t v;       /* local index, constant, or branch target pc */
    int32_t w;       /* sinc delta */
    uint16_t chain;
} xins;

static int cond_of(uint8_t op)
{
    switch (op) {
    case OP_ifeq: case OP_ifeq_w: case OP_ifnull: case OP_ifnull_w:
    case OP_if_scmpeq: case OP_if_scmpeq_w: case OP_if_acmpeq: case OP_if_acmpeq_w: return C_EQ;
    case OP_ifne: case OP_ifne_w: case OP_ifnonnull: case OP_ifnonnull_w:
    case OP_if_scmpne: case OP_if_scmpne_w: case OP_if_acmpne: case OP_if_acmpne_w: return C_NE;
    case OP_iflt: case OP_iflt_w: case OP_if_scmplt: case OP_if_scmplt_w: return C_LT;
    case OP_ifge: case OP_ifge_w: case OP_if_scmpge: case OP_if_scmpge_w: return C_GE;
    case OP_ifgt: case OP_ifgt_w: case OP_if_scmpgt: case OP_if_scmpgt_w: return C_GT;
    default: return C_LE;
    }
}

/* The short form of a branch (the _w forms share its handler). */
static uint8_t short_branch(uint8_t op)
{
    if (op >= OP_ifeq_w && op <= OP_ifnonnull_w)
        return (uint8_t)(OP_ifeq + (op - OP_ifeq_w));
    if (op >= OP_if_acmpeq_w && op <= OP_if_scmple_w)
        return (uint8_t)(OP_if_acmpeq + (op - OP_if_acmpeq_w));
    if (op == OP_goto_w)
        return OP_goto;
    return op;
}

static void decode(const uint8_t *code, uint32_t pc, xins *d)
{
    uint8_t op = code[pc];
    const vm_opinfo *oi = &vm_opinfo_table[op];
    memset(d, 0, sizeof *d);
    d->pc = (uint16_t)pc;
    d->op = op;
    d->kind = K_OTHER;
    if (op >= OP_sload_0 && op <= OP_sload_3) { d->kind = K_LOAD; d->v = op - OP_sload_0; }
    else if (op >= OP_aload_0 && op <= OP_aload_3) { d->kind = K_LOAD; d->v = op - OP_aload_0; }
    else if (op == OP_sload || op == OP_aload) { d->kind = K_LOAD; d->v = code[pc + 1]; }
    else if (op >= OP_sstore_0 && op <= OP_sstore_3) { d->kind = K_STORE; d->v = op - OP_sstore_0; }
    else if (op >= OP_astore_0 && op <= OP_astore_3) { d->kind = K_STORE; d->v = op - OP_astore_0; }
    else if (op == OP_sstore || op == OP_astore) { d->kind = K_STORE; d->v = code[pc + 1]; }
    else if (op == OP_aconst_null) { d->kind = K_CONST; d->v = 0; }
    else if (op >= OP_sconst_m1 && op <= OP_sconst_5) { d->kind = K_CONST; d->v = (int)op - OP_sconst_0; }
    else if (op == OP_bspush) { d->kind = K_CONST; d->v = (int8_t)code[pc + 1]; }
    else if (op == OP_sspush) { d->kind = K_CONST; d->v = (int16_t)vm_rd16(code + pc + 1); }
    else if (op == OP_sinc) { d->kind = K_INC; d->v = code[pc + 1]; d->w = (int8_t)code[pc + 2]; }
    else if (op == OP_sinc_w) { d->kind = K_INC; d->v = code[pc + 1]; d->w = (int16_t)vm_rd16(code + pc + 2); }
    else if (op == OP_sadd || op == OP_ssub || op == OP_sand || op == OP_sor || op == OP_smul || op == OP_srem)
        d->kind = K_BINOP;
    else if (oi->fmt == OPF_BR1 || oi->fmt == OPF_BR2) {
        int32_t off = oi->fmt == OPF_BR1 ? (int8_t)code[pc + 1] : (int16_t)vm_rd16(code + pc + 1);
        d->v = (int32_t)pc + off;
        uint8_t sop = short_branch(op);
        d->cond = (uint8_t)cond_of(op);
        d->kind = sop == OP_goto ? K_GOTO : (sop >= OP_if_acmpeq && sop <= OP_if_scmple) ? K_CMPBR : K_IFZ;
    }
}

static int is_transfer(uint8_t op)
{
    const vm_opinfo *oi = &vm_opinfo_table[op];
    return oi->fmt == OPF_BR1 || oi->fmt == OPF_BR2 || op == OP_stableswitch || op == OP_slookupswitch ||
           op == OP_return || op == OP_sreturn || op == OP_areturn || op == OP_athrow;
}

/* Reciprocal for x % k with |x| <= 32768, 2 <= |k| <= 32768:
 * floor(x * ceil(2^32 / |k|) / 2^32) == floor(x / |k|) for 0 <= x < 2^16. */
static uint32_t rem_recip(int32_t k)
{
    uint32_t ak = (uint32_t)(k < 0 ? -k : k);
    return (uint32_t)((0xFFFFFFFFull + ak) / ak);
}

/* x % k for the op's divisor operand kf = |k| (as uint16: 32768 fits); the
 * sign of k does not matter to the remainder. */
static inline int32_t rem_by(int32_t x, int16_t kf, uint32_t m)
{
    uint32_t ak = (uint16_t)kf;
    if (VM_LIKELY(x >= 0))
        return (int32_t)((uint32_t)x - (uint32_t)(((uint64_t)(uint32_t)x * m) >> 32) * ak);
    uint32_t ax = (uint32_t)-x;
    uint32_t q = (uint32_t)(((uint64_t)ax * m) >> 32);
    return -(int32_t)(ax - q * ak);
}

/* The divisor operand for rem_by. */
static int16_t rem_k(int32_t k)
{
    return (int16_t)(uint16_t)(k < 0 ? -k : k);
}

static int avail_run(const xins *in, unsigned i, unsigned j)
{
    for (unsigned k = 1; k < j; k++)
        if (in[i + k].leader)
            return 0;
    return 1;
}

/* Translate method `mi` of P. Handler addresses come from `disp`, indexed by
 * op id. Returns 0, or -1 when out of host memory. */
static int xlate(vm_lpkg *P, unsigned mi, const void *const *disp)
{
    if (!P->x) {
        P->x = calloc(P->pkg.method_count ? P->pkg.method_count : 1, sizeof *P->x);
        if (!P->x)
            return -1;
    }
    vm_xmeth *xm = &P->x[mi];
    const vm_method *m = &P->pkg.methods[mi];
    const uint8_t *code = m->code;
    uint32_t len = m->code_len;
    xins *in = calloc(len + 1, sizeof *in);
    uint16_t *idx = calloc(len + 1, sizeof *idx);   /* pc -> instruction number */
    uint16_t *map = calloc(len + 1, sizeof *map);
    vm_xop *ops = calloc(len + 1, sizeof *ops);
    int32_t *tgt = calloc(len + 1, sizeof *tgt);   /* per op: branch target pc, or -1 */
    uint8_t *lead = calloc(len + 1, 1);
    if (!in || !idx || !map || !ops || !lead || !tgt) {
        free(in); free(idx); free(map); free(ops); free(lead); free(tgt);
        return -1;
    }
    unsigned n = 0;
    for (uint32_t pc = 0; pc < len;) {
        uint32_t l = vm_insn_length(code, len, pc);
        if (l == 0)
            break;   /* not for verified code */
        decode(code, pc, &in[n]);
        in[n].next = (uint16_t)(pc + l);
        idx[pc] = (uint16_t)n;
        if (in[n].kind == K_CMPBR || in[n].kind == K_IFZ || in[n].kind == K_GOTO)
            lead[in[n].v] = 1;
        if (is_transfer(in[n].op))
            lead[pc + l] = 1;
        n++;
        pc += l;
    }
    /* Switch targets and exception ranges are leaders too. */
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *p = code + in[i].pc;
        if (in[i].op == OP_stableswitch) {
            int16_t lo = (int16_t)vm_rd16(p + 3), hi = (int16_t)vm_rd16(p + 5);
            lead[in[i].pc + (int16_t)vm_rd16(p + 1)] = 1;
            for (int32_t k = 0; k <= (int32_t)hi - lo; k++)
                lead[in[i].pc + (int16_t)vm_rd16(p + 7 + 2 * k)] = 1;
        } else if (in[i].op == OP_slookupswitch) {
            unsigned np = vm_rd16(p + 3);
            lead[in[i].pc + (int16_t)vm_rd16(p + 1)] = 1;
            for (unsigned k = 0; k < np; k++)
                lead[in[i].pc + (int16_t)vm_rd16(p + 7 + 4 * k)] = 1;
        }
    }
    for (unsigned i = 0; i < m->handler_count; i++) {
        vm_handler h = vm_method_handler(m, i);
        lead[h.start] = lead[h.end <= len ? h.end : len] = lead[h.handler] = 1;
    }
    for (unsigned i = 0; i < n; i++)
        in[i].leader = lead[in[i].pc];
    /* Chains, backwards. */
    for (unsigned i = n; i-- > 0;)
        in[i].chain = (uint16_t)(1 + ((is_transfer(in[i].op) || i + 1 >= n) ? 0 : in[i + 1].chain));

    /* Emit. `avail(j)`: instructions i..i+j-1 exist and none but the first
     * is a leader. */
    unsigned no = 0;
#define AV(j) (i + (j) <= n && avail_run(in, i, (j)))
#define K(j) in[i + (j)].kind
#define O(j) in[i + (j)].op
#define V(j) in[i + (j)].v
    for (unsigned i = 0; i < n;) {
        vm_xop *o = &ops[no];
        unsigned used = 1;
        unsigned id = in[i].op;
        o->pc = in[i].pc;
        o->chain = in[i].chain;
        o->u.t = NULL;
        int32_t tpc = -1;   /* branch target pc to resolve */
        const vm_cpr *cpr = P->cpr;
        /* Longest patterns first. */
        if (AV(6) && K(0) == K_LOAD && K(1) == K_LOAD && O(2) == OP_sadd && K(3) == K_CONST &&
            (V(3) >= 2 || V(3) <= -2) && O(4) == OP_srem && K(5) == K_STORE) {
            id = X_LADD_REMK_ST; o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->e = rem_k(V(3));
            o->u.m = rem_recip(V(3)); o->c = (int16_t)V(5);
            used = 6;
        } else if (AV(6) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_LOAD && O(3) == OP_baload && K(4) == K_CONST &&
            V(4) == 0xFF && O(5) == OP_sand) {
            id = X_LOAD_UBALOAD_LL; o->c = (int16_t)V(0); o->a = (int16_t)V(1); o->b = (int16_t)V(2);
            used = 6;
        } else if (AV(6) && K(0) == K_INC && in[i].w >= -128 && in[i].w <= 127 && K(1) == K_LOAD && V(1) == V(0) &&
                   K(2) == K_CONST && K(3) == K_LOAD && O(4) == OP_ssub && K(5) == K_CMPBR && O(5) != OP_if_acmpeq &&
                   O(5) != OP_if_acmpne && O(5) != OP_if_acmpeq_w && O(5) != OP_if_acmpne_w) {
            id = X_INC_IFCMP_LKSUBL + in[i + 5].cond; o->a = (int16_t)V(0);
            o->b = (int16_t)(uint16_t)((V(3) << 8) | (uint8_t)in[i].w); o->c = (int16_t)V(2);
            tpc = V(5);
            used = 6;
        } else if (AV(6) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_CONST && O(3) == OP_sadd && O(4) == OP_saload &&
            K(5) == K_STORE) {
            id = X_SALOAD_LLK_ST; o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->u.k = V(2); o->c = (int16_t)V(5);
            used = 6;
        } else if (AV(6) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_CONST && O(3) == OP_sadd &&
                   K(4) == K_LOAD && O(5) == OP_sastore) {
            id = X_SASTORE_LLKL; o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->u.k = V(2); o->c = (int16_t)V(4);
            used = 6;
        } else if (AV(4) && K(0) == K_INC && K(1) == K_LOAD && V(1) == V(0) && K(2) == K_CONST && K(3) == K_CMPBR &&
                   O(3) != OP_if_acmpeq && O(3) != OP_if_acmpne && O(3) != OP_if_acmpeq_w && O(3) != OP_if_acmpne_w) {
            id = X_INC_IFCMP_LK + in[i + 3].cond; o->a = (int16_t)V(0); o->b = (int16_t)in[i].w; o->c = (int16_t)V(2);
            tpc = V(3);
            used = 4;
        } else if (AV(5) && K(0) == K_LOAD && K(1) == K_LOAD && O(2) == OP_baload && K(3) == K_CONST && V(3) == 0xFF &&
                   O(4) == OP_sand) {
            id = X_UBALOAD_LL; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 5;
        } else if (AV(4) && O(0) == OP_sadd && K(1) == K_CONST && (V(1) >= 2 || V(1) <= -2) && O(2) == OP_srem &&
                   K(3) == K_STORE) {
            id = X_ADD_REMK_ST; o->a = rem_k(V(1)); o->u.m = rem_recip(V(1)); o->c = (int16_t)V(3);
            used = 4;
        } else if (AV(4) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_LOAD && O(3) == OP_baload) {
            id = X_LOAD_BALOAD_LL; o->c = (int16_t)V(0); o->a = (int16_t)V(1); o->b = (int16_t)V(2);
            used = 4;
        } else if (AV(4) && K(0) == K_LOAD && K(1) == K_LOAD && O(2) == OP_saload && K(3) == K_STORE) {
            id = X_SALOAD_LL_ST; o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->c = (int16_t)V(3);
            used = 4;
        } else if (AV(4) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_LOAD && (O(3) == OP_sastore || O(3) == OP_bastore)) {
            id = O(3) == OP_sastore ? X_SASTORE_LLL : X_BASTORE_LLL;
            o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->c = (int16_t)V(2);
            used = 4;
        } else if (AV(4) && K(0) == K_LOAD && K(1) == K_CONST && O(2) == OP_sadd && K(3) == K_STORE) {
            id = X_LADDK_ST; o->a = (int16_t)V(0); o->b = (int16_t)V(1); o->c = (int16_t)V(3);
            used = 4;
        } else if (AV(3) && K(0) == K_CONST && O(1) == OP_srem && K(2) == K_STORE && (V(0) >= 2 || V(0) <= -2)) {
            id = X_REMK_ST; o->a = rem_k(V(0)); o->u.m = rem_recip(V(0)); o->c = (int16_t)V(2);
            used = 3;
        } else if (AV(3) && K(0) == K_CONST && O(1) == OP_sadd && K(2) == K_STORE) {
            id = X_ADDK_ST; o->a = (int16_t)V(0); o->c = (int16_t)V(2);
            used = 3;
        } else if (AV(3) && K(0) == K_LOAD && K(1) == K_LOAD && K(2) == K_CMPBR) {
            id = X_IFCMP_LL + in[i + 2].cond; o->a = (int16_t)V(0); o->b = (int16_t)V(1); tpc = V(2);
            used = 3;
        } else if (AV(3) && K(0) == K_LOAD && K(1) == K_CONST && K(2) == K_CMPBR) {
            id = X_IFCMP_LK + in[i + 2].cond; o->a = (int16_t)V(0); o->b = (int16_t)V(1); tpc = V(2);
            used = 3;
        } else if (AV(3) && K(0) == K_LOAD && K(1) == K_LOAD && (O(2) == OP_baload || O(2) == OP_saload)) {
            id = O(2) == OP_baload ? X_BALOAD_LL : X_SALOAD_LL; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 3;
        } else if (AV(3) && K(0) == K_LOAD && K(1) == K_LOAD && (O(2) == OP_sadd || O(2) == OP_ssub)) {
            id = O(2) == OP_sadd ? X_ADD_LL : X_SUB_LL; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 3;
        } else if (AV(3) && K(0) == K_CONST && K(1) == K_LOAD && O(2) == OP_ssub) {
            id = X_RSUB_KL; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 3;
        } else if (AV(2) && K(0) == K_INC && K(1) == K_GOTO) {
            id = X_INC_GOTO; o->a = (int16_t)V(0); o->b = (int16_t)in[i].w; tpc = V(1);
            used = 2;
        } else if (AV(2) && K(0) == K_INC && K(1) == K_LOAD && V(1) == V(0)) {
            id = X_INC_LOAD; o->a = (int16_t)V(0); o->b = (int16_t)in[i].w;
            used = 2;
        } else if (AV(2) && K(0) == K_LOAD && K(1) == K_IFZ) {
            id = X_IF_L + in[i + 1].cond; o->a = (int16_t)V(0); tpc = V(1);
            used = 2;
        } else if (AV(2) && K(0) == K_CONST && K(1) == K_BINOP &&
                   (O(1) != OP_srem || V(0) >= 2 || V(0) <= -2)) {
            o->a = (int16_t)V(0);
            switch (O(1)) {
            case OP_sadd: id = X_ADDK; break;
            case OP_ssub: id = X_ADDK; o->a = (int16_t)(uint16_t)(0u - (uint32_t)V(0)); break;
            case OP_sand: id = X_ANDK; break;
            case OP_sor: id = X_ORK; break;
            case OP_smul: id = X_MULK; break;
            default: id = X_REMK; o->a = rem_k(V(0)); o->u.m = rem_recip(V(0)); break;
            }
            used = 2;
        } else if (AV(2) && K(0) == K_LOAD && K(1) == K_STORE) {
            id = X_MOV; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 2;
        } else if (AV(2) && K(0) == K_CONST && K(1) == K_STORE) {
            id = X_SETK; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 2;
        } else if (AV(2) && K(0) == K_LOAD && K(1) == K_LOAD) {
            id = X_LOAD2; o->a = (int16_t)V(0); o->b = (int16_t)V(1);
            used = 2;
        } else {
            /* One instruction, operands decoded. */
            const uint8_t *p = code + in[i].pc;
            switch (in[i].kind) {
            case K_LOAD: id = OP_sload; o->a = (int16_t)V(0); break;
            case K_STORE: id = OP_sstore; o->a = (int16_t)V(0); break;
            case K_CONST: id = OP_sspush; o->a = (int16_t)V(0); break;
            case K_INC: id = OP_sinc; o->a = (int16_t)V(0); o->b = (int16_t)in[i].w; break;
            case K_CMPBR: case K_IFZ: case K_GOTO: id = short_branch(in[i].op); tpc = V(0); break;
            default:
                switch (in[i].op) {
                case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
                case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s:
                    o->a = (int16_t)cpr[vm_rd16(p + 1)].a;
                    break;
                case OP_getfield_a: case OP_getfield_b: case OP_getfield_s:
                case OP_getfield_a_this: case OP_getfield_b_this: case OP_getfield_s_this:
                case OP_putfield_a: case OP_putfield_b: case OP_putfield_s:
                case OP_putfield_a_this: case OP_putfield_b_this: case OP_putfield_s_this:
                    o->a = (int16_t)cpr[p[1]].b;
                    break;
                case OP_getfield_a_w: case OP_getfield_b_w: case OP_getfield_s_w:
                case OP_putfield_a_w: case OP_putfield_b_w: case OP_putfield_s_w:
                    o->a = (int16_t)cpr[vm_rd16(p + 1)].b;
                    break;
                case OP_invokestatic: case OP_invokespecial: case OP_invokevirtual: case OP_new: case OP_anewarray:
                    o->a = (int16_t)vm_rd16(p + 1);
                    break;
                default:
                    break;
                }
                /* Fold the _w field forms onto the short ones (operand decoded). */
                if (id >= OP_getfield_a_w && id <= OP_getfield_s_w)
                    id = OP_getfield_a + (id - OP_getfield_a_w);
                else if (id >= OP_putfield_a_w && id <= OP_putfield_s_w)
                    id = OP_putfield_a + (id - OP_putfield_a_w);
                break;
            }
        }
        o->h = (const void *)(uintptr_t)id;
        tgt[no] = tpc;
        map[in[i].pc] = (uint16_t)no;
        i += used;
        no++;
    }
#undef AV
#undef K
#undef O
#undef V
    /* Resolve branch targets and handler addresses. */
    for (unsigned k = 0; k < no; k++) {
        vm_xop *o = &ops[k];
        if (tgt[k] >= 0)
            o->u.t = &ops[map[tgt[k]]];
        o->h = disp[(uintptr_t)o->h];
    }
    free(tgt);
    free(in);
    free(idx);
    free(lead);
    xm->map = map;
    xm->ops = ops;
    return 0;
}

void vm_xfree(vm_lpkg *lp)
{
    if (!lp->x)
        return;
    for (unsigned i = 0; i < lp->pkg.method_count; i++) {
        free(lp->x[i].ops);
        free(lp->x[i].map);
    }
    free(lp->x);
    lp->x = NULL;
}

int vm_run(vm_runtime *rt, const vm_lpkg *P, uint16_t method, const uint16_t *args, unsigned nargs,
           uint16_t *ret)
{
#if VM_COMPUTED_GOTO
    /* Unknown ids first, then each known one overrides its slot. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
    static const void *const disp[X_COUNT] = {
        [0 ... X_COUNT - 1] = &&L_illegal,
#define VM_LABEL(name, code, fmt, pop, push) [code] = &&L_##name,
        VM_OPCODES(VM_LABEL)
#undef VM_LABEL
        [X_LOAD2] = &&L_X_LOAD2, [X_BALOAD_LL] = &&L_X_BALOAD_LL, [X_SALOAD_LL] = &&L_X_SALOAD_LL,
        [X_LOAD_BALOAD_LL] = &&L_X_LOAD_BALOAD_LL, [X_SALOAD_LL_ST] = &&L_X_SALOAD_LL_ST,
        [X_SALOAD_LLK_ST] = &&L_X_SALOAD_LLK_ST, [X_SASTORE_LLL] = &&L_X_SASTORE_LLL,
        [X_SASTORE_LLKL] = &&L_X_SASTORE_LLKL, [X_BASTORE_LLL] = &&L_X_BASTORE_LLL,
        [X_ADD_LL] = &&L_X_ADD_LL, [X_SUB_LL] = &&L_X_SUB_LL, [X_ADDK] = &&L_X_ADDK, [X_ANDK] = &&L_X_ANDK,
        [X_ORK] = &&L_X_ORK, [X_MULK] = &&L_X_MULK, [X_REMK] = &&L_X_REMK, [X_REMK_ST] = &&L_X_REMK_ST,
        [X_ADDK_ST] = &&L_X_ADDK_ST, [X_LADDK_ST] = &&L_X_LADDK_ST, [X_MOV] = &&L_X_MOV, [X_SETK] = &&L_X_SETK,
        [X_RSUB_KL] = &&L_X_RSUB_KL, [X_INC_LOAD] = &&L_X_INC_LOAD, [X_INC_GOTO] = &&L_X_INC_GOTO,
        [X_UBALOAD_LL] = &&L_X_UBALOAD_LL, [X_LOAD_UBALOAD_LL] = &&L_X_LOAD_UBALOAD_LL,
        [X_ADD_REMK_ST] = &&L_X_ADD_REMK_ST,
        [X_LADD_REMK_ST] = &&L_X_LADD_REMK_ST,
#define VM_COND_LABELS(G) [G + C_EQ] = &&L_##G##_EQ, [G + C_NE] = &&L_##G##_NE, [G + C_LT] = &&L_##G##_LT, \
        [G + C_GE] = &&L_##G##_GE, [G + C_GT] = &&L_##G##_GT, [G + C_LE] = &&L_##G##_LE,
        VM_COND_LABELS(X_IFCMP_LL)
        VM_COND_LABELS(X_IFCMP_LK)
        VM_COND_LABELS(X_INC_IFCMP_LK)
        VM_COND_LABELS(X_IF_L)
        VM_COND_LABELS(X_INC_IFCMP_LKSUBL)
#undef VM_COND_LABELS
    };
#pragma GCC diagnostic pop
#define vmdispatch()  goto *ip->h;
#define vmcase(name)  L_##name:
#define vmxcase(name) L_##name:
#define vmccase(G, C, name) L_##name:
#define vmdefault     L_illegal:
#define vmbreak       goto *ip->h
#else
    static const void *disp[X_COUNT];
    if (!disp[1])
        for (unsigned i = 0; i < X_COUNT; i++)
            disp[i] = (const void *)(uintptr_t)i;
#define vmdispatch()  switch ((unsigned)(uintptr_t)ip->h)
#define vmcase(name)  case OP_##name:
#define vmxcase(name) case name:
#define vmccase(G, C, name) case G + C:
#define vmdefault     default:
#define vmbreak       break
#endif

    vm_lpkg *const PX = (vm_lpkg *)(uintptr_t)P;   /* for its translation cache */
    const vm_method *const methods = P->pkg.methods;
    const vm_class *const classes = P->pkg.classes;
    const vm_cpr *const cpr = P->cpr;
    const uint8_t *const statics = rt->nvm + P->statics_off;
    const uint8_t ctx = rt->ctx;
    vm_frame *const f0 = rt->frames;
    vm_frame *const f_end = rt->frames + rt->cfg.max_frames;
    uint16_t *const stack_end = rt->stack + rt->cfg.stack_slots;
    vm_obj *objs = rt->objs;
    uint32_t ncap = rt->obj_cap;
    int64_t budget = rt->budget;
    const int64_t budget0 = budget;
    vm_frame *f = f0;
    const vm_method *callee = &methods[method];
    unsigned callee_i = method;
    const vm_xop *ip;
    uint16_t *sp, *lv;
    uint16_t exc = 0;
    int rc, result = VM_RUN_DONE;

    /* One-entry caches of the last byte/boolean array and short array the
     * fused ops reached (validated: live, reachable from ctx, right kind).
     * Arrays never change kind or length; a handle is freed or the table
     * moved only inside natives and allocations, which RELOAD. */
    uint32_t bh = 0x10000u, shh = 0x10000u;
    vm_obj *bo = NULL, *so = NULL;
#define RELOAD() (objs = rt->objs, ncap = rt->obj_cap, bh = shh = 0x10000u)
    /* Raise a system exception (reason 0) from the loop. */
#define THROW(cls) { rc = vm_set_reason(rt, (cls), 0); goto throw_rc; }
    /* o = the object behind handle h, or throw. */
#define DEREF(o, h)                                                              \
    {                                                                            \
        uint16_t h_ = (h);                                                       \
        if (h_ == 0)                                                             \
            THROW(VM_SC_NullPointerException);                                   \
        if (h_ >= ncap)                                                          \
            THROW(VM_SC_SecurityException);                                      \
        o = &objs[h_];                                                           \
        if (o->kind == VM_OBJ_FREE || (o->pkg != ctx && !(o->flags & VM_OF_GLOBAL))) \
            THROW(VM_SC_SecurityException);                                      \
    }
#define CHECK(rcexpr) { rc = (rcexpr); if (rc) goto throw_rc; }
#define NEXT { ip++; vmbreak; }
    /* A jump charges the budget with the bytecodes of the straight run it
     * enters; a taken branch first checks that budget is left. */
#define JUMP(target) { ip = (target); if (budget <= 0) goto out_of_budget; budget -= ip->chain; vmbreak; }
#define BR(cond) { if (cond) JUMP(ip->u.t) ip++; budget -= ip->chain; vmbreak; }
    /* Byte/short array element access for the fused ops. */
#define ARRAY(o, h, okkind)                                                      \
    {                                                                            \
        DEREF(o, h);                                                             \
        if (!(okkind))                                                           \
            THROW(VM_SC_SecurityException);                                      \
    }
#define BARRAY(o, h)                                                             \
    {                                                                            \
        uint16_t hb_ = (h);                                                      \
        if (hb_ == bh) {                                                         \
            o = bo;                                                              \
        } else {                                                                 \
            ARRAY(o, hb_, o->kind == VM_OBJ_BYTES || o->kind == VM_OBJ_BOOLS);   \
            bh = hb_;                                                            \
            bo = o;                                                              \
        }                                                                        \
    }
#define SARRAY(o, h)                                                             \
    {                                                                            \
        uint16_t hs_ = (h);                                                      \
        if (hs_ == shh) {                                                        \
            o = so;                                                              \
        } else {                                                                 \
            ARRAY(o, hs_, o->kind == VM_OBJ_SHORTS);                             \
            shh = hs_;                                                           \
            so = o;                                                              \
        }                                                                        \
    }

    /* Entry frame: the arguments become the first locals. */
    if (callee->nargs + callee->max_locals + callee->max_stack > rt->cfg.stack_slots || nargs != callee->nargs) {
        rc = vm_set_reason(rt, VM_SC_StackOverflowError, 0);
        exc = (uint16_t)(VM_H_EXC_FIRST + (rc - VM_SC_FIRST_THROWABLE));
        rt->uncaught = exc;
        return VM_RUN_THROWN;
    }
    if ((!PX->x || !PX->x[method].ops) && xlate(PX, method, disp) != 0)
        return VM_ERR_NOMEM;
    lv = rt->stack;
    for (unsigned i = 0; i < nargs; i++)
        lv[i] = args[i];
    for (unsigned i = nargs; i < (unsigned)callee->nargs + callee->max_locals; i++)
        lv[i] = 0;
    f->m = callee;
    f->code = callee->code;
    f->x = &PX->x[method];
    f->lv = lv;
    f->base = lv + callee->nargs + callee->max_locals;
    f->pkg = P;
    sp = f->base;
    ip = f->x->ops;
    budget -= ip->chain;

loop:
    for (;;) {
        vmdispatch() {
        vmcase(nop) NEXT

        /* ---- constants and locals (every form decoded into a) ---- */
        vmcase(sspush) { *sp++ = (uint16_t)ip->a; NEXT }
        vmcase(sload) { *sp++ = lv[ip->a]; NEXT }
        vmcase(sstore) { lv[ip->a] = *--sp; NEXT }
        vmcase(sinc) { lv[ip->a] = (uint16_t)(lv[ip->a] + ip->b); NEXT }

        /* ---- arrays ---- */
        vmcase(baload) {
            vm_obj *o;
            DEREF(o, sp[-2]);
            uint16_t i = sp[-1];
            if (o->kind != VM_OBJ_BYTES && o->kind != VM_OBJ_BOOLS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            sp[-2] = (uint16_t)(int16_t)(int8_t)o->data[i];
            sp--;
            NEXT
        }
        vmcase(saload) {
            vm_obj *o;
            DEREF(o, sp[-2]);
            uint16_t i = sp[-1];
            if (o->kind != VM_OBJ_SHORTS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            sp[-2] = vm_rd16(o->data + 2u * i);
            sp--;
            NEXT
        }
        vmcase(aaload) {
            vm_obj *o;
            DEREF(o, sp[-2]);
            uint16_t i = sp[-1];
            if (o->kind != VM_OBJ_REFS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            sp[-2] = vm_rd16(o->data + 2u * i);
            sp--;
            NEXT
        }
        vmcase(bastore) {
            vm_obj *o;
            DEREF(o, sp[-3]);
            uint16_t i = sp[-2];
            uint8_t b = (uint8_t)sp[-1];
            if (o->kind != VM_OBJ_BYTES && o->kind != VM_OBJ_BOOLS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            if (o->flags & VM_OF_PERSISTENT)
                CHECK(vm_obj_store(rt, o, i, &b, 1, 1))
            else
                o->data[i] = b;
            sp -= 3;
            NEXT
        }
        vmcase(sastore) {
            vm_obj *o;
            DEREF(o, sp[-3]);
            uint16_t i = sp[-2];
            if (o->kind != VM_OBJ_SHORTS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            if (o->flags & VM_OF_PERSISTENT) {
                uint8_t w[2];
                vm_wr16(w, sp[-1]);
                CHECK(vm_obj_store(rt, o, 2u * i, w, 2, 1))
            } else {
                vm_wr16(o->data + 2u * i, sp[-1]);
            }
            sp -= 3;
            NEXT
        }
        vmcase(aastore) {
            vm_obj *o, *v;
            DEREF(o, sp[-3]);
            uint16_t i = sp[-2];
            if (o->kind != VM_OBJ_REFS)
                THROW(VM_SC_SecurityException);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            if (sp[-1] != 0) {
                DEREF(v, sp[-1]);
                if (!cast_ok(rt, P, v, VM_T_CLASS, o->cls))
                    THROW(VM_SC_ArrayStoreException);
            }
            uint8_t w[2];
            vm_wr16(w, sp[-1]);
            CHECK(vm_obj_store(rt, o, 2u * i, w, 2, 1))
            sp -= 3;
            NEXT
        }
        vmcase(arraylength) {
            vm_obj *o;
            DEREF(o, sp[-1]);
            if (o->kind < VM_OBJ_BYTES || o->kind > VM_OBJ_REFS)
                THROW(VM_SC_SecurityException);
            sp[-1] = o->length;
            NEXT
        }
        vmcase(newarray) {
            const uint8_t *pc = f->code + ip->pc;
            int16_t n = (int16_t)sp[-1];
            uint8_t kind = pc[1] == VM_T_SHORT ? VM_OBJ_SHORTS : pc[1] == VM_T_BYTE ? VM_OBJ_BYTES : VM_OBJ_BOOLS;
            uint16_t h;
            if (n < 0)
                THROW(VM_SC_NegativeArraySizeException);
            CHECK(vm_alloc(rt, kind, VM_OF_PERSISTENT, 0, (uint16_t)n,
                           (uint32_t)n * (kind == VM_OBJ_SHORTS ? 2u : 1u), 0, &h))
            RELOAD();
            sp[-1] = h;
            NEXT
        }
        vmcase(anewarray) {
            int16_t n = (int16_t)sp[-1];
            uint16_t h;
            if (n < 0)
                THROW(VM_SC_NegativeArraySizeException);
            CHECK(vm_alloc(rt, VM_OBJ_REFS, VM_OF_PERSISTENT, cpr[(uint16_t)ip->a].a, (uint16_t)n, 2u * (uint32_t)n,
                           0, &h))
            RELOAD();
            sp[-1] = h;
            NEXT
        }

        /* ---- stack ---- */
        vmcase(pop) { sp--; NEXT }
        vmcase(pop2) { sp -= 2; NEXT }
        vmcase(dup) { sp[0] = sp[-1]; sp++; NEXT }
        vmcase(dup2) { sp[0] = sp[-2]; sp[1] = sp[-1]; sp += 2; NEXT }
        vmcase(dup_x) {
            /* Duplicate the top m words and insert the copy n words down
             * (n == 0: on top). */
            const uint8_t *pc = f->code + ip->pc;
            unsigned m = pc[1] >> 4, n = pc[1] & 15;
            uint16_t tmp[4];
            memcpy(tmp, sp - m, m * sizeof *sp);
            if (n == 0) {
                memcpy(sp, tmp, m * sizeof *sp);
            } else {
                memmove(sp - n + m, sp - n, n * sizeof *sp);
                memcpy(sp - n, tmp, m * sizeof *sp);
            }
            sp += m;
            NEXT
        }
        vmcase(swap_x) {
            /* Swap the top m words with the n words below them. */
            const uint8_t *pc = f->code + ip->pc;
            unsigned m = pc[1] >> 4, n = pc[1] & 15;
            uint16_t tmp[2];
            memcpy(tmp, sp - m, m * sizeof *sp);
            memmove(sp - n, sp - m - n, n * sizeof *sp);
            memcpy(sp - m - n, tmp, m * sizeof *sp);
            NEXT
        }

        /* ---- arithmetic (16-bit, wrapping) ---- */
        vmcase(sadd) { sp[-2] = (uint16_t)(sp[-2] + sp[-1]); sp--; NEXT }
        vmcase(ssub) { sp[-2] = (uint16_t)(sp[-2] - sp[-1]); sp--; NEXT }
        vmcase(smul) { sp[-2] = (uint16_t)((uint32_t)sp[-2] * sp[-1]); sp--; NEXT }
        vmcase(sdiv) {
            int32_t a = (int16_t)sp[-2], b = (int16_t)sp[-1];
            if (b == 0)
                THROW(VM_SC_ArithmeticException);
            sp[-2] = (uint16_t)(a / b);   /* -32768 / -1 = 32768 wraps to -32768 */
            sp--;
            NEXT
        }
        vmcase(srem) {
            int32_t a = (int16_t)sp[-2], b = (int16_t)sp[-1];
            if (b == 0)
                THROW(VM_SC_ArithmeticException);
            sp[-2] = (uint16_t)(a % b);
            sp--;
            NEXT
        }
        vmcase(sneg) { sp[-1] = (uint16_t)(0u - sp[-1]); NEXT }
        /* Shifts use the low 5 bits of the count, on the value widened to
         * 32 bits, then truncate: so sshl by 16..31 gives 0 and sushr of a
         * negative short keeps its high bits (Java Card semantics). */
        vmcase(sshl) {
            sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] << (sp[-1] & 31));
            sp--;
            NEXT
        }
        vmcase(sshr) {
            sp[-2] = (uint16_t)((int32_t)(int16_t)sp[-2] >> (sp[-1] & 31));
            sp--;
            NEXT
        }
        vmcase(sushr) {
            sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] >> (sp[-1] & 31));
            sp--;
            NEXT
        }
        vmcase(sand) { sp[-2] &= sp[-1]; sp--; NEXT }
        vmcase(sor) { sp[-2] |= sp[-1]; sp--; NEXT }
        vmcase(sxor) { sp[-2] ^= sp[-1]; sp--; NEXT }
        vmcase(s2b) { sp[-1] = (uint16_t)(int16_t)(int8_t)(uint8_t)sp[-1]; NEXT }

        /* ---- branches (targets resolved; _w forms share these) ---- */
        vmcase(ifeq) { sp--; BR((int16_t)*sp == 0) }
        vmcase(ifne) { sp--; BR((int16_t)*sp != 0) }
        vmcase(iflt) { sp--; BR((int16_t)*sp < 0) }
        vmcase(ifge) { sp--; BR((int16_t)*sp >= 0) }
        vmcase(ifgt) { sp--; BR((int16_t)*sp > 0) }
        vmcase(ifle) { sp--; BR((int16_t)*sp <= 0) }
        vmcase(ifnull) { sp--; BR(*sp == 0) }
        vmcase(ifnonnull) { sp--; BR(*sp != 0) }
        vmcase(if_acmpeq) { sp -= 2; BR(sp[0] == sp[1]) }
        vmcase(if_acmpne) { sp -= 2; BR(sp[0] != sp[1]) }
        vmcase(if_scmpeq) { sp -= 2; BR(sp[0] == sp[1]) }
        vmcase(if_scmpne) { sp -= 2; BR(sp[0] != sp[1]) }
        vmcase(if_scmplt) { sp -= 2; BR((int16_t)sp[0] < (int16_t)sp[1]) }
        vmcase(if_scmpge) { sp -= 2; BR((int16_t)sp[0] >= (int16_t)sp[1]) }
        vmcase(if_scmpgt) { sp -= 2; BR((int16_t)sp[0] > (int16_t)sp[1]) }
        vmcase(if_scmple) { sp -= 2; BR((int16_t)sp[0] <= (int16_t)sp[1]) }
        vmcase(goto) JUMP(ip->u.t)
        vmcase(stableswitch) {
            const uint8_t *pc = f->code + ip->pc;
            int16_t key = (int16_t)*--sp;
            int16_t lo = (int16_t)vm_rd16(pc + 3), hi = (int16_t)vm_rd16(pc + 5);
            const uint8_t *off = (key < lo || key > hi) ? pc + 1 : pc + 7 + 2 * (key - lo);
            JUMP(&f->x->ops[f->x->map[(pc - f->code) + (int16_t)vm_rd16(off)]])
        }
        vmcase(slookupswitch) {
            const uint8_t *pc = f->code + ip->pc;
            int16_t key = (int16_t)*--sp;
            unsigned lo = 0, hi = vm_rd16(pc + 3);
            const uint8_t *pairs = pc + 5, *off = pc + 1;
            while (lo < hi) {   /* keys are ascending (verified): binary search */
                unsigned mid = (lo + hi) / 2;
                int16_t k = (int16_t)vm_rd16(pairs + 4 * mid);
                if (k == key) {
                    off = pairs + 4 * mid + 2;
                    break;
                }
                if (k < key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            JUMP(&f->x->ops[f->x->map[(pc - f->code) + (int16_t)vm_rd16(off)]])
        }

        /* ---- fields (static index / field slot decoded into a) ---- */
        vmcase(getstatic_a)
        vmcase(getstatic_b)
        vmcase(getstatic_s) { *sp++ = vm_rd16(statics + 2u * (uint16_t)ip->a); NEXT }
        vmcase(putstatic_a)
        vmcase(putstatic_s) {
            uint8_t w[2];
            vm_wr16(w, *--sp);
            CHECK(vm_nvm_store(rt, P->statics_off + 2u * (uint16_t)ip->a, w, 2, 1))
            NEXT
        }
        vmcase(putstatic_b) {
            uint8_t w[2];
            vm_wr16(w, (uint16_t)(int16_t)(int8_t)(uint8_t)*--sp);
            CHECK(vm_nvm_store(rt, P->statics_off + 2u * (uint16_t)ip->a, w, 2, 1))
            NEXT
        }
#define GETFIELD(objh)                                                           \
    {                                                                            \
        vm_obj *o;                                                               \
        DEREF(o, objh);                                                          \
        unsigned slot = (uint16_t)ip->a;                                         \
        if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)                     \
            THROW(VM_SC_SecurityException);                                      \
        *sp++ = vm_rd16(o->data + 2u * slot);                                    \
        NEXT                                                                     \
    }
#define PUTFIELD(objh, value)                                                    \
    {                                                                            \
        vm_obj *o;                                                               \
        DEREF(o, objh);                                                          \
        unsigned slot = (uint16_t)ip->a;                                         \
        uint8_t w[2];                                                            \
        if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)                     \
            THROW(VM_SC_SecurityException);                                      \
        vm_wr16(w, (value));                                                     \
        CHECK(vm_obj_store(rt, o, 2u * slot, w, 2, 1))                           \
        NEXT                                                                     \
    }
#define AS_BYTE(v) ((uint16_t)(int16_t)(int8_t)(uint8_t)(v))
        vmcase(getfield_a)
        vmcase(getfield_b)
        vmcase(getfield_s) { sp--; GETFIELD(*sp) }
        vmcase(getfield_a_this)
        vmcase(getfield_b_this)
        vmcase(getfield_s_this) GETFIELD(lv[0])
        vmcase(putfield_a)
        vmcase(putfield_s) { sp -= 2; PUTFIELD(sp[0], sp[1]) }
        vmcase(putfield_b) { sp -= 2; PUTFIELD(sp[0], AS_BYTE(sp[1])) }
        vmcase(putfield_a_this)
        vmcase(putfield_s_this) { sp -= 1; PUTFIELD(lv[0], sp[0]) }
        vmcase(putfield_b_this) { sp -= 1; PUTFIELD(lv[0], AS_BYTE(sp[0])) }

        /* ---- objects ---- */
        vmcase(new) {
            uint16_t cls = cpr[(uint16_t)ip->a].a, h;
            CHECK(vm_alloc(rt, VM_OBJ_INSTANCE, VM_OF_PERSISTENT, cls, classes[cls].field_count,
                           2u * classes[cls].field_count, 0, &h))
            RELOAD();
            *sp++ = h;
            NEXT
        }
        vmcase(checkcast) {
            const uint8_t *pc = f->code + ip->pc;
            if (sp[-1] != 0) {
                vm_obj *o;
                DEREF(o, sp[-1]);
                uint16_t idx = vm_rd16(pc + 2);
                if (!cast_ok(rt, P, o, pc[1], (pc[1] == VM_T_CLASS || pc[1] == VM_T_REFERENCE) ? cpr[idx].a : 0))
                    THROW(VM_SC_ClassCastException);
            }
            NEXT
        }
        vmcase(instanceof) {
            const uint8_t *pc = f->code + ip->pc;
            if (sp[-1] != 0) {
                vm_obj *o;
                DEREF(o, sp[-1]);
                uint16_t idx = vm_rd16(pc + 2);
                sp[-1] = (uint16_t)cast_ok(rt, P, o, pc[1], (pc[1] == VM_T_CLASS || pc[1] == VM_T_REFERENCE) ? cpr[idx].a : 0);
            }
            NEXT
        }
        vmcase(athrow) {
            vm_obj *o;
            DEREF(o, sp[-1]);
            if (!cast_ok(rt, P, o, VM_T_CLASS, VM_SC_Throwable))
                THROW(VM_SC_SecurityException);
            exc = sp[-1];
            goto throw_exc;
        }

        /* ---- calls ---- */
        vmcase(invokestatic) {
            const vm_cpr *e = &cpr[(uint16_t)ip->a];
            if (e->tag == VM_CP_NATIVE) {
                uint16_t r = 0;
                sp -= e->b;
                f->ip = ip;
                if (e->a >= VM_EXT_TOKEN_FIRST)
                    rc = call_extension(rt, P, e->a, sp, e->b, &r);
                else
                    rc = vm_native(rt, e->a, sp, &r);
                RELOAD();
                if (rc)
                    goto throw_rc;
                if (e->c)
                    *sp++ = r;
                NEXT
            }
            callee_i = e->a;
            goto do_call;
        }
        vmcase(invokespecial) {
            callee_i = cpr[(uint16_t)ip->a].a;
            if (sp[-(int)methods[callee_i].nargs] == 0)
                THROW(VM_SC_NullPointerException);
            goto do_call;
        }
        vmcase(invokevirtual) {
            const vm_cpr *e = &cpr[(uint16_t)ip->a];
            const vm_method *expect = &methods[e->c];
            vm_obj *o;
            DEREF(o, sp[-(int)expect->nargs]);
            if (o->kind != VM_OBJ_INSTANCE || o->cls >= P->pkg.class_count ||
                e->b >= classes[o->cls].vtable_count)
                THROW(VM_SC_SecurityException);
            callee_i = vm_rd16(classes[o->cls].vtable + 2u * e->b);
            callee = &methods[callee_i];
            if (callee->nargs != expect->nargs || callee->flags != expect->flags)
                THROW(VM_SC_SecurityException);
            goto do_call;
        }

        /* ---- returns ---- */
        vmcase(sreturn)
        vmcase(areturn) {
            uint16_t v = sp[-1];
            if (f == f0) {
                if (ret)
                    *ret = v;
                goto done;
            }
            sp = f->lv;
            f--;
            lv = f->lv;
            *sp++ = v;
            ip = f->ip + 1;
            vmbreak;
        }
        vmcase(return) {
            if (f == f0)
                goto done;
            sp = f->lv;
            f--;
            lv = f->lv;
            ip = f->ip + 1;
            vmbreak;
        }

        /* ---- superinstructions (interp.c, xlate) ---- */
        vmxcase(X_LOAD2) { sp[0] = lv[ip->a]; sp[1] = lv[ip->b]; sp += 2; NEXT }
        vmxcase(X_BALOAD_LL) {
            vm_obj *o;
            BARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            *sp++ = (uint16_t)(int16_t)(int8_t)o->data[i];
            NEXT
        }
        vmxcase(X_LOAD_BALOAD_LL) {
            vm_obj *o;
            BARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            sp[0] = lv[ip->c];
            sp[1] = (uint16_t)(int16_t)(int8_t)o->data[i];
            sp += 2;
            NEXT
        }
        vmxcase(X_UBALOAD_LL) {
            vm_obj *o;
            BARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            *sp++ = o->data[i];
            NEXT
        }
        vmxcase(X_LOAD_UBALOAD_LL) {
            vm_obj *o;
            BARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            sp[0] = lv[ip->c];
            sp[1] = o->data[i];
            sp += 2;
            NEXT
        }
        vmxcase(X_ADD_REMK_ST) {
            sp -= 2;
            lv[ip->c] = (uint16_t)rem_by((int16_t)(uint16_t)(sp[0] + sp[1]), ip->a, ip->u.m);
            NEXT
        }
        vmxcase(X_SALOAD_LL) {
            vm_obj *o;
            SARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            *sp++ = vm_rd16(o->data + 2u * i);
            NEXT
        }
        vmxcase(X_SALOAD_LL_ST) {
            vm_obj *o;
            SARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            lv[ip->c] = vm_rd16(o->data + 2u * i);
            NEXT
        }
        vmxcase(X_SALOAD_LLK_ST) {
            vm_obj *o;
            SARRAY(o, lv[ip->a]);
            uint16_t i = (uint16_t)(lv[ip->b] + ip->u.k);
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            lv[ip->c] = vm_rd16(o->data + 2u * i);
            NEXT
        }
#define SASTORE_AT(o, i, v)                                                      \
    {                                                                            \
        if ((i) >= o->length)                                                    \
            THROW(VM_SC_ArrayIndexOutOfBoundsException);                         \
        if (o->flags & VM_OF_PERSISTENT) {                                       \
            uint8_t w[2];                                                        \
            vm_wr16(w, (v));                                                     \
            CHECK(vm_obj_store(rt, o, 2u * (i), w, 2, 1))                        \
        } else {                                                                 \
            vm_wr16(o->data + 2u * (i), (v));                                    \
        }                                                                        \
    }
        vmxcase(X_SASTORE_LLL) {
            vm_obj *o;
            SARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            SASTORE_AT(o, i, lv[ip->c]);
            NEXT
        }
        vmxcase(X_SASTORE_LLKL) {
            vm_obj *o;
            SARRAY(o, lv[ip->a]);
            uint16_t i = (uint16_t)(lv[ip->b] + ip->u.k);
            SASTORE_AT(o, i, lv[ip->c]);
            NEXT
        }
        vmxcase(X_BASTORE_LLL) {
            vm_obj *o;
            BARRAY(o, lv[ip->a]);
            uint16_t i = lv[ip->b];
            uint8_t b = (uint8_t)lv[ip->c];
            if (i >= o->length)
                THROW(VM_SC_ArrayIndexOutOfBoundsException);
            if (o->flags & VM_OF_PERSISTENT)
                CHECK(vm_obj_store(rt, o, i, &b, 1, 1))
            else
                o->data[i] = b;
            NEXT
        }
        vmxcase(X_LADD_REMK_ST) {
            lv[ip->c] = (uint16_t)rem_by((int16_t)(uint16_t)(lv[ip->a] + lv[ip->b]), ip->e, ip->u.m);
            NEXT
        }
        vmxcase(X_ADD_LL) { *sp++ = (uint16_t)(lv[ip->a] + lv[ip->b]); NEXT }
        vmxcase(X_SUB_LL) { *sp++ = (uint16_t)(lv[ip->a] - lv[ip->b]); NEXT }
        vmxcase(X_ADDK) { sp[-1] = (uint16_t)(sp[-1] + ip->a); NEXT }
        vmxcase(X_ANDK) { sp[-1] &= (uint16_t)ip->a; NEXT }
        vmxcase(X_ORK) { sp[-1] |= (uint16_t)ip->a; NEXT }
        vmxcase(X_MULK) { sp[-1] = (uint16_t)((uint32_t)sp[-1] * (uint16_t)ip->a); NEXT }
        vmxcase(X_REMK) { sp[-1] = (uint16_t)rem_by((int16_t)sp[-1], ip->a, ip->u.m); NEXT }
        vmxcase(X_REMK_ST) { sp--; lv[ip->c] = (uint16_t)rem_by((int16_t)*sp, ip->a, ip->u.m); NEXT }
        vmxcase(X_ADDK_ST) { sp--; lv[ip->c] = (uint16_t)(*sp + ip->a); NEXT }
        vmxcase(X_LADDK_ST) { lv[ip->c] = (uint16_t)(lv[ip->a] + ip->b); NEXT }
        vmxcase(X_MOV) { lv[ip->b] = lv[ip->a]; NEXT }
        vmxcase(X_SETK) { lv[ip->b] = (uint16_t)ip->a; NEXT }
        vmxcase(X_RSUB_KL) { *sp++ = (uint16_t)(ip->a - lv[ip->b]); NEXT }
        vmxcase(X_INC_LOAD) { uint16_t v = (uint16_t)(lv[ip->a] + ip->b); lv[ip->a] = v; *sp++ = v; NEXT }
        vmxcase(X_INC_GOTO) { lv[ip->a] = (uint16_t)(lv[ip->a] + ip->b); JUMP(ip->u.t) }
#define CONDS(G, PRE, X, Y)                                                      \
        vmccase(G, C_EQ, G##_EQ) { PRE; BR((X) == (Y)) }                         \
        vmccase(G, C_NE, G##_NE) { PRE; BR((X) != (Y)) }                         \
        vmccase(G, C_LT, G##_LT) { PRE; BR((X) < (Y)) }                          \
        vmccase(G, C_GE, G##_GE) { PRE; BR((X) >= (Y)) }                         \
        vmccase(G, C_GT, G##_GT) { PRE; BR((X) > (Y)) }                          \
        vmccase(G, C_LE, G##_LE) { PRE; BR((X) <= (Y)) }
        CONDS(X_IFCMP_LL, (void)0, (int16_t)lv[ip->a], (int16_t)lv[ip->b])
        CONDS(X_IFCMP_LK, (void)0, (int16_t)lv[ip->a], ip->b)
        CONDS(X_INC_IFCMP_LK, lv[ip->a] = (uint16_t)(lv[ip->a] + ip->b), (int16_t)lv[ip->a], ip->c)
        CONDS(X_IF_L, (void)0, (int16_t)lv[ip->a], 0)
        CONDS(X_INC_IFCMP_LKSUBL, lv[ip->a] = (uint16_t)(lv[ip->a] + (int8_t)(uint8_t)ip->b), (int16_t)lv[ip->a],
              (int16_t)(uint16_t)(ip->c - lv[(uint16_t)ip->b >> 8]))
#undef CONDS

        /* Forms the translation folds into others (never in ops). */
        vmcase(aconst_null)
        vmcase(sconst_m1)
        vmcase(sconst_0)
        vmcase(sconst_1)
        vmcase(sconst_2)
        vmcase(sconst_3)
        vmcase(sconst_4)
        vmcase(sconst_5)
        vmcase(bspush)
        vmcase(aload)
        vmcase(aload_0)
        vmcase(aload_1)
        vmcase(aload_2)
        vmcase(aload_3)
        vmcase(sload_0)
        vmcase(sload_1)
        vmcase(sload_2)
        vmcase(sload_3)
        vmcase(astore)
        vmcase(astore_0)
        vmcase(astore_1)
        vmcase(astore_2)
        vmcase(astore_3)
        vmcase(sstore_0)
        vmcase(sstore_1)
        vmcase(sstore_2)
        vmcase(sstore_3)
        vmcase(sinc_w)
        vmcase(ifeq_w)
        vmcase(ifne_w)
        vmcase(iflt_w)
        vmcase(ifge_w)
        vmcase(ifgt_w)
        vmcase(ifle_w)
        vmcase(ifnull_w)
        vmcase(ifnonnull_w)
        vmcase(if_acmpeq_w)
        vmcase(if_acmpne_w)
        vmcase(if_scmpeq_w)
        vmcase(if_scmpne_w)
        vmcase(if_scmplt_w)
        vmcase(if_scmpge_w)
        vmcase(if_scmpgt_w)
        vmcase(if_scmple_w)
        vmcase(goto_w)
        vmcase(getfield_a_w)
        vmcase(getfield_b_w)
        vmcase(getfield_s_w)
        vmcase(putfield_a_w)
        vmcase(putfield_b_w)
        vmcase(putfield_s_w)
        vmdefault {
            /* Unreachable for verified code. */
            THROW(VM_SC_SecurityException);
        }
        }
    }

do_call: {
        /* The arguments on the caller's stack become the callee's first
         * locals; its other locals are zeroed and its stack follows. */
        callee = &methods[callee_i];
        uint16_t *nlv = sp - callee->nargs;
        uint16_t *nbase = nlv + callee->nargs + callee->max_locals;
        if (f + 1 >= f_end || nbase + callee->max_stack > stack_end)
            THROW(VM_SC_StackOverflowError);
        const vm_xmeth *xm = &PX->x[callee_i];
        if (!xm->ops) {
            if (xlate(PX, callee_i, disp) != 0) {
                result = VM_ERR_NOMEM;
                goto finish;
            }
            xm = &PX->x[callee_i];
        }
        for (uint16_t *q = sp; q < nbase; q++)
            *q = 0;
        f->ip = ip;
        f++;
        f->m = callee;
        f->code = callee->code;
        f->x = xm;
        f->lv = lv = nlv;
        f->base = sp = nbase;
        f->pkg = P;
        ip = xm->ops;
        if (budget <= 0)
            goto out_of_budget;
        budget -= ip->chain;
#if VM_COMPUTED_GOTO
        goto *ip->h;
#else
        goto resume;
#endif
    }

throw_rc:
    if (rc < 0) {
        result = rc;
        goto finish;
    }
    exc = (uint16_t)(VM_H_EXC_FIRST + (rc - VM_SC_FIRST_THROWABLE));
throw_exc:
    /* Find a handler, innermost frame first. ip is the throwing (or, in
     * callers, the invoking) op; its first bytecode gives the offset. */
    for (;;) {
        const vm_method *m = f->m;
        uint32_t off = ip->pc;
        uint16_t ecls = exc < ncap ? objs[exc].cls : VM_SC_Throwable;
        for (unsigned i = 0; i < m->handler_count; i++) {
            vm_handler h = vm_method_handler(m, i);
            if (off < h.start || off >= h.end)
                continue;
            if (h.catch_cp != 0xFFFF && !vm_is_instance_of(rt, P, ecls, cpr[h.catch_cp].a))
                continue;
            sp = f->base;
            *sp++ = exc;
            lv = f->lv;
            ip = &f->x->ops[f->x->map[h.handler]];
            budget -= ip->chain;
            goto resume;
        }
        if (f == f0) {
            rt->uncaught = exc;
            result = VM_RUN_THROWN;
            goto finish;
        }
        f--;
        ip = f->ip;
    }

resume:
    goto loop;

out_of_budget:
    result = VM_RUN_BUDGET;
    goto finish;
done:
    result = VM_RUN_DONE;
finish:
    rt->last_executed = (uint64_t)(budget0 - budget);
    rt->executed += rt->last_executed;
    return result;
#undef THROW
#undef DEREF
#undef CHECK
#undef NEXT
#undef JUMP
#undef BR
#undef ARRAY
#undef BARRAY
#undef SARRAY
#undef SASTORE_AT
#undef RELOAD
#undef GETFIELD
#undef PUTFIELD
#undef AS_BYTE
}
