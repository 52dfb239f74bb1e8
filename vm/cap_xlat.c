/*
 * cap_xlat.c — translation of verified CAP bytecode into the ops the
 * dispatch loop (cap_run.c) runs. Design and figures: docs/vm.md,
 * "Performance".
 *
 * The JCVM is a stack machine, and most of what javac emits pushes a local
 * or a constant for an instruction soon after. The translator keeps a model
 * of the operand stack's top whose entries are on the stack, or pending:
 * a local or a constant not pushed yet. Pushes of locals and constants
 * emit nothing; an op that consumes operands (arithmetic, compare-and-
 * branch, element loads and stores) takes each from the stack, a local or
 * the op itself, and a result may go straight into the local of the
 * `sstore` after it. Pending entries are pushed where the real stack must
 * be whole (jumps, targets, handlers, calls, anything the plain switch
 * runs) and before their local changes; one below values already on the
 * stack is inserted under them, so the stack always holds what the JCVM's
 * would. The other fusions: `sinc` + `goto`, the end of every javac
 * loop, with the loop test at the head when it compares a local with a
 * local or a constant, zero included (also after a plain `goto`); jumps
 * to a `goto` threaded; `dup2` of pending values; `sreturn` of a pending
 * local or constant; `baload; const 0xFF; sand` (javac's unsigned byte
 * read) as one zero-extending load; an element load and the compare-
 * and-branch that consumes it (fuse_ecmp). `sdiv`/`srem` by a pending constant
 * other than 0 and +-1 multiply by its reciprocal (xdiv.h), the dividend
 * taken from wherever it is, pending sums included. No pattern exists for
 * one program.
 *
 * Loop regions (find_regions): in a loop that makes no call, allocates
 * nothing and is entered only at its head, an array in a local the loop
 * does not write is checked by its first element op after each entry and
 * taken from a cache slot by the others (docs/vm.md, "Loop regions").
 *
 * Loop-invariant code motion (find_loops, find_hoists): in a loop entered
 * from outside only at its head, with no handler inside, a pure short
 * expression (nothing that can throw) over constants and locals the loop
 * never writes is computed by ops before the head, which every entry from
 * outside passes and jumps from inside skip, into a temporary local past
 * the method's own; the loop reads the temporary (docs/vm.md,
 * "Loop-invariant code motion").
 *
 * Loop idioms (find_idioms, match_idiom, match_bottom): a counted loop
 * whose body is only an element-wise copy, fill or first-mismatch search
 * gets an IDIOM op before its head (test at the bottom: before the goto
 * to the test), which runs the whole loop in C when it can do so
 * exactly and otherwise goes on to the loop's own ops, kept after it
 * (docs/vm.md, "Loop idioms").
 *
 * Why the verifier's guarantees hold for the ops: the method was verified
 * before it is translated; an op covers at most one bytecode that can
 * throw (the folded pushes cannot) and records its offset, so handler
 * lookup sees the original instruction; nothing stays pending across a
 * branch target or handler entry, and a local is never written while a
 * pending copy of it is alive, so every value an op reads is the one the
 * bytecode would have read. In a region, nothing between an array's first
 * check and a later access can change what the checks saw.
 *
 * Budget: counted in original bytecodes. A run is the bytecodes from a
 * point up to the next branch, switch, return or athrow; every place
 * control arrives at other than by falling through (method entry, a jump,
 * a not-taken branch, a handler) charges the run starting there, so the
 * count is exact except that a run cut by an exception counts whole.
 */
#include <stdlib.h>
#include <string.h>

#include "cap_jit.h"
#include "opcodes.h"
#include "vm_internal.h"
#include "xdiv.h"

enum { OP_INVOKEINTERFACE_CODE = 0x8E };

static uint32_t insn_len(const uint8_t *code, uint32_t len, uint32_t pc)
{
    if (code[pc] == OP_INVOKEINTERFACE_CODE)
        return pc + 5 <= len ? 5 : 0;
    return vm_insn_length(code, len, pc);
}

static int is_cond_branch(uint8_t op)
{
    return (op >= 0x60 && op <= 0x6F) || (op >= 0x98 && op <= 0xA7);
}

/* Ends a run: after it control does not simply fall through. */
static int ends_run(uint8_t op)
{
    return is_cond_branch(op) || op == 0x70 || op == 0xA8 || op == 0x73 || op == 0x75 || op == 0x77 ||
           op == 0x78 || op == 0x7A || op == 0x93;
}

static int ends_path(uint8_t op)
{
    return op == 0x70 || op == 0xA8 || op == 0x73 || op == 0x75 || op == 0x77 || op == 0x78 || op == 0x7A ||
           op == 0x93;
}

static int16_t rd16s(const uint8_t *p) { return (int16_t)(uint16_t)((p[0] << 8) | p[1]); }

/* A leaf: a bytecode that pushes a local (kind 1, *v its index) or a
 * constant (kind 2, *v its value) and nothing else. */
static int leaf(const uint8_t *b, int16_t *v)
{
    uint8_t op = b[0];
    if (op == 0x15 || op == 0x16) { *v = b[1]; return 1; }
    if (op >= 0x18 && op <= 0x1B) { *v = (int16_t)(op - 0x18); return 1; }
    if (op >= 0x1C && op <= 0x1F) { *v = (int16_t)(op - 0x1C); return 1; }
    if (op == 0x01) { *v = 0; return 2; }
    if (op >= 0x02 && op <= 0x08) { *v = (int16_t)(op - 0x03); return 2; }
    if (op == 0x10) { *v = (int8_t)b[1]; return 2; }
    if (op == 0x11) { *v = rd16s(b + 1); return 2; }
    return 0;
}

/* sstore/astore: the local, else -1. */
static int store_local(const uint8_t *b)
{
    if (b[0] == 0x28 || b[0] == 0x29)
        return b[1];
    if (b[0] >= 0x2B && b[0] <= 0x2E)
        return b[0] - 0x2B;
    if (b[0] >= 0x2F && b[0] <= 0x32)
        return b[0] - 0x2F;
    return -1;
}

static int binop_of(uint8_t op)
{
    switch (op) {
    case 0x41: return CAP_XB_ADD;
    case 0x43: return CAP_XB_SUB;
    case 0x45: return CAP_XB_MUL;
    case 0x53: return CAP_XB_AND;
    case 0x55: return CAP_XB_OR;
    case 0x57: return CAP_XB_XOR;
    case 0x4D: return CAP_XB_SHL;
    case 0x4F: return CAP_XB_SHR;
    case 0x51: return CAP_XB_USHR;
    case 0x47: return CAP_XB_DIV;
    case 0x49: return CAP_XB_REM;
    default: return -1;
    }
}

/* Compare-and-branch of two shorts (or equality of references): cond. */
static int cmp2_of(uint8_t op)
{
    if (op >= 0x6A && op <= 0x6F) return op - 0x6A;
    if (op >= 0xA2 && op <= 0xA7) return op - 0xA2;
    if (op == 0x68 || op == 0xA0) return CAP_XC_EQ;   /* if_acmpeq */
    if (op == 0x69 || op == 0xA1) return CAP_XC_NE;
    return -1;
}

/* Compare with zero (or null): cond. */
static int cmp1_of(uint8_t op)
{
    if (op >= 0x60 && op <= 0x65) return op - 0x60;
    if (op >= 0x98 && op <= 0x9D) return op - 0x98;
    if (op == 0x66 || op == 0x9E) return CAP_XC_EQ;   /* ifnull */
    if (op == 0x67 || op == 0x9F) return CAP_XC_NE;   /* ifnonnull */
    return -1;
}

static int branch_offset(const uint8_t *b)
{
    uint8_t op = b[0];
    int wide = op >= 0x98 && op <= 0xA8;
    return wide ? rd16s(b + 1) : (int8_t)b[1];
}

/* An operand stack entry at translation: on the stack (CAP_XK_S), or not
 * pushed yet: a local or a constant (v), or the sum of local v and local
 * or constant w (CAP_XK_LL, CAP_XK_LC), folded into an element op's index
 * and computed by an add op anywhere else. */
typedef struct xl_ve {
    uint8_t k;
    int16_t v, w;
} xl_ve;
enum { XL_VS_MAX = 256 };

/* A loop region: the bytecodes from a loop head to its back edge, when
 * they make no call, allocate nothing, switch nowhere, hold no handler
 * entry and are entered from outside only at the head. Inside one, the
 * context, the handle table and every local the region does not write
 * stay as they are, so an array in such a local, once it has passed the
 * element op's checks (null, handle, kind, firewall), passes them again
 * until control leaves: the first element op on it checks and keeps the
 * object in a cache slot, the others take it from there (bounds are
 * checked at every access). The region's entry op, placed before the
 * head and reached by every entry from outside (jumps to the head from
 * outside land on it), empties the cache. */
enum { XL_REGIONS_MAX = 32, XL_SLOTS = CAP_X_SLOTS };
typedef struct xl_region {
    uint32_t start, end;        /* head .. past the back edge */
    uint8_t written[32];        /* bitmap of the locals the region writes */
    unsigned head_op;           /* the head's op, after the entry op */
    unsigned enter_op;          /* the entry op (CAP_X_LOOP_ENTER) */
    unsigned nslots;
    struct {
        uint8_t local, shorts;
    } slots[XL_SLOTS];
} xl_region;

/* Loop-invariant code motion. A loop here is a loop head with the range
 * up to the last backward jump to it, when nothing outside jumps into it
 * other than to the head and no handler starts in it. A pure short
 * expression in it (leaves: constants and locals the loop never writes;
 * sadd, ssub, smul, sand, sor, sxor, shifts; sdiv/srem by a nonzero
 * constant: nothing that can throw) is computed once, by ops placed before
 * the head that every entry from outside passes, into a temporary local
 * past the method's own; the loop reads the temporary. Jumps from inside
 * the loop to its head skip those ops. Its bytecodes are still charged
 * where they are (budget weights are per bytecode, the entry ops charge
 * nothing). */
enum { XL_LOOPS_MAX = 32, XL_HOISTS_MAX = 16, XL_HTRACK = 16, XL_IDIOMS_MAX = 16 };
typedef struct xl_loop {
    uint32_t start, end;        /* head .. past the last back edge */
    uint8_t written[32];        /* the locals the loop writes */
    unsigned body_op;           /* the op after the hoisted ones (and the idiom op) */
    unsigned nh;                /* expressions hoisted to it */
    unsigned idiom;             /* 1 + its loop idiom's index (xl.idiom), 0 none */
} xl_loop;
typedef struct xl_hoist {
    uint32_t s, e;              /* the expression's bytecodes [s, e) */
    unsigned nbc;               /* how many */
    unsigned loop;              /* the outermost loop it is invariant in */
    uint8_t temp;               /* its temporary local */
} xl_hoist;

typedef struct xl {
    const uint8_t *code;        /* first bytecode */
    uint32_t len;               /* bytes to translate */
    uint32_t base;              /* method-component offset of code[0] */
    uint8_t *leader;            /* per byte: jumped to (branch target, handler) */
    uint16_t *run;              /* per byte: run weight */
    cap_xop *ops;
    unsigned nops, cap;
    xl_ve vs[XL_VS_MAX];        /* the operand stack's top as translated (below: all on the stack) */
    unsigned nvs;
    xl_region reg[XL_REGIONS_MAX];   /* disjoint, by start */
    unsigned nreg;
    xl_loop loop[XL_LOOPS_MAX]; /* by start; nested or disjoint */
    unsigned nloop;
    xl_hoist hoist[XL_HOISTS_MAX];   /* disjoint ranges */
    unsigned nhoist;
    unsigned scratch;           /* first scratch temporary (intermediate values of the entry ops) */
    unsigned elem_op;           /* 1 + the last element load that pushed its element, 0 none */
    uint32_t elem_k;            /* its bytecode (index into pcs) */
    cap_xidiom idiom[XL_IDIOMS_MAX];   /* loop idioms (match_idiom, match_bottom) */
    uint32_t idiom_goto[XL_IDIOMS_MAX];   /* match_bottom's: the `goto` to the test */
    unsigned nidiom;
} xl;

static cap_xop *emit(xl *x, uint16_t id, uint32_t pc)
{
    if (x->nops == x->cap) {
        unsigned n = x->cap ? 2 * x->cap : 64;
        cap_xop *o = realloc(x->ops, n * sizeof *o);
        if (!o)
            return NULL;
        x->ops = o;
        x->cap = n;
    }
    cap_xop *o = &x->ops[x->nops++];
    memset(o, 0, sizeof *o);
    o->id = id;
    o->pc = (uint16_t)(x->base + pc);
    o->vcls = 0xFFFF;
    return o;
}

/* Push pending entry i now: under the entries above it that are on the
 * stack, plus `extra` popped by the op about to be emitted. */
static int materialize(xl *x, uint32_t pc, unsigned i, unsigned extra)
{
    unsigned above = extra;
    for (unsigned j = i + 1; j < x->nvs; j++)
        above += x->vs[j].k == CAP_XK_S;
    cap_xop *o;
    if (x->vs[i].k == CAP_XK_LL || x->vs[i].k == CAP_XK_LC) {
        /* the add, pushed, then moved under what is above it */
        uint8_t kb = x->vs[i].k == CAP_XK_LL ? CAP_XK_L : CAP_XK_C;
        o = emit(x, (uint16_t)(CAP_X_BIN + ((CAP_XB_ADD * 3 + CAP_XK_L) * 3 + kb) * 2), pc);
        if (!o)
            return VM_ERR_NOMEM;
        o->a = x->vs[i].v;
        o->b = x->vs[i].w;
        if (above) {
            if (!(o = emit(x, CAP_X_SINK, pc)))
                return VM_ERR_NOMEM;
            o->b = (int16_t)above;
        }
        x->vs[i].k = CAP_XK_S;
        return 0;
    }
    if (above == 0)
        o = emit(x, x->vs[i].k == CAP_XK_L ? CAP_X_PUSH_L : CAP_X_PUSH_C, pc);
    else
        o = emit(x, x->vs[i].k == CAP_XK_L ? CAP_X_INSERT_L : CAP_X_INSERT_C, pc);
    if (!o)
        return VM_ERR_NOMEM;
    o->a = x->vs[i].v;
    o->b = (int16_t)above;
    x->vs[i].k = CAP_XK_S;
    return 0;
}

/* The whole stack pushed (before a jump, a call, a target...). */
static int flush_all(xl *x, uint32_t pc, unsigned extra)
{
    for (unsigned i = 0; i < x->nvs; i++)
        if (x->vs[i].k != CAP_XK_S && materialize(x, pc, i, extra) != 0)
            return VM_ERR_NOMEM;
    x->nvs = 0;
    return 0;
}

/* Pending copies of local lx pushed before lx changes. */
static int reads_local(const xl_ve *e, int lx)
{
    return ((e->k == CAP_XK_L || e->k == CAP_XK_LL || e->k == CAP_XK_LC) && e->v == lx) ||
           (e->k == CAP_XK_LL && e->w == lx);
}

static int flush_local(xl *x, uint32_t pc, int lx, unsigned extra)
{
    for (unsigned i = 0; i < x->nvs; i++)
        if (reads_local(&x->vs[i], lx) && materialize(x, pc, i, extra) != 0)
            return VM_ERR_NOMEM;
    return 0;
}

static int refers(const xl *x, int lx)
{
    for (unsigned i = 0; i < x->nvs; i++)
        if (reads_local(&x->vs[i], lx))
            return 1;
    return 0;
}

static int is_sum(const xl_ve *e)
{
    return e->k == CAP_XK_LL || e->k == CAP_XK_LC;
}

/* Sums among the top n entries pushed (their consumer takes no sum). */
static int no_sums(xl *x, uint32_t pc, unsigned n)
{
    for (unsigned i = x->nvs > n ? x->nvs - n : 0; i < x->nvs; i++)
        if (is_sum(&x->vs[i]) && materialize(x, pc, i, 0) != 0)
            return VM_ERR_NOMEM;
    return 0;
}

static xl_ve pop_ve(xl *x)
{
    if (x->nvs)
        return x->vs[--x->nvs];
    xl_ve e = {CAP_XK_S, 0, 0};
    return e;
}

/* An array operand `depth` entries below the top is a local or on the
 * stack, never a constant (aconst_null: pushed, the op throws). */
static int array_not_const(xl *x, uint32_t pc, unsigned depth)
{
    if (x->nvs > depth && x->vs[x->nvs - 1 - depth].k == CAP_XK_C)
        return materialize(x, pc, x->nvs - 1 - depth, 0);
    return 0;
}

/* The compare-and-branch at pcs[k] (cond c2 of two operands, or c1 of
 * one against zero) and the element load before it, one op (ECMP), when:
 * the load is the last op emitted and pushed its element (array in a
 * local or a region's slot), no bytecode since it is a jump target or a
 * handler, the element is one operand and the other is on the stack
 * under the load's operands or a pending local or constant, and nothing
 * else is pending (the stack is whole at the jump with no op between).
 * The compare cannot throw: the op keeps the load's offset, its checks
 * and their order; the compare reads the local when the compare would.
 * 1 when fused (operands consumed), else 0 and nothing changed. */
static int fuse_ecmp(xl *x, const uint32_t *pcs, uint32_t k, int c2, int c1)
{
    static const uint8_t mirror[CAP_XC_COUNT] = { CAP_XC_EQ, CAP_XC_NE, CAP_XC_GT, CAP_XC_LE, CAP_XC_LT, CAP_XC_GE };
    if (!x->elem_op || x->elem_op != x->nops || x->nvs == 0)
        return 0;
    for (uint32_t j = x->elem_k + 1; j <= k; j++)
        if (x->leader[pcs[j]])
            return 0;
    unsigned n = x->nvs;
    const xl_ve *top = &x->vs[n - 1];
    xl_ve under = {CAP_XK_S, 0, 0};     /* below the model: on the stack */
    if (n >= 2)
        under = x->vs[n - 2];
    int cond, w;
    int16_t other = 0;
    if (c1 >= 0) {
        if (top->k != CAP_XK_S)
            return 0;
        cond = c1;                      /* the element against constant 0 */
        w = CAP_XK_C;
        n -= 1;
    } else if (top->k == CAP_XK_S) {
        /* the element is the second operand (a top entry on the stack
         * is the load's: any other would have taken an op since) */
        if (under.k == CAP_XK_S) {
            cond = c2;
            w = CAP_XK_S;
        } else if (under.k == CAP_XK_L || under.k == CAP_XK_C) {
            cond = mirror[c2];          /* v OP e is e OP' v */
            w = under.k;
            other = under.v;
        } else {
            return 0;
        }
        n = n >= 2 ? n - 2 : 0;
    } else if ((top->k == CAP_XK_L || top->k == CAP_XK_C) && n >= 2 && under.k == CAP_XK_S) {
        cond = c2;                      /* the element first, a leaf second */
        w = top->k;
        other = top->v;
        n -= 2;
    } else {
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        if (x->vs[i].k != CAP_XK_S)
            return 0;
    cap_xop *o = &x->ops[x->nops - 1];
    unsigned rel = (unsigned)(o->id - CAP_X_ELEM) / 2;    /* (elem * XA + ak) * ICOUNT + ik */
    unsigned ik = rel % CAP_XK_ICOUNT, ak = rel / CAP_XK_ICOUNT % CAP_XA_COUNT, elem = rel / CAP_XK_ICOUNT / CAP_XA_COUNT;
    if (ak != CAP_XA_Q || (ik != CAP_XK_L && ik != CAP_XK_LC))
        return 0;
    o->id = (uint16_t)(CAP_X_ECMP + (((unsigned)cond * 2 + elem) * 2 + (ik == CAP_XK_LC)) * CAP_XK_COUNT + (unsigned)w);
    o->c = other;
    x->nvs = 0;
    x->elem_op = 0;
    return 1;
}

/* How far the method's code reaches: past the last instruction that is
 * reachable by falling through or jumping (every branch target and
 * handler inside the method counts). */
static uint32_t method_extent(const cap_view *v, const uint8_t *code, uint32_t avail, uint32_t base)
{
    uint32_t pc = 0, reach = 1;
    while (pc < avail) {
        uint32_t n = insn_len(code, avail, pc);
        if (!n)
            return 0;
        uint8_t op = code[pc];
        if (is_cond_branch(op) || op == 0x70 || op == 0xA8) {
            int32_t t = (int32_t)pc + branch_offset(code + pc);
            if (t >= 0 && (uint32_t)t + 1 > reach)
                reach = (uint32_t)t + 1;
        } else if (op == 0x73 || op == 0x75) {
            uint32_t q = pc + 1;
            int32_t t = (int32_t)pc + rd16s(code + q);
            if (t >= 0 && (uint32_t)t + 1 > reach)
                reach = (uint32_t)t + 1;
            unsigned count = op == 0x73 ? (unsigned)(rd16s(code + q + 4) - rd16s(code + q + 2) + 1)
                                        : (unsigned)(uint16_t)rd16s(code + q + 2);
            for (unsigned i = 0; i < count; i++) {
                const uint8_t *e = op == 0x73 ? code + q + 6 + 2 * i : code + q + 4 + 4 * i + 2;
                t = (int32_t)pc + rd16s(e);
                if (t >= 0 && (uint32_t)t + 1 > reach)
                    reach = (uint32_t)t + 1;
            }
        }
        for (unsigned i = 0; i < v->handler_count; i++) {
            const cap_handler *h = &v->handlers[i];
            if (h->start >= base && h->start < base + pc + n && h->handler >= base &&
                h->handler - base + 1u > reach)
                reach = h->handler - base + 1u;
        }
        pc += n;
        if (ends_path(op) && pc >= reach)
            return pc;
    }
    return 0;
}

static int local_written(const uint8_t *b)
{
    int lx = store_local(b);
    if (lx >= 0)
        return lx;
    return b[0] == 0x59 || b[0] == 0x96 ? b[1] : -1;
}

/* Calls (the context, transactions, objects freed), allocations (the
 * handle table may move) and switches end a region's use. */
static int region_breaker(uint8_t op)
{
    return (op >= 0x8B && op <= 0x91) || op == 0x73 || op == 0x75;
}

static int is_element_op(uint8_t op)
{
    return op == 0x24 || op == 0x25 || op == 0x26 || op == 0x38 || op == 0x39;
}

/* Does the instruction at pc jump into (start, end)? */
static int jumps_into(const xl *x, uint32_t pc, uint32_t start, uint32_t end)
{
    uint8_t op = x->code[pc];
    const uint8_t *q = x->code + pc + 1;
    int32_t t;
    if (is_cond_branch(op) || op == 0x70 || op == 0xA8) {
        t = (int32_t)pc + branch_offset(x->code + pc);
        return t > (int32_t)start && t < (int32_t)end;
    }
    if (op != 0x73 && op != 0x75)
        return 0;
    t = (int32_t)pc + rd16s(q);
    if (t > (int32_t)start && t < (int32_t)end)
        return 1;
    unsigned count = op == 0x73 ? (unsigned)(rd16s(q + 4) - rd16s(q + 2) + 1) : (unsigned)(uint16_t)rd16s(q + 2);
    for (unsigned i = 0; i < count; i++) {
        t = (int32_t)pc + rd16s(op == 0x73 ? q + 6 + 2 * i : q + 4 + 4 * i + 2);
        if (t > (int32_t)start && t < (int32_t)end)
            return 1;
    }
    return 0;
}

static int region_ok(const xl *x, const cap_view *v, const uint32_t *pcs, uint32_t npc, uint32_t start,
                     uint32_t end)
{
    int elements = 0;
    for (uint32_t k = 0; k < npc; k++) {
        uint32_t pc = pcs[k];
        if (pc >= start && pc < end) {
            if (region_breaker(x->code[pc]))
                return 0;
            elements |= is_element_op(x->code[pc]);
        } else if (jumps_into(x, pc, start, end)) {
            return 0;
        }
    }
    for (unsigned i = 0; i < v->handler_count; i++) {
        uint32_t h = v->handlers[i].handler;
        if (h >= x->base + start && h < x->base + end)
            return 0;
    }
    return elements;
}

/* A jump at pc back to a head at or before it (a loop's back edge): the
 * head and the end of the jump instruction. */
static int back_edge(const xl *x, uint32_t pc, uint32_t *head, uint32_t *end)
{
    uint8_t op = x->code[pc];
    if (!(is_cond_branch(op) || op == 0x70 || op == 0xA8))
        return 0;
    int32_t t = (int32_t)pc + branch_offset(x->code + pc);
    if (t < 0 || (uint32_t)t > pc)
        return 0;
    *head = (uint32_t)t;
    *end = pc + insn_len(x->code, x->len, pc);
    return 1;
}

/* The outermost loop regions: every backward jump's range that qualifies,
 * longest first at each head, none overlapping another. */
static void find_regions(xl *x, const cap_view *v, const uint32_t *pcs, uint32_t npc)
{
    for (uint32_t k = 0; k < npc; k++) {
        uint32_t t, end;
        if (!back_edge(x, pcs[k], &t, &end) || !region_ok(x, v, pcs, npc, t, end))
            continue;
        unsigned i, j;
        for (i = 0; i < x->nreg; i++)
            if ((uint32_t)t < x->reg[i].end && x->reg[i].start < end)
                break;
        if (i < x->nreg) {
            /* overlaps a region found before: keep the one containing the other */
            if (!((uint32_t)t <= x->reg[i].start && end >= x->reg[i].end))
                continue;
            for (j = i + 1; j < x->nreg; j++)   /* it may contain several */
                if ((uint32_t)t < x->reg[j].end && x->reg[j].start < end) {
                    memmove(&x->reg[j], &x->reg[j + 1], (x->nreg - j - 1) * sizeof x->reg[0]);
                    x->nreg--;
                    j--;
                }
            x->reg[i].start = (uint32_t)t;
            x->reg[i].end = end;
        } else if (x->nreg < XL_REGIONS_MAX) {
            x->reg[x->nreg].start = (uint32_t)t;
            x->reg[x->nreg].end = end;
            x->nreg++;
        }
    }
    for (unsigned i = 0; i < x->nreg; i++) {
        xl_region *r = &x->reg[i];
        memset(r->written, 0, sizeof r->written);
        r->nslots = 0;
        for (uint32_t k = 0; k < npc; k++) {
            int lx;
            if (pcs[k] >= r->start && pcs[k] < r->end && (lx = local_written(x->code + pcs[k])) >= 0)
                r->written[lx >> 3] |= (uint8_t)(1u << (lx & 7));
        }
    }
}

/* A compare-and-branch of a local with a local or a constant: its
 * condition (enum cap_x_cond), the kind of its second operand (*kb:
 * CAP_XK_L or CAP_XK_C) and that operand (*b); -1 for any other op. A test
 * of a local against zero (`iflt`, `ifne`, `ifnull`...: javac's count-down
 * loops) is the compare with constant 0. */
static int local_test(const cap_xop *h, unsigned *kb, int16_t *b)
{
    if (h->id >= CAP_X_CMP && h->id < CAP_X_ZCMP) {
        unsigned rel = h->id - CAP_X_CMP;
        if (rel / 3 % 3 != CAP_XK_L || rel % 3 == CAP_XK_S)
            return -1;
        *kb = rel % 3;
        *b = h->b;
        return (int)(rel / 9);
    }
    if (h->id >= CAP_X_ZCMP && h->id < CAP_X_ELEM && (h->id - CAP_X_ZCMP) % 3 == CAP_XK_L) {
        *kb = CAP_XK_C;
        *b = 0;
        return (int)((h->id - CAP_X_ZCMP) / 3);
    }
    return -1;
}

static xl_region *region_of(xl *x, uint32_t pc)
{
    for (unsigned i = 0; i < x->nreg; i++)
        if (pc >= x->reg[i].start && pc < x->reg[i].end)
            return &x->reg[i];
    return NULL;
}

/* The array kind of an element op whose array is local lx (or on the
 * stack: ak CAP_XA_S), and its cache slot. */
static int array_kind(xl *x, uint32_t pc, int ak, int lx, int shorts, uint8_t *slot)
{
    *slot = 0;
    xl_region *r = ak == CAP_XA_L ? region_of(x, pc) : NULL;
    if (!r || (r->written[lx >> 3] & (1u << (lx & 7))))
        return ak;
    unsigned i;
    for (i = 0; i < r->nslots; i++)
        if (r->slots[i].local == lx && r->slots[i].shorts == shorts)
            break;
    if (i == r->nslots) {
        if (i == XL_SLOTS)
            return ak;
        r->slots[i].local = (uint8_t)lx;
        r->slots[i].shorts = (uint8_t)shorts;
        r->nslots++;
    }
    *slot = (uint8_t)i;
    return CAP_XA_Q;
}

/* javac's `b[i] & 0xFF` (the usual read of an unsigned byte): the baload
 * at pcs[k], then a push of 0xFF and `sand`, neither a jump target (2:
 * the bytecodes folded); or `0xFF & b[i]`, the constant pending under the
 * array and index and `sand` after the load (1: it is dropped from the
 * model). They fold into the load, which zero-extends (ELEMU): a constant
 * push and `sand` cannot throw, and (sbyte & 0xFF) is the byte
 * zero-extended. Called before the load pops its operands. */
static int byte_masked(xl *x, const uint32_t *pcs, uint32_t npc, uint32_t k)
{
    int16_t v;
    if (x->code[pcs[k]] != 0x25 || k + 1 >= npc || x->leader[pcs[k + 1]])
        return 0;
    if (x->code[pcs[k + 1]] == 0x53 && x->nvs >= 3 && x->vs[x->nvs - 3].k == CAP_XK_C &&
        x->vs[x->nvs - 3].v == 0xFF) {
        x->vs[x->nvs - 3] = x->vs[x->nvs - 2];
        x->vs[x->nvs - 2] = x->vs[x->nvs - 1];
        x->nvs--;
        return 1;
    }
    if (k + 2 >= npc || x->leader[pcs[k + 2]])
        return 0;
    return leaf(x->code + pcs[k + 1], &v) == 2 && v == 0xFF && x->code[pcs[k + 2]] == 0x53 ? 2 : 0;
}

/* sdiv/srem whose divisor is a pending constant other than 0, 1 and -1
 * (vm_xdiv_magic != 0): a multiply by its reciprocal, as a C compiler
 * does (xdiv.h), instead of the CPU's divide. The dividend from where it
 * is (the stack, a local, a constant, a pending sum), the result into the
 * local of the sstore n1 after it. Divisor 0 keeps the plain op, which
 * throws ArithmeticException when it runs; 1 and -1 too. */
static int emit_divc(xl *x, uint32_t pc, uint8_t op, const uint8_t *n1, unsigned *used)
{
    xl_ve eb = pop_ve(x), ea = pop_ve(x);
    int dst = n1 ? store_local(n1) : -1;
    if (dst >= 0 && refers(x, dst))
        dst = -1;
    cap_xop *o = emit(x, (uint16_t)(CAP_X_DIVC + ((op == 0x49) * CAP_XK_ICOUNT + ea.k) * 2 + (dst >= 0)), pc);
    if (!o)
        return VM_ERR_NOMEM;
    o->a = ea.v;
    o->d = ea.w;
    o->b = eb.v;
    o->mul = vm_xdiv_magic(eb.v);
    if (dst >= 0) {
        o->c = (int16_t)dst;
        *used = 2;
    } else {
        x->vs[x->nvs].k = CAP_XK_S;
        x->vs[x->nvs++].v = 0;
    }
    return 0;
}

/* ---- loop-invariant code motion (xl_loop) ---- */

/* The locals a bytecode writes, into bitmap w (int stores and increments
 * write two; the verifier refuses them today, they are counted anyway). */
static void mark_written(const uint8_t *b, uint8_t *w)
{
    int lx = -1, n = 1;
    uint8_t op = b[0];
    if (op == 0x28 || op == 0x29 || op == 0x59 || op == 0x96)
        lx = b[1];
    else if (op == 0x2A || op == 0x5A || op == 0x97) {
        lx = b[1];
        n = 2;
    } else if (op >= 0x2B && op <= 0x32)
        lx = (op - 0x2B) & 3;
    else if (op >= 0x33 && op <= 0x36) {
        lx = op - 0x33;
        n = 2;
    }
    for (int i = 0; lx >= 0 && i < n && lx + i < 256; i++)
        w[(lx + i) >> 3] |= (uint8_t)(1u << ((lx + i) & 7));
}

/* Every loop head with the range up to its last back edge, kept when no
 * jump from outside lands inside it other than on the head and no handler
 * starts in it; by start. Two kept loops are nested or disjoint (one that
 * straddles another's head would be jumped into from outside). */
static void find_loops(xl *x, const cap_view *v, const uint32_t *pcs, uint32_t npc)
{
    for (uint32_t k = 0; k < npc; k++) {
        uint32_t t, end;
        if (!back_edge(x, pcs[k], &t, &end))
            continue;
        unsigned i;
        for (i = 0; i < x->nloop && x->loop[i].start != (uint32_t)t; i++)
            ;
        if (i < x->nloop) {
            if (end > x->loop[i].end)
                x->loop[i].end = end;
        } else if (x->nloop < XL_LOOPS_MAX) {
            memset(&x->loop[i], 0, sizeof x->loop[i]);
            x->loop[i].start = (uint32_t)t;
            x->loop[i].end = end;
            x->nloop++;
        }
    }
    unsigned n = 0;
    for (unsigned i = 0; i < x->nloop; i++) {
        xl_loop l = x->loop[i];
        int ok = 1;
        for (uint32_t k = 0; k < npc && ok; k++) {
            if (pcs[k] >= l.start && pcs[k] < l.end)
                mark_written(x->code + pcs[k], l.written);
            else if (jumps_into(x, pcs[k], l.start, l.end))
                ok = 0;
        }
        for (unsigned h = 0; h < v->handler_count && ok; h++)
            if (v->handlers[h].handler >= x->base + l.start && v->handlers[h].handler < x->base + l.end)
                ok = 0;
        if (ok)
            x->loop[n++] = l;
    }
    x->nloop = n;
    for (unsigned i = 1; i < n; i++)   /* by start: an outer loop before the loops inside it */
        for (unsigned j = i; j > 0 && x->loop[j - 1].start > x->loop[j].start; j--) {
            xl_loop t = x->loop[j];
            x->loop[j] = x->loop[j - 1];
            x->loop[j - 1] = t;
        }
}

/* The outermost loop around pc that writes none of the locals `leaves`,
 * else -1 (loops around pc are nested, and an outer one writes all an
 * inner one writes). */
static int invariant_in(const xl *x, uint32_t pc, const uint8_t *leaves)
{
    for (unsigned i = 0; i < x->nloop; i++) {
        const xl_loop *l = &x->loop[i];
        if (pc < l->start || pc >= l->end)
            continue;
        unsigned j;
        for (j = 0; j < 32 && !(l->written[j] & leaves[j]); j++)
            ;
        if (j == 32)
            return (int)i;
    }
    return -1;
}

/* An expression on the operand stack while finding what to hoist: the
 * bytecodes [s, e) that pushed it, its leaf locals, whether it is pure
 * (leaves and hoistable operators only), and a constant leaf's value. */
typedef struct xl_tr {
    uint32_t s, e;
    unsigned nbc, nbin;
    uint8_t pure, kc;
    int16_t c;
    uint8_t leaves[32];
} xl_tr;

static void hoist_candidate(xl *x, const xl_tr *t)
{
    int l;
    if (!t->pure || !t->nbin || (l = invariant_in(x, t->s, t->leaves)) < 0 || x->nhoist == XL_HOISTS_MAX)
        return;
    xl_hoist *h = &x->hoist[x->nhoist++];
    h->s = t->s;
    h->e = t->e;
    h->nbc = t->nbc;
    h->loop = (unsigned)l;
}

/* The largest pure expressions that are invariant in a loop around them,
 * found by following javac's stack code: leaves push, a binary operator
 * joins the two expressions below it (their bytecodes are adjacent), and
 * anything else — or a branch target, where the stack is whole — ends
 * what is followed (what was pure and invariant is hoisted as it is). */
static void find_hoists(xl *x, const uint32_t *pcs, uint32_t npc)
{
    xl_tr st[XL_HTRACK];
    unsigned n = 0;
    for (uint32_t k = 0; k < npc; k++) {
        uint32_t pc = pcs[k], next = k + 1 < npc ? pcs[k + 1] : x->len;
        const uint8_t *b = x->code + pc;
        int16_t v;
        int lk = leaf(b, &v), bop = binop_of(b[0]);
        if (x->leader[pc] || (lk && n == XL_HTRACK)) {
            for (unsigned i = 0; i < n; i++)
                hoist_candidate(x, &st[i]);
            n = 0;
        }
        if (lk) {
            xl_tr *t = &st[n++];
            memset(t, 0, sizeof *t);
            t->s = pc;
            t->e = next;
            t->nbc = 1;
            /* sload or a short constant; aload and aconst_null are not operands of arithmetic */
            t->pure = lk == 1 ? b[0] == 0x16 || (b[0] >= 0x1C && b[0] <= 0x1F) : b[0] != 0x01;
            t->kc = lk == 2;
            t->c = v;
            if (lk == 1)
                t->leaves[v >> 3] = (uint8_t)(1u << (v & 7));
            continue;
        }
        if (bop >= 0 && n >= 2) {
            xl_tr *ta = &st[n - 2], *tb = &st[n - 1], r;
            r.s = ta->s;
            r.e = next;
            r.nbc = ta->nbc + tb->nbc + 1;
            r.nbin = ta->nbin + tb->nbin + 1;
            r.kc = 0;
            r.c = 0;
            for (unsigned j = 0; j < 32; j++)
                r.leaves[j] = ta->leaves[j] | tb->leaves[j];
            /* nothing hoisted may throw: a division only by a nonzero constant */
            r.pure = ta->pure && tb->pure &&
                     ((bop != CAP_XB_DIV && bop != CAP_XB_REM) || (tb->kc && tb->c != 0)) &&
                     invariant_in(x, r.s, r.leaves) >= 0;
            if (!r.pure) {
                hoist_candidate(x, ta);
                hoist_candidate(x, tb);
            }
            *ta = r;
            n--;
            continue;
        }
        for (unsigned i = 0; i < n; i++)
            hoist_candidate(x, &st[i]);
        n = 0;
    }
    for (unsigned i = 0; i < n; i++)
        hoist_candidate(x, &st[i]);
}

/* The stack depth an expression's evaluation reaches (its scratch
 * temporaries). */
static unsigned hoist_depth(const xl *x, const xl_hoist *h)
{
    unsigned d = 0, m = 0;
    for (uint32_t pc = h->s; pc < h->e; pc += insn_len(x->code, x->len, pc)) {
        int16_t v;
        if (leaf(x->code + pc, &v)) {
            if (++d > m)
                m = d;
        } else {
            d--;
        }
    }
    return m;
}

/* Temporaries for the hoisted expressions past the method's locals (frame
 * slots nargs + max_locals ..), scratch ones after them; none when they
 * would not fit the 8-bit local index. */
static unsigned hoist_temps(xl *x, const cap_xmethod *xm)
{
    unsigned base = (unsigned)xm->nargs + xm->max_locals, scratch = 0;
    for (unsigned i = 0; i < x->nhoist; i++) {
        unsigned d = hoist_depth(x, &x->hoist[i]);
        if (d > scratch)
            scratch = d;
    }
    unsigned n = x->nhoist + scratch;
    if (!x->nhoist || base + n > 255 || xm->max_locals + n > 255) {
        x->nhoist = 0;
        return 0;
    }
    for (unsigned i = 0; i < x->nhoist; i++) {
        x->hoist[i].temp = (uint8_t)(base + i);
        x->loop[x->hoist[i].loop].nh++;
    }
    x->scratch = base + x->nhoist;
    return n;
}

/* At loop li's head: the ops computing its hoisted expressions into their
 * temporaries, operands from locals and constants (the stack is not
 * touched), intermediate results in the scratch temporaries. BIN ops:
 * none of them can throw (find_hoists). */
static int emit_hoisted(xl *x, uint32_t head, unsigned li)
{
    for (unsigned i = 0; i < x->nhoist; i++) {
        const xl_hoist *h = &x->hoist[i];
        if (h->loop != li)
            continue;
        xl_ve es[XL_HTRACK + 1];
        unsigned d = 0;
        for (uint32_t pc = h->s; pc < h->e;) {
            uint32_t next = pc + insn_len(x->code, x->len, pc);
            int16_t v;
            int lk = leaf(x->code + pc, &v);
            if (lk) {
                es[d].k = lk == 1 ? CAP_XK_L : CAP_XK_C;
                es[d++].v = v;
            } else {
                xl_ve eb = es[--d], ea = es[d - 1];
                unsigned dst = next == h->e ? h->temp : x->scratch + d - 1;
                cap_xop *o = emit(x, (uint16_t)(CAP_X_BIN + ((binop_of(x->code[pc]) * 3 + ea.k) * 3 + eb.k) * 2 + 1),
                                  head);
                if (!o)
                    return VM_ERR_NOMEM;
                o->a = ea.v;
                o->b = eb.v;
                o->c = (int16_t)dst;
                es[d - 1].k = CAP_XK_L;
                es[d - 1].v = (int16_t)dst;
            }
            pc = next;
        }
    }
    return 0;
}

static const xl_hoist *hoist_at(const xl *x, uint32_t pc)
{
    for (unsigned i = 0; i < x->nhoist; i++)
        if (x->hoist[i].s == pc)
            return &x->hoist[i];
    return NULL;
}

/* ---- loop idioms (cap_xidiom) ----
 *
 * What a compiler's loop idiom recognition does (GCC's loop distribution,
 * LLVM's LoopIdiomRecognize for memcpy / memset, LoopIdiomVectorize for
 * the byte-compare "first mismatch" loop), on javac's counted loop
 *
 *     H: sload i; (sload n | const); if_scmpge E      (or n; i; if_scmple E)
 *        BODY
 *     S: sinc i 1; goto H
 *
 * with BODY one of, an index X being `i`, `(short)(b + i)`, `(short)(i + b)`
 * or `(short)(i - c)` (b a local or constant, c a constant):
 *   COPY      aload a1; X1; aload a0; X0; baload; bastore     (saload; sastore)
 *   FILL      aload a1; X1; v; bastore                        (sastore)
 *   MISMATCH  aload a0; X0; baload; [sstore x]; aload a1; X1; baload;
 *             [sstore y; sload x; sload y]; if_scmpne T       (T outside the loop)
 *             or the same with if_scmpeq S, the difference falling through
 *             to the code before S (javac's `if (x != y) return ...;`)
 * where the locals read (arrays, bases, n, v) are none of those the body
 * writes (i, x, y). An op before the head, passed by every entry from
 * outside (jumps from inside skip it, as the hoisted ops), runs the whole
 * loop in C when it can do so exactly, else goes on to the loop's own ops
 * (vm/cap_run.c, idiom_run): correctness never depends on it. */

/* sload: the local; a short constant push: 2 and *v; else 0 (-1 local). */
static int sload_of(const uint8_t *b)
{
    if (b[0] == 0x16)
        return b[1];
    return b[0] >= 0x1C && b[0] <= 0x1F ? b[0] - 0x1C : -1;
}

static int aload_of(const uint8_t *b)
{
    if (b[0] == 0x15)
        return b[1];
    return b[0] >= 0x18 && b[0] <= 0x1B ? b[0] - 0x18 : -1;
}

static int sstore_of(const uint8_t *b)
{
    if (b[0] == 0x29)
        return b[1];
    return b[0] >= 0x2F && b[0] <= 0x32 ? b[0] - 0x2F : -1;
}

/* A short operand: an sload (kind CAP_XK_L, *v the local) or a short
 * constant push (CAP_XK_C), else -1. */
static int short_leaf(const uint8_t *b, int16_t *v)
{
    int lx = sload_of(b);
    if (lx >= 0) {
        *v = (int16_t)lx;
        return CAP_XK_L;
    }
    return b[0] != 0x01 && leaf(b, v) == 2 ? CAP_XK_C : -1;
}

/* The bytecodes [pc, end) of a loop, one at a time. */
typedef struct xl_cur {
    const xl *x;
    uint32_t pc, end;
} xl_cur;

static const uint8_t *take(xl_cur *c)
{
    if (c->pc >= c->end)
        return NULL;
    const uint8_t *b = c->x->code + c->pc;
    uint32_t n = insn_len(c->x->code, c->x->len, c->pc);
    c->pc = n ? c->pc + n : c->end;
    return b;
}

/* An element index: `i`, `b + i`, `i + b`, `i - c`; 1 and its base. */
static int idiom_index(xl_cur *c, int i, uint8_t *bk, int16_t *base)
{
    int16_t v1, v2;
    const uint8_t *b1 = take(c);
    int k1 = b1 ? short_leaf(b1, &v1) : -1;
    if (k1 < 0)
        return 0;
    uint32_t after1 = c->pc;
    const uint8_t *b2 = take(c), *op = b2 ? take(c) : NULL;
    int k2 = b2 ? short_leaf(b2, &v2) : -1;
    int i1 = k1 == CAP_XK_L && v1 == i, i2 = k2 == CAP_XK_L && v2 == i;
    if (k2 >= 0 && op && op[0] == 0x41 && i1 != i2) {
        *bk = (uint8_t)(i1 ? k2 : k1);
        *base = i1 ? v2 : v1;
        return 1;
    }
    if (k2 == CAP_XK_C && op && op[0] == 0x43 && i1) {
        *bk = CAP_XK_C;
        *base = (int16_t)(uint16_t)(0u - (uint16_t)v2);
        return 1;
    }
    c->pc = after1;
    if (!i1)
        return 0;
    *bk = CAP_XK_C;
    *base = 0;
    return 1;
}

/* Does the idiom read local lx as one of its invariants? */
static int idiom_reads(const cap_xidiom *d, int lx)
{
    int r = (d->nk == CAP_XK_L && d->n == lx) || (d->form == CAP_XI_FILL && d->vk == CAP_XK_L && d->v == lx);
    for (unsigned j = d->form == CAP_XI_FILL; j < 2; j++)
        r |= d->arr[j] == lx || (d->bk[j] == CAP_XK_L && d->base[j] == lx);
    return r;
}

/* The body of a counted loop with induction local i (above), from c's
 * position to S, the `sinc i 1` at prev; [lstart, lend) the loop's
 * bytecodes: 1 and d's form, arrays, indices and MISMATCH's compare. */
static int match_body(const xl *x, xl_cur *c, int i, uint32_t prev, uint32_t lstart, uint32_t lend, cap_xidiom *d)
{
    uint32_t body = c->pc;
    const uint8_t *b = take(c), *e;
    int a1 = b ? aload_of(b) : -1, a0;
    if (a1 < 0 || !idiom_index(c, i, &d->bk[1], &d->base[1]) || !(b = take(c)))
        return 0;
    d->arr[1] = (uint8_t)a1;
    int vk = short_leaf(b, &d->v);
    if (vk >= 0 && (e = take(c)) && (e[0] == 0x38 || e[0] == 0x39)) {
        d->form = CAP_XI_FILL;
        d->vk = (uint8_t)vk;
        d->shorts = e[0] == 0x39;
    } else if ((a0 = aload_of(b)) >= 0) {
        /* COPY: a1[X1] = a0[X0] */
        d->form = CAP_XI_COPY;
        d->arr[0] = (uint8_t)a0;
        d->arr[1] = (uint8_t)a1;
        if (!idiom_index(c, i, &d->bk[0], &d->base[0]) || !(b = take(c)) || !(e = take(c)))
            return 0;
        if (!((b[0] == 0x25 && e[0] == 0x38) || (b[0] == 0x26 && e[0] == 0x39)))
            return 0;
        d->shorts = b[0] == 0x26;
    } else if (b[0] == 0x25 || b[0] == 0x26) {
        /* MISMATCH: what was read as a1[X1] is a0[X0] */
        d->form = CAP_XI_MISMATCH;
        d->shorts = b[0] == 0x26;
        d->arr[0] = (uint8_t)a1;
        d->bk[0] = d->bk[1];
        d->base[0] = d->base[1];
        const uint8_t *ld = b;
        if (!(b = take(c)))
            return 0;
        if (sstore_of(b) >= 0) {
            d->x = (int16_t)sstore_of(b);
            b = take(c);
        }
        if (!b || (a1 = aload_of(b)) < 0 || !idiom_index(c, i, &d->bk[1], &d->base[1]) || !(b = take(c)) ||
            b[0] != ld[0])
            return 0;
        d->arr[1] = (uint8_t)a1;
        if (d->x >= 0) {
            /* both into locals, then compared */
            const uint8_t *sy = take(c), *l1 = sy ? take(c) : NULL, *l2 = l1 ? take(c) : NULL;
            if (!l2 || sstore_of(sy) < 0)
                return 0;
            d->y = (int16_t)sstore_of(sy);
            int r1 = sload_of(l1), r2 = sload_of(l2);
            if (d->y == d->x || !((r1 == d->x && r2 == d->y) || (r1 == d->y && r2 == d->x)))
                return 0;
        }
        if (!(b = take(c)))
            return 0;
        uint32_t cpc = (uint32_t)(b - x->code), tgt = (uint32_t)((int32_t)cpc + branch_offset(b));
        if ((b[0] == 0x6B || b[0] == 0xA3) && c->pc == prev && (tgt < lstart || tgt >= lend)) {
            d->mtaken = 1;                      /* the difference jumps (taken) */
        } else if ((b[0] == 0x6A || b[0] == 0xA2) && tgt == prev && c->pc < prev) {
            d->mtaken = 0;                      /* the difference falls through */
            c->pc = prev;                        /* what comes before S is the exit path */
        } else {
            return 0;
        }
        d->cmp_pc = cpc;
        d->w_body = x->run[body];
        d->w_mexit = x->run[d->mtaken ? tgt : cpc + insn_len(x->code, x->len, cpc)];
    } else {
        return 0;
    }
    if (c->pc != prev)
        return 0;
    /* the invariants are none of the locals the body writes */
    if (idiom_reads(d, i) || (d->x >= 0 && (idiom_reads(d, d->x) || idiom_reads(d, d->y) || d->x == i || d->y == i)))
        return 0;
    return 1;
}

/* Loop l as an idiom (above): 1 and d, else 0. */
static int match_idiom(const xl *x, const xl_loop *l, cap_xidiom *d)
{
    memset(d, 0, sizeof *d);
    d->x = d->y = -1;
    /* the back edge `sinc i 1; goto H` ends the loop */
    uint32_t pc = l->start, prev = 0, last = 0;
    while (pc < l->end) {
        uint32_t n = insn_len(x->code, x->len, pc);
        if (!n)
            return 0;
        prev = last;
        last = pc;
        pc += n;
    }
    const uint8_t *g = x->code + last, *si = x->code + prev;
    if (prev <= l->start || !(g[0] == 0x70 || g[0] == 0xA8) || (int32_t)last + branch_offset(g) != (int32_t)l->start)
        return 0;
    if (!((si[0] == 0x59 && si[2] == 1) || (si[0] == 0x96 && rd16s(si + 2) == 1)))
        return 0;
    int i = si[1];
    d->i = (uint8_t)i;
    xl_cur c = {x, l->start, prev};
    /* the test: i < n, exit when not */
    const uint8_t *t1 = take(&c), *t2 = t1 ? take(&c) : NULL, *tb = t2 ? take(&c) : NULL;
    int16_t v1, v2;
    int k1 = t1 ? short_leaf(t1, &v1) : -1, k2 = t2 ? short_leaf(t2, &v2) : -1;
    if (!tb || k1 < 0 || k2 < 0)
        return 0;
    if (k1 == CAP_XK_L && v1 == i && (tb[0] == 0x6D || tb[0] == 0xA5) && !(k2 == CAP_XK_L && v2 == i)) {
        d->nk = (uint8_t)k2;
        d->n = v2;
    } else if (k2 == CAP_XK_L && v2 == i && (tb[0] == 0x6F || tb[0] == 0xA7) && !(k1 == CAP_XK_L && v1 == i)) {
        d->nk = (uint8_t)k1;
        d->n = v1;
    } else {
        return 0;
    }
    uint32_t tpc = (uint32_t)(tb - x->code), epc = (uint32_t)((int32_t)tpc + branch_offset(tb));
    if (epc >= l->start && epc < l->end)
        return 0;
    uint32_t body = c.pc;
    if (!match_body(x, &c, i, prev, l->start, l->end, d))
        return 0;
    /* budget: an iteration charges the body's run (the test not taken),
     * for MISMATCH the run at S too (equal), and the run at the head
     * (goto H); leaving charges the run at E (the test taken) */
    uint32_t w = (uint32_t)x->run[body] + x->run[l->start] + (d->form == CAP_XI_MISMATCH ? x->run[prev] : 0);
    d->w_iter = w;
    d->w_exit = x->run[epc];
    return 1;
}

/* The other shape of a counted loop, its test at the bottom:
 *
 *        goto T
 *     B: BODY
 *     S: sinc i 1
 *     T: sload i; (sload n | const); if_scmplt B      (or n; i; if_scmpgt B)
 *
 * with `goto T` at gpc: 1 and d, else 0. The idiom op goes before the
 * goto (what enters the loop there); whatever else enters it does not
 * pass the op, and the loop's own ops run as they are. */
static int match_bottom(const xl *x, uint32_t gpc, cap_xidiom *d)
{
    const uint8_t *g = x->code + gpc;
    if (!(g[0] == 0x70 || g[0] == 0xA8))
        return 0;
    uint32_t B = gpc + insn_len(x->code, x->len, gpc), T = (uint32_t)((int32_t)gpc + branch_offset(g));
    if (T <= B || T >= x->len)
        return 0;
    memset(d, 0, sizeof *d);
    d->x = d->y = -1;
    xl_cur c = {x, T, x->len};
    const uint8_t *t1 = take(&c), *t2 = t1 ? take(&c) : NULL, *tb = t2 ? take(&c) : NULL;
    int16_t v1, v2;
    int k1 = t1 ? short_leaf(t1, &v1) : -1, k2 = t2 ? short_leaf(t2, &v2) : -1;
    if (!tb || k1 < 0 || k2 < 0 || (int32_t)(tb - x->code) + branch_offset(tb) != (int32_t)B)
        return 0;
    int i;
    if (k1 == CAP_XK_L && (tb[0] == 0x6C || tb[0] == 0xA4) && !(k2 == CAP_XK_L && v2 == v1)) {
        i = v1;
        d->nk = (uint8_t)k2;
        d->n = v2;
    } else if (k2 == CAP_XK_L && (tb[0] == 0x6E || tb[0] == 0xA6) && !(k1 == CAP_XK_L && v1 == v2)) {
        i = v2;
        d->nk = (uint8_t)k1;
        d->n = v1;
    } else {
        return 0;
    }
    uint32_t end = c.pc;
    /* S: the instruction before T is `sinc i 1` */
    uint32_t pc = B, prev = 0;
    while (pc < T) {
        uint32_t n = insn_len(x->code, x->len, pc);
        if (!n)
            return 0;
        prev = pc;
        pc += n;
    }
    const uint8_t *si = x->code + prev;
    if (pc != T || prev <= B || si[1] != i || !((si[0] == 0x59 && si[2] == 1) || (si[0] == 0x96 && rd16s(si + 2) == 1)))
        return 0;
    d->i = (uint8_t)i;
    xl_cur cb = {x, B, prev};
    if (!match_body(x, &cb, i, prev, B, end, d))
        return 0;
    /* budget: entering charges the test's run (the goto taken); an
     * iteration the run at B (for COPY and FILL through the test; for
     * MISMATCH to the compare, then S's run through the test); leaving
     * the run after the test (not taken) */
    d->bottom = 1;
    d->test_pc = T;
    d->w_entry = x->run[T];
    d->w_iter = (uint32_t)x->run[B] + (d->form == CAP_XI_MISMATCH ? x->run[prev] : 0);
    d->w_exit = end < x->len ? x->run[end] : 0;
    return 1;
}

/* The loop idioms among the loops (at most XL_IDIOMS_MAX a method). */
static void find_idioms(xl *x, const uint32_t *pcs, uint32_t npc)
{
    for (unsigned li = 0; li < x->nloop && x->nidiom < XL_IDIOMS_MAX; li++)
        if (match_idiom(x, &x->loop[li], &x->idiom[x->nidiom]))
            x->loop[li].idiom = ++x->nidiom;
    for (uint32_t k = 0; k < npc && x->nidiom < XL_IDIOMS_MAX; k++)
        if (match_bottom(x, pcs[k], &x->idiom[x->nidiom]))
            x->idiom_goto[x->nidiom++] = pcs[k];
}

/* The test-at-the-bottom idiom whose `goto` is at pc: its index, else -1. */
static int idiom_at_goto(const xl *x, uint32_t pc)
{
    for (unsigned k = 0; k < x->nidiom; k++)
        if (x->idiom[k].bottom && x->idiom_goto[k] == pc)
            return (int)k;
    return -1;
}

/* Loop l's idiom op, after its other entry ops: jumps from inside the
 * loop to its head skip it (body_op, a region's head_op). */
static int emit_idiom(xl *x, uint32_t head, xl_loop *l)
{
    cap_xop *o = emit(x, CAP_X_IDIOM, head);
    if (!o)
        return VM_ERR_NOMEM;
    o->ti = l->idiom - 1;
    l->body_op = x->nops;
    for (unsigned r = 0; r < x->nreg; r++)
        if (x->reg[r].start == head)
            x->reg[r].head_op = x->nops;
    return 0;
}

/* The idiom ops' descriptors, kept with the method, and where each loop
 * leaves: where its test's op jumps (the op after the idiom op), and for
 * MISMATCH where its compare's op jumps or falls through; an idiom whose
 * ops are not where expected is never run (exit NULL). */
static int resolve_idioms(xl *x, cap_xmethod *xm, const uint16_t *op_at)
{
    cap_xidiom *d = malloc(x->nidiom * sizeof *d);
    if (!d)
        return VM_ERR_NOMEM;
    memcpy(d, x->idiom, x->nidiom * sizeof *d);
    for (unsigned k = 0; k < x->nops; k++) {
        cap_xop *o = &x->ops[k];
        if (o->id != CAP_X_IDIOM)
            continue;
        cap_xidiom *di = &d[o->ti];
        o->p = di;
        const cap_xop *t = k + 1 < x->nops ? &x->ops[k + 1] : NULL, *m = NULL;
        di->exit = t && t->id >= CAP_X_CMP && t->id < CAP_X_ZCMP ? t->p : NULL;
        if (di->bottom) {
            /* the test at the bottom: leaving falls through it */
            t = op_at[di->test_pc] != 0xFFFF ? &x->ops[op_at[di->test_pc]] : NULL;
            di->exit = t && t->id >= CAP_X_CMP && t->id < CAP_X_ZCMP && t + 1 < x->ops + x->nops ? t + 1 : NULL;
        }
        if (di->form == CAP_XI_MISMATCH) {
            m = op_at[di->cmp_pc] != 0xFFFF ? &x->ops[op_at[di->cmp_pc]] : NULL;
            if (!m || m->id < CAP_X_CMP || m->id >= CAP_X_ZCMP)
                di->exit = NULL;
            else
                di->mexit = di->mtaken ? m->p : m + 1;
        }
    }
    xm->idioms = d;
    return 0;
}

static int translate(const cap_pkg *P, cap_xmethod *xm)
{
    const cap_view *v = &P->view;
    xl x;
    memset(&x, 0, sizeof x);
    x.code = v->methods + xm->code_offset;
    x.base = xm->code_offset;
    x.len = method_extent(v, x.code, (uint32_t)v->methods_size - xm->code_offset, x.base);
    if (!x.len || x.len > 0xFFFF)
        return VM_ERR_VERIFY;
    int rc = VM_ERR_NOMEM;
    x.leader = calloc(x.len, 1);
    x.run = calloc(x.len, sizeof *x.run);
    uint16_t *op_at = malloc(x.len * sizeof *op_at);
    if (!x.leader || !x.run || !op_at)
        goto done;
    for (uint32_t i = 0; i < x.len; i++)
        op_at[i] = 0xFFFF;

    /* instruction starts, leaders, run weights (backwards) */
    uint32_t npc = 0;
    uint32_t *pcs = malloc(x.len * sizeof *pcs);
    if (!pcs)
        goto done;
    for (uint32_t pc = 0; pc < x.len; pc += insn_len(x.code, x.len, pc)) {
        pcs[npc++] = pc;
        uint8_t op = x.code[pc];
        if (is_cond_branch(op) || op == 0x70 || op == 0xA8) {
            x.leader[pc + branch_offset(x.code + pc)] = 1;
        } else if (op == 0x73 || op == 0x75) {
            const uint8_t *q = x.code + pc + 1;
            x.leader[pc + rd16s(q)] = 1;
            unsigned count = op == 0x73 ? (unsigned)(rd16s(q + 4) - rd16s(q + 2) + 1) : (unsigned)(uint16_t)rd16s(q + 2);
            for (unsigned i = 0; i < count; i++)
                x.leader[pc + rd16s(op == 0x73 ? q + 6 + 2 * i : q + 4 + 4 * i + 2)] = 1;
        }
    }
    for (unsigned i = 0; i < v->handler_count; i++) {
        const cap_handler *h = &v->handlers[i];
        if (h->handler >= x.base && h->handler < x.base + x.len)
            x.leader[h->handler - x.base] = 1;
    }
    for (uint32_t k = npc; k-- > 0;) {
        uint32_t pc = pcs[k];
        uint8_t op = x.code[pc];
        x.run[pc] = (uint16_t)(ends_run(op) || k + 1 == npc ? 1 : 1 + x.run[pcs[k + 1]]);
    }
    find_regions(&x, v, pcs, npc);
    find_loops(&x, v, pcs, npc);
    find_hoists(&x, pcs, npc);
    find_idioms(&x, pcs, npc);
    unsigned ntemps = hoist_temps(&x, xm);

    /* ops */
    for (uint32_t k = 0; k < npc;) {
        uint32_t pc = pcs[k];
        const uint8_t *b = x.code + pc;
        uint8_t op = b[0];
        if (x.leader[pc] && flush_all(&x, pc, 0) != 0)
            goto done_pcs;
        op_at[pc] = (uint16_t)x.nops;
        /* a loop's hoisted expressions first: entries from outside start
         * here, jumps from inside the loop to the head skip them */
        for (unsigned i = 0; i < x.nloop; i++)
            if (x.loop[i].start == pc && x.loop[i].nh) {
                if (emit_hoisted(&x, pc, i) != 0)
                    goto done_pcs;
                x.loop[i].body_op = x.nops;
            }
        for (unsigned i = 0; i < x.nreg; i++)
            if (x.reg[i].start == pc) {
                if (!emit(&x, CAP_X_LOOP_ENTER, pc))
                    goto done_pcs;
                x.reg[i].enter_op = x.nops - 1;
                x.reg[i].head_op = x.nops;
            }
        for (unsigned i = 0; i < x.nloop; i++)
            if (x.loop[i].start == pc && x.loop[i].idiom && emit_idiom(&x, pc, &x.loop[i]) != 0)
                goto done_pcs;
        /* the next bytecode, when it may be folded into this one's op */
        const uint8_t *n1 = k + 1 < npc && !x.leader[pcs[k + 1]] ? x.code + pcs[k + 1] : NULL;
        uint32_t next = pc + insn_len(x.code, x.len, pc);
        unsigned used = 1;
        int16_t v;
        int lk = leaf(b, &v), bop = binop_of(op), c2 = cmp2_of(op), c1 = cmp1_of(op);
        int elem = op == 0x25 ? 0 : op == 0x26 || op == 0x24 ? 1 : -1;
        int store = op == 0x38 ? 0 : op == 0x39 ? 1 : -1;
        cap_xop *o = NULL;
        const xl_hoist *hx = hoist_at(&x, pc);
        if (hx) {
            /* a hoisted expression: its temporary, pending like a local */
            if (x.nvs == XL_VS_MAX && flush_all(&x, pc, 0) != 0)
                goto done_pcs;
            x.vs[x.nvs].k = CAP_XK_L;
            x.vs[x.nvs++].v = hx->temp;
            used = hx->nbc;
        } else if (lk) {
            /* pending: folded into the op that consumes it */
            if (x.nvs == XL_VS_MAX && flush_all(&x, pc, 0) != 0)
                goto done_pcs;
            x.vs[x.nvs].k = lk == 1 ? CAP_XK_L : CAP_XK_C;
            x.vs[x.nvs++].v = v;
        } else if (store_local(b) >= 0 && x.nvs && is_sum(&x.vs[x.nvs - 1])) {
            /* a sum into a local: the add, reading the old value */
            int lx = store_local(b);
            xl_ve e = pop_ve(&x);
            if (flush_local(&x, pc, lx, 0) != 0)
                goto done_pcs;
            uint8_t kb = e.k == CAP_XK_LL ? CAP_XK_L : CAP_XK_C;
            o = emit(&x, (uint16_t)(CAP_X_BIN + ((CAP_XB_ADD * 3 + CAP_XK_L) * 3 + kb) * 2 + 1), pc);
            if (!o)
                goto done_pcs;
            o->a = e.v;
            o->b = e.w;
            o->c = (int16_t)lx;
        } else if (store_local(b) >= 0) {
            int lx = store_local(b);
            if (flush_local(&x, pc, lx, 0) != 0)
                goto done_pcs;
            xl_ve e = pop_ve(&x);
            o = emit(&x, e.k == CAP_XK_L ? CAP_X_MOV_L : e.k == CAP_XK_C ? CAP_X_MOV_C : CAP_X_STORE_L, pc);
            if (!o)
                goto done_pcs;
            o->a = e.v;
            o->c = (int16_t)lx;
        } else if (op == 0x59 || op == 0x96) {
            int goto_next = n1 && (n1[0] == 0x70 || n1[0] == 0xA8);
            if (flush_local(&x, pc, b[1], 0) != 0 || (goto_next && flush_all(&x, pc, 0) != 0))
                goto done_pcs;
            o = emit(&x, goto_next ? CAP_X_SINC_GOTO : CAP_X_SINC, pc);
            if (!o)
                goto done_pcs;
            o->a = b[1];
            o->b = op == 0x59 ? (int8_t)b[2] : rd16s(b + 2);
            if (goto_next) {
                o->ti = (uint32_t)((int32_t)pcs[k + 1] + branch_offset(n1));
                used = 2;
            }
        } else if ((op == 0x41 || op == 0x43) && x.nvs >= 2 && x.vs[x.nvs - 1].k != CAP_XK_S &&
                   x.vs[x.nvs - 1].k <= CAP_XK_C && x.vs[x.nvs - 2].k != CAP_XK_S &&
                   x.vs[x.nvs - 2].k <= CAP_XK_C && (op == 0x41 || x.vs[x.nvs - 1].k == CAP_XK_C)) {
            /* local/constant +- local/constant: pending, nothing emitted
             * (an add cannot throw; 16-bit wrap as sadd) */
            xl_ve eb = x.vs[--x.nvs], ea = x.vs[x.nvs - 1];
            xl_ve *r = &x.vs[x.nvs - 1];
            if (op == 0x43)
                eb.v = (int16_t)(uint16_t)(0u - (uint16_t)eb.v);
            if (ea.k == CAP_XK_C && eb.k == CAP_XK_C) {
                r->k = CAP_XK_C;
                r->v = (int16_t)(uint16_t)((uint16_t)ea.v + (uint16_t)eb.v);
            } else if (ea.k == CAP_XK_C) {
                r->k = CAP_XK_LC;
                r->v = eb.v;
                r->w = ea.v;
            } else {
                r->k = eb.k == CAP_XK_L ? CAP_XK_LL : CAP_XK_LC;
                r->v = ea.v;
                r->w = eb.v;
            }
        } else if ((op == 0x47 || op == 0x49) && x.nvs && x.vs[x.nvs - 1].k == CAP_XK_C &&
                   vm_xdiv_magic(x.vs[x.nvs - 1].v) != 0) {
            if (emit_divc(&x, pc, op, n1, &used) != 0)
                goto done_pcs;
        } else if (bop >= 0 || elem >= 0) {
            if (elem >= 0 && array_not_const(&x, pc, 1) != 0)
                goto done_pcs;
            if (no_sums(&x, pc, elem >= 0 ? 0 : 2) != 0)
                goto done_pcs;
            /* `b[i] & 0xFF`: the mask folded, n1 the bytecode after it */
            int zx = elem == 0 ? byte_masked(&x, pcs, npc, k) : 0;
            if (zx)
                n1 = k + 1 + zx < npc && !x.leader[pcs[k + 1 + zx]] ? x.code + pcs[k + 1 + zx] : NULL;
            xl_ve eb = pop_ve(&x), ea = pop_ve(&x);
            /* the result straight into a local: the sstore after it */
            int dst = n1 ? store_local(n1) : -1;
            if (dst >= 0 && refers(&x, dst))
                dst = -1;
            /* the result returned, both operands on the stack: the sreturn after it (what else is
             * pending is dropped with the frame) */
            int ret = bop >= 0 && !zx && n1 && n1[0] == 0x78 && ea.k == CAP_XK_S && eb.k == CAP_XK_S;
            uint8_t slot = 0;
            int ak = elem >= 0 ? array_kind(&x, pc, ea.k, ea.v, elem, &slot) : 0;
            uint16_t id = bop >= 0 ? (uint16_t)(CAP_X_BIN + ((bop * 3 + ea.k) * 3 + eb.k) * 2 + (dst >= 0))
                                   : (uint16_t)(CAP_X_ELEM + ((elem * CAP_XA_COUNT + ak) * CAP_XK_ICOUNT + eb.k) * 2 + (dst >= 0));
            if (zx)
                id = (uint16_t)(CAP_X_ELEMU + (ak * CAP_XK_ICOUNT + eb.k) * 2 + (dst >= 0));
            if (ret)
                id = (uint16_t)(CAP_X_BINR + bop);
            o = emit(&x, id, pc);
            if (!o)
                goto done_pcs;
            o->slot = slot;
            o->a = ea.v;
            o->b = eb.v;
            o->d = eb.w;
            used += (unsigned)zx;
            if (ret) {
                used++;
                x.nvs = 0;
            } else if (dst >= 0) {
                o->c = (int16_t)dst;
                used++;
            } else {
                x.vs[x.nvs].k = CAP_XK_S;
                x.vs[x.nvs++].v = 0;
                if (elem >= 0 && !zx && ak != CAP_XA_S) {
                    x.elem_op = x.nops;         /* a compare may take it (fuse_ecmp) */
                    x.elem_k = k;
                }
            }
        } else if (store >= 0) {
            if (array_not_const(&x, pc, 2) != 0 || no_sums(&x, pc, 1) != 0)
                goto done_pcs;
            xl_ve ev = pop_ve(&x), ei = pop_ve(&x), ea = pop_ve(&x);
            uint8_t slot;
            int ak = array_kind(&x, pc, ea.k, ea.v, store, &slot);
            o = emit(&x, (uint16_t)(CAP_X_STORE + (((store * CAP_XA_COUNT + ak) * CAP_XK_ICOUNT + ei.k) * 3 + ev.k)), pc);
            if (!o)
                goto done_pcs;
            o->slot = slot;
            o->a = ea.v;
            o->b = ei.v;
            o->d = ei.w;
            o->c = ev.v;
        } else if ((c2 >= 0 || c1 >= 0) && fuse_ecmp(&x, pcs, k, c2, c1)) {
            o = &x.ops[x.nops - 1];             /* the element load, now the compare too */
            op_at[pc] = (uint16_t)(x.nops - 1);
            o->ti = (uint32_t)((int32_t)pc + branch_offset(b));
            o->wf = next < x.len ? x.run[next] : 0;
        } else if (c2 >= 0 || c1 >= 0) {
            xl_ve eb = {CAP_XK_C, 0, 0}, ea;
            if (no_sums(&x, pc, c2 >= 0 ? 2 : 1) != 0)
                goto done_pcs;
            if (c2 >= 0)
                eb = pop_ve(&x);
            ea = pop_ve(&x);
            /* the stack is whole at a jump: what stays pending goes under
             * the operands this op pops */
            if (flush_all(&x, pc, (c2 >= 0 && eb.k == CAP_XK_S) + (ea.k == CAP_XK_S)) != 0)
                goto done_pcs;
            o = emit(&x, c2 >= 0 ? (uint16_t)(CAP_X_CMP + (c2 * 3 + ea.k) * 3 + eb.k)
                                 : (uint16_t)(CAP_X_ZCMP + c1 * 3 + ea.k), pc);
            if (!o)
                goto done_pcs;
            o->a = ea.v;
            o->b = eb.v;
            o->ti = (uint32_t)((int32_t)pc + branch_offset(b));
            o->wf = next < x.len ? x.run[next] : 0;
        } else if (op == 0x3B && x.nvs && x.vs[x.nvs - 1].k != CAP_XK_S) {
            x.nvs--;                                            /* pop of a pending value */
        } else if (op == 0x3D && x.nvs && x.vs[x.nvs - 1].k != CAP_XK_S) {
            if (x.nvs == XL_VS_MAX && flush_all(&x, pc, 0) != 0)
                goto done_pcs;
            if (x.nvs) {
                x.vs[x.nvs] = x.vs[x.nvs - 1];                  /* dup of a pending value */
                x.nvs++;
            } else if (!(o = emit(&x, CAP_X_DUP, pc)))
                goto done_pcs;
        } else if (op == 0x3E && x.nvs >= 2 && x.vs[x.nvs - 1].k != CAP_XK_S && x.vs[x.nvs - 2].k != CAP_XK_S) {
            /* dup2 of two pending values (javac's `a[i] op= v`) */
            if (x.nvs + 2 > XL_VS_MAX) {
                if (flush_all(&x, pc, 0) != 0 || !(o = emit(&x, CAP_X_GENERIC, pc)))
                    goto done_pcs;
                o->p = b;
            } else {
                x.vs[x.nvs] = x.vs[x.nvs - 2];
                x.vs[x.nvs + 1] = x.vs[x.nvs - 1];
                x.nvs += 2;
            }
        } else if (op == 0x3B || op == 0x3D) {
            o = emit(&x, op == 0x3B ? CAP_X_POP : CAP_X_DUP, pc);
            if (!o)
                goto done_pcs;
            if (op == 0x3B && x.nvs)
                x.nvs--;
            else if (op == 0x3D && x.nvs && x.nvs < XL_VS_MAX)
                x.vs[x.nvs++].k = CAP_XK_S;
            else if (op == 0x3D)
                x.nvs = 0;
        } else if (op == 0xAD || op == 0xAE || op == 0xAF || op == 0x7B || op == 0x7C || op == 0x7D) {
            /* pushes a value and pops none: what is pending stays */
            if (x.nvs == XL_VS_MAX && flush_all(&x, pc, 0) != 0)
                goto done_pcs;
            int this_field = op >= 0xAD;
            o = emit(&x, this_field ? CAP_X_GETFIELD_THIS : CAP_X_GETSTATIC, pc);
            if (!o)
                goto done_pcs;
            if (this_field) {
                o->a = (int16_t)(op - 0xAD);                 /* 0 ref, 1 byte, 2 short */
                o->b = (int16_t)P->cpr[b[1]].a;               /* the field's slot */
            } else {
                o->a = (int16_t)(op == 0x7C);
                o->p = &P->cpr[(b[1] << 8) | b[2]];
            }
            x.vs[x.nvs].k = CAP_XK_S;
            x.vs[x.nvs++].v = 0;
        } else if (op == 0x92 && x.nvs && (x.vs[x.nvs - 1].k == CAP_XK_L || x.vs[x.nvs - 1].k == CAP_XK_S)) {
            /* arraylength of a local or the top: what is pending below
             * stays (javac's `i < a.length`) */
            xl_ve e = pop_ve(&x);
            if (!(o = emit(&x, e.k == CAP_XK_L ? CAP_X_ARRAYLENGTH_L : CAP_X_ARRAYLENGTH_S, pc)))
                goto done_pcs;
            o->a = e.v;
            x.vs[x.nvs].k = CAP_XK_S;
            x.vs[x.nvs++].v = 0;
        } else if (op == 0x78 && x.nvs && is_sum(&x.vs[x.nvs - 1])) {
            /* return of a pending sum: the add returns it (CAP_X_BINR) */
            xl_ve e = pop_ve(&x);
            uint8_t kb = e.k == CAP_XK_LL ? CAP_XK_L : CAP_XK_C;
            if (!(o = emit(&x, kb == CAP_XK_L ? CAP_X_BINR_ADD_LL : CAP_X_BINR_ADD_LC, pc)))
                goto done_pcs;
            o->a = e.v;
            o->b = e.w;
            x.nvs = 0;
        } else if ((op == 0x77 || op == 0x78) && x.nvs && (x.vs[x.nvs - 1].k == CAP_XK_L ||
                                                            x.vs[x.nvs - 1].k == CAP_XK_C)) {
            /* return of a local or constant: what else is pending is
             * dropped with the frame */
            xl_ve e = pop_ve(&x);
            if (!(o = emit(&x, e.k == CAP_XK_L ? CAP_X_SRETURN_L : CAP_X_SRETURN_C, pc)))
                goto done_pcs;
            o->a = e.v;
            x.nvs = 0;
        } else {
            /* a call's last argument, when pending, is pushed by the call
             * op itself (CAP_X_CALLA): not for a call without arguments,
             * which x_INVOKE refuses */
            xl_ve la = {CAP_XK_S, 0, 0}, lp = {CAP_XK_S, 0, 0};
            if (op >= 0x8B && op <= 0x8E && x.nvs && x.vs[x.nvs - 1].k != CAP_XK_S &&
                !(op == 0x8B && P->cpr[(b[1] << 8) | b[2]].nargs == 0) && !(op == 0x8E && b[1] == 0)) {
                la = pop_ve(&x);
                /* and the one before it, a local or a constant (CALLA2) */
                if (x.nvs && (x.vs[x.nvs - 1].k == CAP_XK_L || x.vs[x.nvs - 1].k == CAP_XK_C))
                    lp = pop_ve(&x);
            }
            /* everything else takes the stack as it is */
            if (flush_all(&x, pc, 0) != 0)
                goto done_pcs;
            int gi = op == 0x70 || op == 0xA8 ? idiom_at_goto(&x, pc) : -1;
            if (gi >= 0) {
                /* a loop idiom entered by this goto (match_bottom) */
                cap_xop *io = emit(&x, CAP_X_IDIOM, pc);
                if (!io)
                    goto done_pcs;
                io->ti = (uint32_t)gi;
            }
            uint16_t id = CAP_X_GENERIC;
            switch (op) {
            case 0x70: case 0xA8: id = CAP_X_GOTO; break;
            case 0x7A: id = CAP_X_RETURN; break;
            case 0x77: case 0x78: id = CAP_X_SRETURN; break;
            case 0x93: id = CAP_X_ATHROW; break;
            case 0x73: id = CAP_X_TABLESWITCH; break;
            case 0x75: id = CAP_X_LOOKUPSWITCH; break;
            case 0x8B: case 0x8E: id = CAP_X_VCALL; break;
            case 0x8C: case 0x8D: id = CAP_X_CALL; break;
            default: break;
            }
            o = emit(&x, id, pc);
            if (!o)
                goto done_pcs;
            o->p = b;
            o->a = (int16_t)(op == 0x8C);
            if (op == 0x8B)
                o->b = P->cpr[(b[1] << 8) | b[2]].nargs;
            else if (op == 0x8E)
                o->b = b[1];
            if (id == CAP_X_VCALL && o->b == 0)
                o->id = CAP_X_INVOKE;      /* no receiver: x_INVOKE refuses it */
            const cap_target *api = op == 0x8B || op == 0x8D ? &P->cpr[(b[1] << 8) | b[2]].t : NULL;
            if (api && api->api && api->api->fn && (op == 0x8D || (o->b > 0 && api->api->nargs == o->b))) {
                /* an API method that is the call's only target (the
                 * linker leaves it in cpr t only then) */
                o->id = CAP_X_APICALL;
                o->p = api->api;
                o->a = (int16_t)(op == 0x8B);
                o->b = api->api->nargs;
            }
            if (la.k != CAP_XK_S) {
                unsigned ck = o->id == CAP_X_CALL ? CAP_XCALL_CALL : o->id == CAP_X_VCALL ? CAP_XCALL_VCALL : CAP_XCALL_API;
                if (lp.k == CAP_XK_S)
                    o->id = (uint16_t)(CAP_X_CALLA + ck * (CAP_XK_ICOUNT - 1) + (la.k - CAP_XK_L));
                else
                    o->id = (uint16_t)(CAP_X_CALLA2 + (ck * 2 + (lp.k - CAP_XK_L)) * (CAP_XK_ICOUNT - 1) + (la.k - CAP_XK_L));
                o->c = la.v;
                o->d = la.w;
                o->e = lp.v;
            }
            if (id == CAP_X_GOTO)
                o->ti = (uint32_t)((int32_t)pc + branch_offset(b));
        }
        k += used;
    }

    /* resolve branch targets to ops */
    for (unsigned i = 0; i < x.nops; i++) {
        cap_xop *o = &x.ops[i];
        int branches = o->id == CAP_X_GOTO || o->id == CAP_X_SINC_GOTO ||
                       (o->id >= CAP_X_CMP && o->id < CAP_X_ELEM) ||   /* CMP and ZCMP */
                       (o->id >= CAP_X_ECMP && o->id < CAP_X_IDIOM);
        if (!branches)
            continue;
        if (o->ti >= x.len || op_at[o->ti] == 0xFFFF) {
            rc = VM_ERR_VERIFY;
            goto done_pcs;
        }
        o->wt = x.run[o->ti];
        o->p = &x.ops[op_at[o->ti]];
        /* a jump inside a region to its head skips the entry op */
        xl_region *r = region_of(&x, (uint32_t)(o->pc - x.base));
        if (r && r->start == o->ti)
            o->p = &x.ops[r->head_op];
        else
            for (unsigned l = 0; l < x.nloop; l++)
                if ((x.loop[l].nh || x.loop[l].idiom) && x.loop[l].start == o->ti && o->pc - x.base >= x.loop[l].start &&
                    o->pc - x.base < x.loop[l].end)
                    o->p = &x.ops[x.loop[l].body_op];
    }
    /* jumps to a goto go where it goes (the runs of both charged, the
     * budget tested once); `sinc; goto head` or `goto head` where the head
     * is a loop test on a local: one op (the goto's charge, then the
     * test's) */
    for (unsigned i = 0; i < x.nops; i++) {
        cap_xop *o = &x.ops[i];
        if (o->id != CAP_X_GOTO && o->id != CAP_X_SINC_GOTO)
            continue;
        for (int hops = 0; hops < 8; hops++) {
            const cap_xop *g = o->p;
            if (g->id != CAP_X_GOTO || g == o || (uint32_t)o->wt + g->wt > 0x7FFF)
                break;
            o->wt = (uint16_t)(o->wt + g->wt);
            o->p = g->p;
        }
        const cap_xop *h = o->p;
        unsigned kb;
        int16_t bv;
        int cond = local_test(h, &kb, &bv);
        /* the goto's run and the test's, charged together: wt when the
         * test jumps, wf when it falls through */
        if (cond >= 0 && (uint32_t)o->wt + h->wt <= 0xFFFF && (uint32_t)o->wt + h->wf <= 0xFFFF) {
            o->c = h->a;
            o->d = bv;
            o->id = (uint16_t)((o->id == CAP_X_SINC_GOTO ? CAP_X_SINC_CMP : CAP_X_GOTO_CMP) + cond * 2 +
                               (kb == CAP_XK_C));
            o->wf = (uint16_t)(o->wt + h->wf);
            o->wt = (uint16_t)(o->wt + h->wt);
        }
    }
    /* the temporaries are locals past the method's own, below the
     * operand stack (which starts after them), inside the frame's size;
     * not zeroed at entry: every way into a loop from outside runs the
     * ops that write them before the loop reads them */
    if (x.nidiom && resolve_idioms(&x, xm, op_at) != 0)
        goto done_pcs;
    /* a compare of a local with a constant (or with zero) whose
     * fall-through op returns a local or constant is a guard return
     * (CAP_X_GRET): not taken, it returns as that op would (charging wf,
     * the run after the branch, which the return ends: the op charges
     * nothing). The return op stays (other jumps may land on it); last, so
     * that the loop tests, idioms and goto fusion above saw the plain
     * compare. */
    for (unsigned i = 0; i + 1 < x.nops; i++) {
        cap_xop *o = &x.ops[i];
        const cap_xop *r = o + 1;
        if (r->id != CAP_X_SRETURN_L && r->id != CAP_X_SRETURN_C)
            continue;
        unsigned kb;
        int16_t bv;
        int cond = local_test(o, &kb, &bv);
        if (cond < 0 || kb != CAP_XK_C || cap_guard_range(cond, bv, &o->glo, &o->gspan) != 0)
            continue;
        o->b = bv;
        o->id = (uint16_t)(CAP_X_GRET + (r->id == CAP_X_SRETURN_C));
        o->c = r->a;
    }
    /* each region's ops run from its entry op to the first op at or
     * past its end (cap_jit.c compiles that range): the entry op's ti */
    for (unsigned i = 0; i < x.nreg; i++) {
        unsigned end = x.nops;
        for (uint32_t pc = x.reg[i].end; pc < x.len; pc++)
            if (op_at[pc] != 0xFFFF) {
                end = op_at[pc];
                break;
            }
        x.ops[x.reg[i].enter_op].ti = end;
    }
    xm->max_locals = (uint8_t)(xm->max_locals + ntemps);
    xm->ops = x.ops;
    xm->nops = x.nops;
    xm->op_at = op_at;
    xm->w_at = x.run;
    xm->code_len = (uint16_t)x.len;
    xm->entry_w = x.run[0];
    /* a guard first: what a call site charges when it evaluates it
     * (cap_run.c, x_CALLG_*) */
    if (x.nops && (x.ops[0].id == CAP_X_GRET || x.ops[0].id == CAP_X_GRET + 1) &&
        (uint32_t)xm->entry_w + x.ops[0].wt <= 0xFFFF && (uint32_t)xm->entry_w + x.ops[0].wf <= 0xFFFF) {
        x.ops[0].gtake = (uint16_t)(xm->entry_w + x.ops[0].wt);
        x.ops[0].gleaf = (uint16_t)(xm->entry_w + x.ops[0].wf);
    }
    x.ops = NULL;
    x.run = NULL;
    op_at = NULL;
    rc = 0;
done_pcs:
    free(pcs);
done:
    free(x.ops);
    free(x.leader);
    free(x.run);
    free(op_at);
    return rc;
}

static unsigned slot_of(const cap_pkg *P, uint16_t offset)
{
    return (offset * 40503u) & (P->xm_cap - 1);
}

static int grow(cap_pkg *P)
{
    unsigned n = P->xm_cap ? 2 * P->xm_cap : 16;
    cap_xmethod **t = calloc(n, sizeof *t), **old = P->xm;
    if (!t)
        return VM_ERR_NOMEM;
    unsigned oc = P->xm_cap;
    P->xm = t;
    P->xm_cap = n;
    for (unsigned i = 0; i < oc; i++)
        if (old[i]) {
            unsigned s = slot_of(P, old[i]->offset);
            while (t[s])
                s = (s + 1) & (n - 1);
            t[s] = old[i];
        }
    free(old);
    return 0;
}

int vm_cap_xmethod(cap_pkg *P, uint16_t offset, cap_xmethod **out)
{
    if (P->xm_cap) {
        for (unsigned s = slot_of(P, offset);; s = (s + 1) & (P->xm_cap - 1)) {
            if (!P->xm[s])
                break;
            if (P->xm[s]->offset == offset) {
                *out = P->xm[s];
                return 0;
            }
        }
    }
    cap_method_header mh;
    if (cap_method_header_at(&P->view, offset, &mh) != 0 || (mh.flags & CAP_ACC_ABSTRACT))
        return VM_ERR_VERIFY;
    if (2 * (P->xm_count + 1) > P->xm_cap && grow(P) != 0)
        return VM_ERR_NOMEM;
    cap_xmethod *xm = calloc(1, sizeof *xm);
    if (!xm)
        return VM_ERR_NOMEM;
    xm->offset = offset;
    xm->code_offset = mh.code_offset;
    xm->nargs = mh.nargs;
    xm->max_locals = mh.max_locals;
    xm->max_stack = mh.max_stack;
    int rc = translate(P, xm);
    if (rc != 0) {
        free(xm);
        return rc;
    }
    /* from max_locals as translation left it (its temporaries included) */
    xm->nlocals = (uint16_t)(xm->nargs + xm->max_locals);
    xm->frame = (uint16_t)(xm->nlocals + xm->max_stack);
    unsigned s = slot_of(P, offset);
    while (P->xm[s])
        s = (s + 1) & (P->xm_cap - 1);
    P->xm[s] = xm;
    P->xm_count++;
    *out = xm;
    return 0;
}

void vm_cap_xfree(cap_pkg *P)
{
    for (unsigned i = 0; i < P->xm_cap; i++)
        if (P->xm[i]) {
            free(P->xm[i]->ops);
            free(P->xm[i]->op_at);
            free(P->xm[i]->w_at);
            free(P->xm[i]->idioms);
            cap_jit_free(P->xm[i]);
            free(P->xm[i]);
        }
    free(P->xm);
    P->xm = NULL;
    P->xm_cap = P->xm_count = 0;
}
