/*
 * cap_jit.c — x86-64 code for loop regions (the manual is cap_jit.h).
 *
 * One pass over a region's ops after a pass that gives each op its
 * operand-stack depth (relative to the region's entry): each op becomes
 * the instructions of its handler's fast path with its operands as
 * immediates and displacements; each slow path (an exception, an NVM
 * store, a jump out of the region, the budget) a jump to an exit
 * sequence that stores sp and returns the op where the dispatch loop
 * goes on.
 */
#define _DEFAULT_SOURCE 1   /* MAP_ANONYMOUS under -std=c11 */
#include "cap_jit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

#if defined(__x86_64__) && (defined(__linux__) || defined(__unix__) || defined(__APPLE__))
#define CAP_JIT_X64 1
#include <sys/mman.h>
#include <unistd.h>
#else
#define CAP_JIT_X64 0
#endif

vm_obj *cap_jit_array(vm_runtime *rt, uint32_t h, uint32_t k0, uint32_t apdu_store)
{
    if (apdu_store && h == VM_H_APDU_BUFFER)
        return &rt->objs[VM_H_APDU_BUFFER];
    if (h >= rt->obj_cap)
        return NULL;
    vm_obj *o = &rt->objs[h];
    if (k0 ? (uint8_t)(o->kind - k0) > 1 : o->kind < VM_OBJ_BYTES || o->kind > VM_OBJ_REFS)
        return NULL;
    if (o->pkg != rt->ctx && rt->ctx != 0 && !(o->flags & VM_OF_GLOBAL))
        return NULL;
    return o;
}

cap_jit_entry cap_jit_entry_of(const cap_xop *enter)
{
    cap_jit_entry fn = NULL;
    if (enter->p)
        memcpy(&fn, &enter->p, sizeof fn);   /* stored as an object pointer (the op's p) */
    return fn;
}

#if CAP_JIT_X64

int cap_jit_available(void)
{
    return 1;
}

/* ------------------------------------------------------------------ emitter */

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum { R_FRAME = RBX, R_SP = R12, R_LV = R13, R_BM = R14, R_AC = R15, R_RT = RBP };
/* condition codes (the low nibble of Jcc) */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_S = 8, CC_L = 0xC, CC_GE = 0xD, CC_LE = 0xE, CC_G = 0xF };

typedef struct emitter {
    uint8_t *b;
    size_t n, cap;
    int oom;
} emitter;

static void put(emitter *e, uint8_t v)
{
    if (e->n == e->cap) {
        size_t c = e->cap ? 2 * e->cap : 4096;
        uint8_t *nb = realloc(e->b, c);
        if (!nb) {
            e->oom = 1;
            return;
        }
        e->b = nb;
        e->cap = c;
    }
    e->b[e->n++] = v;
}

static void put16(emitter *e, uint32_t v)
{
    put(e, (uint8_t)v);
    put(e, (uint8_t)(v >> 8));
}

static void put32(emitter *e, uint32_t v)
{
    put16(e, v);
    put16(e, v >> 16);
}

static void put64(emitter *e, uint64_t v)
{
    put32(e, (uint32_t)v);
    put32(e, (uint32_t)(v >> 32));
}

static void patch32(emitter *e, size_t at, uint32_t v)
{
    if (e->oom)
        return;
    for (int i = 0; i < 4; i++)
        e->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* An instruction with a register and a memory operand [base + index *
 * scale + disp32] (index < 0: none): the 0x66 prefix for 16-bit operands,
 * REX when needed, the opcode (one or two bytes), ModRM, SIB. */
enum { W16 = 1, W64 = 2 };
static void op_rm(emitter *e, unsigned flags, unsigned opc, int reg, int base, int index, int scale, int32_t disp)
{
    if (flags & W16)
        put(e, 0x66);
    unsigned rex = (flags & W64 ? 8u : 0u) | (reg & 8 ? 4u : 0u) | (index >= 0 && (index & 8) ? 2u : 0u) |
                   (base & 8 ? 1u : 0u);
    if (rex)
        put(e, (uint8_t)(0x40 | rex));
    if (opc > 0xFF)
        put(e, (uint8_t)(opc >> 8));
    put(e, (uint8_t)opc);
    if (index >= 0) {
        put(e, (uint8_t)(0x80 | (reg & 7) << 3 | 4));
        unsigned ss = scale == 8 ? 3u : scale == 4 ? 2u : scale == 2 ? 1u : 0u;
        put(e, (uint8_t)(ss << 6 | (unsigned)(index & 7) << 3 | (unsigned)(base & 7)));
    } else {
        put(e, (uint8_t)(0x80 | (reg & 7) << 3 | (base & 7)));
        if ((base & 7) == RSP)
            put(e, 0x24);
    }
    put32(e, (uint32_t)disp);
}

/* The same with a register operand (ModRM mod 11): reg, rm. */
static void op_rr(emitter *e, unsigned flags, unsigned opc, int reg, int rm)
{
    if (flags & W16)
        put(e, 0x66);
    unsigned rex = (flags & W64 ? 8u : 0u) | (reg & 8 ? 4u : 0u) | (rm & 8 ? 1u : 0u);
    if (rex)
        put(e, (uint8_t)(0x40 | rex));
    if (opc > 0xFF)
        put(e, (uint8_t)(opc >> 8));
    put(e, (uint8_t)opc);
    put(e, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

static void mov_imm32(emitter *e, int r, uint32_t v)   /* mov r32, imm32 */
{
    if (r & 8)
        put(e, 0x41);
    put(e, (uint8_t)(0xB8 + (r & 7)));
    put32(e, v);
}

static void mov_imm64(emitter *e, int r, uint64_t v)   /* mov r64, imm64 */
{
    put(e, (uint8_t)(0x48 | (r & 8 ? 1 : 0)));
    put(e, (uint8_t)(0xB8 + (r & 7)));
    put64(e, v);
}

/* op r/m64, imm32 (group 1: /0 add, /5 sub, /7 cmp) */
static void alu64_imm(emitter *e, int ext, int r, int32_t v)
{
    op_rr(e, W64, 0x81, ext, r);
    put32(e, (uint32_t)v);
}

/* op word [base + disp], imm16 (group 1) */
static void alu16_mem_imm(emitter *e, int ext, int base, int32_t disp, uint16_t v)
{
    op_rm(e, W16, 0x81, ext, base, -1, 1, disp);
    put16(e, v);
}

/* op r16, imm16 (group 1) */
static void alu16_imm(emitter *e, int ext, int r, uint16_t v)
{
    op_rr(e, W16, 0x81, ext, r);
    put16(e, v);
}

static void push_r(emitter *e, int r)
{
    if (r & 8)
        put(e, 0x41);
    put(e, (uint8_t)(0x50 + (r & 7)));
}

static void pop_r(emitter *e, int r)
{
    if (r & 8)
        put(e, 0x41);
    put(e, (uint8_t)(0x58 + (r & 7)));
}

/* jcc / jmp rel32 to a place not known yet: the rel32's position */
static size_t jcc_fwd(emitter *e, int cc)
{
    put(e, 0x0F);
    put(e, (uint8_t)(0x80 | cc));
    put32(e, 0);
    return e->n - 4;
}

static size_t jmp_fwd(emitter *e)
{
    put(e, 0xE9);
    put32(e, 0);
    return e->n - 4;
}

/* a rel32 at `at` lands here */
static void land(emitter *e, size_t at)
{
    patch32(e, at, (uint32_t)(e->n - (at + 4)));
}

static void jmp_back(emitter *e, size_t to)
{
    put(e, 0xE9);
    put32(e, (uint32_t)(to - (e->n + 4)));
}

/* ------------------------------------------------------------------ compiler */

enum { FIX_OP, FIX_EXIT };
typedef struct fixup {
    size_t at;          /* the rel32 */
    uint8_t kind;
    unsigned target;    /* op index (FIX_OP) or exit index (FIX_EXIT) */
} fixup;

typedef struct way_out {
    unsigned op;        /* where the loop goes on, or stops (budget) */
    int depth;          /* the stack's depth there */
    int budget;         /* the budget ran out at a branch: the loop stops at op */
} way_out;

/* An element op's first use of a region's cache slot, out of line: the
 * array checked (the helper), kept in the slot, the bounds tested again. */
typedef struct cold_slot {
    size_t at;          /* the jae's rel32 in the op */
    size_t retry;       /* where the op loads its index */
    unsigned op;
    int depth;
    uint8_t slot;
    int16_t local;
    uint32_t k0;
} cold_slot;

typedef struct jc {
    emitter e;
    const cap_xmethod *xm;
    unsigned first, end;        /* the region's ops */
    int *depth;                 /* per op of the region, before it; INT32_MIN unknown */
    size_t *code_at;            /* per op of the region */
    fixup *fix;
    unsigned nfix, capfix;
    way_out *exits;
    unsigned nexit, capexit;
    uint8_t *target;            /* per op of the region: a jump lands there */
    cold_slot *cold;
    unsigned ncold, capcold;
    /* the top of the operand stack held in eax, not yet stored: the
     * word at depth cached_depth (a push the next op pops at once) */
    int cached, cached_depth;
    /* the locals the region uses most, held in registers (written back
     * on every way out and around the helper's calls) */
    int8_t regof[256];
    unsigned nlreg;
    int lreg_local[4];
    int fail;
} jc;

static const int local_regs[4] = { R10, R11, RSI, RDI };

#define NO_DEPTH (-100000)

static void add_fix(jc *c, size_t at, int kind, unsigned target)
{
    if (c->nfix == c->capfix) {
        unsigned n = c->capfix ? 2 * c->capfix : 64;
        fixup *f = realloc(c->fix, n * sizeof *f);
        if (!f) {
            c->e.oom = 1;
            return;
        }
        c->fix = f;
        c->capfix = n;
    }
    c->fix[c->nfix].at = at;
    c->fix[c->nfix].kind = (uint8_t)kind;
    c->fix[c->nfix++].target = target;
}

static unsigned exit_index(jc *c, unsigned op, int depth, int budget)
{
    for (unsigned i = 0; i < c->nexit; i++)
        if (c->exits[i].op == op && c->exits[i].depth == depth && c->exits[i].budget == budget)
            return i;
    if (c->nexit == c->capexit) {
        unsigned n = c->capexit ? 2 * c->capexit : 32;
        way_out *x = realloc(c->exits, n * sizeof *x);
        if (!x) {
            c->e.oom = 1;
            return 0;
        }
        c->exits = x;
        c->capexit = n;
    }
    c->exits[c->nexit].op = op;
    c->exits[c->nexit].depth = depth;
    c->exits[c->nexit].budget = budget;
    return c->nexit++;
}

/* the cached top into its stack word */
static void flush(jc *c)
{
    if (c->cached)
        op_rm(&c->e, W16, 0x89, RAX, R_SP, -1, 1, (int32_t)(2 * c->cached_depth));
    c->cached = 0;
}

/* jcc (cc < 0: jmp) to the way out that leaves for op `op` at depth d:
 * the loop goes on there. A budget that a FALL took below zero is no
 * stop: the loop runs on to its next taken branch, as the code would. */
static void jump_exit(jc *c, int cc, unsigned op, int depth)
{
    flush(c);
    size_t at = cc < 0 ? jmp_fwd(&c->e) : jcc_fwd(&c->e, cc);
    add_fix(c, at, FIX_EXIT, exit_index(c, op, depth, 0));
}

/* js to the way out that stops the loop at op `op` (depth d): the budget
 * ran out at a taken branch or a loop test, where TAKE and LOOP_TEST
 * stop */
static void stop_if_out(jc *c, unsigned op, int depth)
{
    flush(c);
    add_fix(c, jcc_fwd(&c->e, CC_S), FIX_EXIT, exit_index(c, op, depth, 1));
}

static int in_region(const jc *c, unsigned op)
{
    return op >= c->first && op < c->end;
}

/* on to op `op` at depth d: a jump inside the region, else out */
static void jump_op(jc *c, unsigned op, int depth)
{
    flush(c);
    if (in_region(c, op))
        add_fix(c, jmp_fwd(&c->e), FIX_OP, op);
    else
        jump_exit(c, -1, op, depth);
}

static unsigned index_of(const jc *c, const void *op)
{
    return (unsigned)((const cap_xop *)op - c->xm->ops);
}

/* What an op is to the compiler: its family and operand kinds, decoded
 * from its id as cap_run.c's label tables lay them out. */
enum fam { F_NONE, F_PUSH_L, F_PUSH_C, F_STORE_L, F_MOV_L, F_MOV_C, F_SINC, F_SINC_GOTO, F_POP, F_DUP, F_GOTO,
           F_BIN, F_CMP, F_ZCMP, F_ELEM, F_STORE, F_LOOP_TEST, F_ELEMU, F_ECMP, F_DIVC, F_GETFIELD_THIS,
           F_ARRAYLENGTH, F_LEAVE, F_INSERT, F_SINK, F_GENERIC };
typedef struct dec {
    enum fam f;
    int bop, cond, e;       /* binop; condition; element 0 byte / 1 short / 2 unsigned byte */
    int ka, kb, kv;         /* operand kinds (cap_x_kind / cap_x_ikind / cap_x_akind) */
    int push;               /* a result pushed (P), else into local c (T) */
    int sinc;               /* F_LOOP_TEST: SINC_CMP */
} dec;

static dec decode(unsigned id)
{
    dec d;
    memset(&d, 0, sizeof d);
    d.f = F_NONE;
    switch (id) {
    case CAP_X_PUSH_L: d.f = F_PUSH_L; return d;
    case CAP_X_PUSH_C: d.f = F_PUSH_C; return d;
    case CAP_X_STORE_L: d.f = F_STORE_L; return d;
    case CAP_X_MOV_L: d.f = F_MOV_L; return d;
    case CAP_X_MOV_C: d.f = F_MOV_C; return d;
    case CAP_X_SINC: d.f = F_SINC; return d;
    case CAP_X_SINC_GOTO: d.f = F_SINC_GOTO; return d;
    case CAP_X_POP: d.f = F_POP; return d;
    case CAP_X_DUP: d.f = F_DUP; return d;
    case CAP_X_GOTO: d.f = F_GOTO; return d;
    case CAP_X_GETFIELD_THIS: d.f = F_GETFIELD_THIS; return d;
    case CAP_X_INSERT_L: d.f = F_INSERT; d.ka = CAP_XK_L; return d;
    case CAP_X_INSERT_C: d.f = F_INSERT; d.ka = CAP_XK_C; return d;
    case CAP_X_SINK: d.f = F_SINK; return d;

    case CAP_X_ARRAYLENGTH_S: d.f = F_ARRAYLENGTH; d.ka = CAP_XA_S; return d;
    case CAP_X_ARRAYLENGTH_L: d.f = F_ARRAYLENGTH; d.ka = CAP_XA_L; return d;
    /* returns and throws end the region's run: the loop runs them */
    case CAP_X_RETURN: case CAP_X_SRETURN: case CAP_X_SRETURN_L: case CAP_X_SRETURN_C: case CAP_X_ATHROW:
        d.f = F_LEAVE;
        return d;
    default: break;
    }
    if (id >= CAP_X_BIN && id < CAP_X_CMP) {
        unsigned r = id - CAP_X_BIN;
        d.push = !(r & 1);
        r >>= 1;
        d.kb = (int)(r % 3);
        d.ka = (int)(r / 3 % 3);
        d.bop = (int)(r / 9);
        if (d.bop != CAP_XB_DIV && d.bop != CAP_XB_REM)
            d.f = F_BIN;
    } else if (id >= CAP_X_CMP && id < CAP_X_ZCMP) {
        unsigned r = id - CAP_X_CMP;
        d.f = F_CMP;
        d.kb = (int)(r % 3);
        d.ka = (int)(r / 3 % 3);
        d.cond = (int)(r / 9);
    } else if (id >= CAP_X_ZCMP && id < CAP_X_ELEM) {
        unsigned r = id - CAP_X_ZCMP;
        d.f = F_ZCMP;
        d.ka = (int)(r % 3);
        d.cond = (int)(r / 3);
    } else if (id >= CAP_X_ELEM && id < CAP_X_STORE) {
        unsigned r = id - CAP_X_ELEM;
        d.f = F_ELEM;
        d.push = !(r & 1);
        r >>= 1;
        d.kb = (int)(r % CAP_XK_ICOUNT);
        d.ka = (int)(r / CAP_XK_ICOUNT % CAP_XA_COUNT);
        d.e = (int)(r / CAP_XK_ICOUNT / CAP_XA_COUNT);
    } else if (id >= CAP_X_STORE && id < CAP_X_SINC_CMP) {
        unsigned r = id - CAP_X_STORE;
        d.f = F_STORE;
        d.kv = (int)(r % 3);
        r /= 3;
        d.kb = (int)(r % CAP_XK_ICOUNT);
        d.ka = (int)(r / CAP_XK_ICOUNT % CAP_XA_COUNT);
        d.e = (int)(r / CAP_XK_ICOUNT / CAP_XA_COUNT);
    } else if (id >= CAP_X_SINC_CMP && id < CAP_X_LOOP_ENTER) {
        unsigned r = id - CAP_X_SINC_CMP;
        d.f = F_LOOP_TEST;
        d.sinc = r < CAP_XC_COUNT * 2;
        r %= CAP_XC_COUNT * 2;
        d.kb = r & 1 ? CAP_XK_C : CAP_XK_L;
        d.cond = (int)(r / 2);
    } else if (id >= CAP_X_ELEMU && id < CAP_X_ECMP) {
        unsigned r = id - CAP_X_ELEMU;
        d.f = F_ELEMU;
        d.e = 2;
        d.push = !(r & 1);
        r >>= 1;
        d.kb = (int)(r % CAP_XK_ICOUNT);
        d.ka = (int)(r / CAP_XK_ICOUNT);
    } else if (id >= CAP_X_DIVC && id < CAP_X_ELEMU) {
        unsigned r = id - CAP_X_DIVC;
        d.f = F_DIVC;
        d.push = !(r & 1);
        r >>= 1;
        d.ka = (int)(r % CAP_XK_ICOUNT);
        d.bop = r / CAP_XK_ICOUNT ? CAP_XB_REM : CAP_XB_DIV;
    } else if ((id >= CAP_X_BINR && id < CAP_X_CALLA2) || (id >= CAP_X_GRET && id < CAP_X_COUNT)) {
        d.f = F_LEAVE;
    } else if (id >= CAP_X_ECMP && id < CAP_X_IDIOM) {
        unsigned r = id - CAP_X_ECMP;
        d.f = F_ECMP;
        d.kv = (int)(r % CAP_XK_COUNT);
        r /= CAP_XK_COUNT;
        d.kb = r & 1 ? CAP_XK_LC : CAP_XK_L;
        r >>= 1;
        d.e = (int)(r & 1);
        d.cond = (int)(r >> 1);
        d.ka = CAP_XA_Q;
    }
    return d;
}

/* An op: decode's, and for a bytecode of the plain switch (GENERIC)
 * sneg and s2b (javac's negations and casts), in d.bop. */
static dec decode_op(const cap_xop *o)
{
    dec d = decode(o->id);
    if (o->id == CAP_X_GENERIC) {
        uint8_t b = *(const uint8_t *)o->p;
        if (b == 0x4B || b == 0x5B) {
            d.f = F_GENERIC;
            d.bop = b;
        }
    }
    return d;
}

/* words an op pops and pushes */
static void stack_effect(const dec *d, int *pops, int *pushes)
{
    int p = 0, q = 0;
    switch (d->f) {
    case F_PUSH_L: case F_PUSH_C: q = 1; break;
    case F_STORE_L: case F_POP: p = 1; break;
    case F_DUP: q = 1; break;
    case F_BIN: case F_CMP:
        p = (d->ka == CAP_XK_S) + (d->kb == CAP_XK_S);
        q = d->f == F_BIN && d->push;
        break;
    case F_ZCMP: p = d->ka == CAP_XK_S; break;
    case F_ELEM: case F_ELEMU:
        p = (d->ka == CAP_XA_S) + (d->kb == CAP_XK_S);
        q = d->push;
        break;
    case F_STORE: p = (d->ka == CAP_XA_S) + (d->kb == CAP_XK_S) + (d->kv == CAP_XK_S); break;
    case F_ECMP: p = d->kv == CAP_XK_S; break;
    case F_DIVC: p = d->ka == CAP_XK_S; q = d->push; break;
    case F_GETFIELD_THIS: case F_INSERT: q = 1; break;
    case F_GENERIC: p = 1; q = 1; break;
    case F_ARRAYLENGTH: p = d->ka == CAP_XA_S; q = 1; break;
    default: break;
    }
    *pops = p;
    *pushes = q;
}

static int is_branch(const dec *d)
{
    return d->f == F_CMP || d->f == F_ZCMP || d->f == F_ECMP;
}

/* the ops after op i: up to two (-1 none) */
static void successors(const jc *c, unsigned i, const dec *d, long s[2])
{
    const cap_xop *o = &c->xm->ops[i];
    s[0] = s[1] = -1;
    switch (d->f) {
    case F_GOTO: case F_SINC_GOTO: s[0] = index_of(c, o->p); break;
    case F_LOOP_TEST: {
        const cap_xop *hd = o->p;
        s[0] = index_of(c, hd->p);
        s[1] = index_of(c, hd + 1);
        break;
    }
    case F_LEAVE: break;
    default:
        s[0] = i + 1;
        if (is_branch(d))
            s[1] = index_of(c, o->p);
        break;
    }
}

/* Each op's depth before it, from the entry's 0: 0, or -1 where an op
 * is unknown or two ways in disagree (then nothing is compiled). */
static int depths(jc *c)
{
    for (unsigned i = c->first; i < c->end; i++) {
        c->depth[i - c->first] = NO_DEPTH;
        c->target[i - c->first] = 0;
        if (decode_op(&c->xm->ops[i]).f == F_NONE)
            return -1;
    }
    c->depth[0] = 0;
    for (int pass = 0, changed = 1; changed; pass++) {
        if (pass > 64)
            return -1;
        changed = 0;
        for (unsigned i = c->first; i < c->end; i++) {
            int d0 = c->depth[i - c->first];
            if (d0 == NO_DEPTH)
                continue;
            dec d = decode_op(&c->xm->ops[i]);
            int pops, pushes;
            stack_effect(&d, &pops, &pushes);
            int d1 = d0 - pops + pushes;
            long s[2];
            successors(c, i, &d, s);
            for (int k = 0; k < 2; k++) {
                if (s[k] < 0 || !in_region(c, (unsigned)s[k]))
                    continue;
                if ((unsigned long)s[k] != i + 1 || d.f == F_LOOP_TEST)
                    c->target[(unsigned)s[k] - c->first] = 1;
                int *t = &c->depth[(unsigned)s[k] - c->first];
                if (*t == NO_DEPTH) {
                    *t = d1;
                    changed = 1;
                } else if (*t != d1) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* A stack word by depth (0: the entry's sp) */
#define STK(d) ((int32_t)(2 * (d)))
#define LOC(i) ((int32_t)(2 * (i)))

/* Local l into r: its register, or its word (the value in the low 16
 * bits; what is above them is never read as the value). */
static void load_local(jc *c, int16_t l, int r)
{
    int lr = c->regof[(uint8_t)l];
    if (lr >= 0)
        op_rr(&c->e, 0, 0x89, lr, r);                      /* mov r, lr */
    else
        op_rm(&c->e, 0, 0x0FB7, r, R_LV, -1, 1, LOC(l));
}

/* The register locals into their words, and back (around a call, which
 * may change the caller-saved registers they live in). */
static void spill(jc *c)
{
    for (unsigned k = 0; k < c->nlreg; k++)
        op_rm(&c->e, W16, 0x89, local_regs[k], R_LV, -1, 1, LOC(c->lreg_local[k]));
}

static void reload(jc *c)
{
    for (unsigned k = 0; k < c->nlreg; k++)
        op_rm(&c->e, 0, 0x0FB7, local_regs[k], R_LV, -1, 1, LOC(c->lreg_local[k]));
}

/* add imm16 to local l */
static void add_local(jc *c, int16_t l, uint16_t v)
{
    int lr = c->regof[(uint8_t)l];
    if (lr >= 0)
        alu16_imm(&c->e, 0, lr, v);
    else
        alu16_mem_imm(&c->e, 0, R_LV, LOC(l), v);
}

/* Load an operand into r (32 bits, the value zero-extended): from the
 * stack (popped: *dp goes down), a local, a constant, a sum. */
static void load(jc *c, int kind, int16_t v, int16_t w, int r, int *dp)
{
    emitter *e = &c->e;
    switch (kind) {
    case CAP_XK_S:
        --*dp;
        if (c->cached && c->cached_depth == *dp) {
            if (r != RAX)
                op_rr(e, 0, 0x89, RAX, r);               /* mov r, eax */
            c->cached = 0;
        } else {
            op_rm(e, 0, 0x0FB7, r, R_SP, -1, 1, STK(*dp));   /* movzx r, word [sp + d] */
        }
        break;
    case CAP_XK_L:
        load_local(c, v, r);
        break;
    case CAP_XK_C:
        mov_imm32(e, r, (uint16_t)v);
        break;
    case CAP_XK_LL:
        load_local(c, v, r);
        if (c->regof[(uint8_t)w] >= 0)
            op_rr(e, W16, 0x03, r, c->regof[(uint8_t)w]);  /* add r16, reg16 */
        else
            op_rm(e, W16, 0x03, r, R_LV, -1, 1, LOC(w));   /* add r16, word [lv + 2w] */
        break;
    case CAP_XK_LC:
        load_local(c, v, r);
        alu16_imm(e, 0, r, (uint16_t)w);
        break;
    default:
        c->fail = 1;
    }
}

/* Store ax: pushed (depth *dp, then up) or into local l. */
static void put_result(jc *c, int push, int16_t l, int *dp)
{
    if (push) {
        c->cached = 1;   /* stored when the next op does not pop it at once */
        c->cached_depth = *dp;
        ++*dp;
    } else if (c->regof[(uint8_t)l] >= 0) {
        op_rr(&c->e, 0, 0x89, RAX, c->regof[(uint8_t)l]);   /* mov lr, eax */
    } else {
        op_rm(&c->e, W16, 0x89, RAX, R_LV, -1, 1, LOC(l));
    }
}

static const int cc_of[CAP_XC_COUNT] = { CC_E, CC_NE, CC_L, CC_GE, CC_G, CC_LE };

/* A conditional branch on the flags (cc): taken, the run at the target
 * charged and the budget tested (TAKE); not taken, the run after it
 * charged (FALL), on to the next op. */
static void branch(jc *c, unsigned i, int cc, int d_after)
{
    const cap_xop *o = &c->xm->ops[i];
    emitter *e = &c->e;
    unsigned t = index_of(c, o->p);
    flush(c);
    size_t fall = jcc_fwd(e, cc ^ 1);
    alu64_imm(e, 5, R_BM, o->wt);                 /* sub bm1, wt */
    stop_if_out(c, t, d_after);                   /* ran out: the loop stops at the target */
    jump_op(c, t, d_after);
    land(e, fall);
    if (o->wf)
        alu64_imm(e, 5, R_BM, o->wf);
    if (!in_region(c, i + 1))
        jump_exit(c, -1, i + 1, d_after);
}

/* The array of an element op into r8 (checked as run() checks it), the
 * index into edx (zero-extended), its bounds tested; any failure leaves
 * for the op itself. Stack words: *dp at the op's first operand below
 * those already taken. */
static void element(jc *c, unsigned i, const dec *d, int d0, int *dp, int store)
{
    const cap_xop *o = &c->xm->ops[i];
    emitter *e = &c->e;
    uint32_t k0 = d->e == 1 ? VM_OBJ_SHORTS : VM_OBJ_BYTES;
    int di = *dp;   /* the index's depth, popped first */
    int da = d->kb == CAP_XK_S ? di - 1 : di;   /* the array's, under it */
    if (d->ka == CAP_XA_Q) {
        op_rm(e, W64, 0x8B, R8, R_AC, -1, 1, 8 * o->slot);          /* mov r8, [ac + 8 slot] */
        size_t retry = e->n;
        int dd = di;
        load(c, d->kb, o->b, o->d, RDX, &dd);
        op_rm(e, W16, 0x3B, RDX, R8, -1, 1, (int32_t)offsetof(vm_obj, length));   /* cmp dx, [r8 + length] */
        /* not in bounds: out of line (cold_paths) */
        size_t at = jcc_fwd(e, CC_AE);
        if (c->ncold == c->capcold) {
            unsigned n = c->capcold ? 2 * c->capcold : 32;
            cold_slot *cs = realloc(c->cold, n * sizeof *cs);
            if (!cs) {
                e->oom = 1;
                return;
            }
            c->cold = cs;
            c->capcold = n;
        }
        cold_slot *cs = &c->cold[c->ncold++];
        cs->at = at;
        cs->retry = retry;
        cs->op = i;
        cs->depth = d0;
        cs->slot = o->slot;
        cs->local = o->a;
        cs->k0 = k0;
        *dp = dd;
    } else {
        spill(c);
        op_rr(e, W64, 0x89, R_RT, RDI);
        if (d->ka == CAP_XA_S)
            op_rm(e, 0, 0x0FB7, RSI, R_SP, -1, 1, STK(da - 1));
        else
            op_rm(e, 0, 0x0FB7, RSI, R_LV, -1, 1, LOC(o->a));
        mov_imm32(e, RDX, k0);
        mov_imm32(e, RCX, store && d->e == 0);
        mov_imm64(e, RAX, (uint64_t)(uintptr_t)&cap_jit_array);
        op_rr(e, 0, 0xFF, 2, RAX);
        reload(c);
        op_rr(e, W64, 0x85, RAX, RAX);
        jump_exit(c, CC_E, i, d0);
        op_rr(e, W64, 0x89, RAX, R8);
        int dd = di;
        load(c, d->kb, o->b, o->d, RDX, &dd);
        op_rm(e, W16, 0x3B, RDX, R8, -1, 1, (int32_t)offsetof(vm_obj, length));
        jump_exit(c, CC_AE, i, d0);
        *dp = d->ka == CAP_XA_S ? dd - 1 : dd;
    }
    op_rr(e, 0, 0x0FB7, RDX, RDX);                                    /* movzx edx, dx */
    op_rm(e, W64, 0x8B, R9, R8, -1, 1, (int32_t)offsetof(vm_obj, data));   /* mov r9, [r8 + data] */
}

/* The first uses of the cache slots: the slot not yet checked
 * (ac_none), else the op throws (the loop's BND_Q); checked, kept, and
 * back to the op's index. */
static void cold_paths(jc *c)
{
    emitter *e = &c->e;
    for (unsigned k = 0; k < c->ncold && !e->oom; k++) {
        const cold_slot *cs = &c->cold[k];
        land(e, cs->at);
        op_rm(e, W64, 0x3B, R8, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, ac_none));
        jump_exit(c, CC_NE, cs->op, cs->depth);
        spill(c);
        op_rr(e, W64, 0x89, R_RT, RDI);                               /* mov rdi, rt */
        op_rm(e, 0, 0x0FB7, RSI, R_LV, -1, 1, LOC(cs->local));       /* movzx esi, lv[a] */
        mov_imm32(e, RDX, cs->k0);
        mov_imm32(e, RCX, 0);
        mov_imm64(e, RAX, (uint64_t)(uintptr_t)&cap_jit_array);
        op_rr(e, 0, 0xFF, 2, RAX);                                    /* call rax */
        reload(c);
        op_rr(e, W64, 0x85, RAX, RAX);
        jump_exit(c, CC_E, cs->op, cs->depth);
        op_rm(e, W64, 0x89, RAX, R_AC, -1, 1, 8 * cs->slot);
        op_rr(e, W64, 0x89, RAX, R8);
        jmp_back(e, cs->retry);
    }
}

/* the element at r9 + index edx into eax */
static void load_element(jc *c, int kind)
{
    emitter *e = &c->e;
    if (kind == 1) {
        op_rm(e, 0, 0x0FB7, RAX, R9, RDX, 2, 0);       /* movzx eax, word [r9 + 2 rdx] */
        op_rr(e, W16, 0xC1, 0, RAX);                   /* rol ax, 8: big-endian */
        put(e, 8);
    } else if (kind == 0) {
        op_rm(e, 0, 0x0FBE, RAX, R9, RDX, 1, 0);       /* movsx eax, byte */
    } else {
        op_rm(e, 0, 0x0FB6, RAX, R9, RDX, 1, 0);       /* movzx eax, byte */
    }
}

static void compile_op(jc *c, unsigned i)
{
    const cap_xop *o = &c->xm->ops[i];
    emitter *e = &c->e;
    dec d = decode_op(o);
    int d0 = c->depth[i - c->first];
    int dp = d0;
    /* the cached top: popped at once by an op that cannot leave before
     * it has taken its operands (the b operand goes to ecx first, so
     * eax is read before it is written), else stored now */
    int pops, pushes;
    stack_effect(&d, &pops, &pushes);
    int consumes = pops && (d.f == F_BIN || d.f == F_CMP || d.f == F_ZCMP || d.f == F_STORE_L || d.f == F_DIVC ||
                            d.f == F_POP || d.f == F_GENERIC);
    if (c->cached && (!consumes || c->cached_depth != d0 - 1))
        flush(c);
    switch (d.f) {
    case F_PUSH_L: case F_PUSH_C:
        load(c, d.f == F_PUSH_L ? CAP_XK_L : CAP_XK_C, o->a, 0, RAX, &dp);
        put_result(c, 1, 0, &dp);
        break;
    case F_STORE_L:
        load(c, CAP_XK_S, 0, 0, RAX, &dp);
        put_result(c, 0, o->c, &dp);
        break;
    case F_MOV_L: case F_MOV_C:
        load(c, d.f == F_MOV_L ? CAP_XK_L : CAP_XK_C, o->a, 0, RAX, &dp);
        put_result(c, 0, o->c, &dp);
        break;
    case F_SINC: case F_SINC_GOTO:
        add_local(c, o->a, (uint16_t)o->b);
        if (d.f == F_SINC_GOTO) {
            unsigned t = index_of(c, o->p);
            alu64_imm(e, 5, R_BM, o->wt);
            stop_if_out(c, t, dp);
            jump_op(c, t, dp);
            return;
        }
        break;
    case F_POP:
        dp--;
        c->cached = 0;
        break;
    case F_DUP:
        op_rm(e, 0, 0x0FB7, RAX, R_SP, -1, 1, STK(dp - 1));
        put_result(c, 1, 0, &dp);
        break;
    case F_GOTO: {
        unsigned t = index_of(c, o->p);
        alu64_imm(e, 5, R_BM, o->wt);
        stop_if_out(c, t, dp);
        jump_op(c, t, dp);
        return;
    }
    case F_BIN:
        if (d.kb == CAP_XK_C && d.bop != CAP_XB_MUL) {
            /* b as an immediate */
            static const int ext[] = { [CAP_XB_ADD] = 0, [CAP_XB_SUB] = 5, [CAP_XB_AND] = 4, [CAP_XB_OR] = 1,
                                       [CAP_XB_XOR] = 6 };
            load(c, d.ka, o->a, 0, RAX, &dp);
            if (d.bop >= CAP_XB_SHL) {
                op_rr(e, 0, 0x0FBF, RAX, RAX);
                op_rr(e, 0, 0xC1, d.bop == CAP_XB_SHL ? 4 : d.bop == CAP_XB_SHR ? 7 : 5, RAX);
                put(e, (uint8_t)(o->b & 31));
            } else {
                op_rr(e, 0, 0x81, ext[d.bop], RAX);
                put32(e, (uint16_t)o->b);
            }
            put_result(c, d.push, o->c, &dp);
            break;
        }
        load(c, d.kb, o->b, 0, RCX, &dp);
        load(c, d.ka, o->a, 0, RAX, &dp);
        switch (d.bop) {
        case CAP_XB_ADD: op_rr(e, 0, 0x03, RAX, RCX); break;
        case CAP_XB_SUB: op_rr(e, 0, 0x2B, RAX, RCX); break;
        case CAP_XB_MUL: op_rr(e, 0, 0x0FAF, RAX, RCX); break;
        case CAP_XB_AND: op_rr(e, 0, 0x23, RAX, RCX); break;
        case CAP_XB_OR: op_rr(e, 0, 0x0B, RAX, RCX); break;
        case CAP_XB_XOR: op_rr(e, 0, 0x33, RAX, RCX); break;
        default:   /* the shifts: of the sign-extended value, by b & 31 (cl, as the hardware masks it) */
            op_rr(e, 0, 0x0FBF, RAX, RAX);                 /* movsx eax, ax */
            op_rr(e, 0, 0xD3, d.bop == CAP_XB_SHL ? 4 : d.bop == CAP_XB_SHR ? 7 : 5, RAX);
            break;
        }
        put_result(c, d.push, o->c, &dp);
        break;
    case F_CMP:
        if (d.kb == CAP_XK_C) {
            load(c, d.ka, o->a, 0, RAX, &dp);
            alu16_imm(e, 7, RAX, (uint16_t)o->b);           /* cmp ax, b */
            branch(c, i, cc_of[d.cond], dp);
            return;
        }
        load(c, d.kb, o->b, 0, RCX, &dp);
        load(c, d.ka, o->a, 0, RAX, &dp);
        op_rr(e, W16, 0x3B, RAX, RCX);                      /* cmp ax, cx */
        branch(c, i, cc_of[d.cond], dp);
        return;
    case F_ZCMP:
        load(c, d.ka, o->a, 0, RAX, &dp);
        alu16_imm(e, 7, RAX, 0);                            /* cmp ax, 0 */
        branch(c, i, cc_of[d.cond], dp);
        return;
    case F_LOOP_TEST: {
        const cap_xop *hd = o->p;
        unsigned h = index_of(c, hd);
        if (d.sinc)
            add_local(c, o->a, (uint16_t)o->b);
        load(c, CAP_XK_L, o->c, 0, RAX, &dp);
        if (d.kb == CAP_XK_C) {
            alu16_imm(e, 7, RAX, (uint16_t)o->d);
        } else {
            load(c, d.kb, o->d, 0, RCX, &dp);
            op_rr(e, W16, 0x3B, RAX, RCX);
        }
        size_t fall = jcc_fwd(e, cc_of[d.cond] ^ 1);
        alu64_imm(e, 5, R_BM, o->wt);
        stop_if_out(c, h, dp);                              /* ran out: at the head */
        jump_op(c, index_of(c, hd->p), dp);
        land(e, fall);
        alu64_imm(e, 5, R_BM, o->wf);
        stop_if_out(c, h, dp);
        jump_op(c, h + 1, dp);
        return;
    }
    case F_ELEM: case F_ELEMU:
        element(c, i, &d, d0, &dp, 0);
        load_element(c, d.e);
        put_result(c, d.push, o->c, &dp);
        break;
    case F_ECMP: {
        element(c, i, &d, d0, &dp, 0);
        load_element(c, d.e);
        load(c, d.kv, o->c, 0, RCX, &dp);
        if (d.kv == CAP_XK_S)
            op_rr(e, W16, 0x3B, RCX, RAX);                  /* the value under the load first */
        else
            op_rr(e, W16, 0x3B, RAX, RCX);                  /* the element first */
        branch(c, i, cc_of[d.cond], dp);
        return;
    }
    case F_LEAVE:
        jump_exit(c, -1, i, d0);
        return;
    case F_GENERIC:
        load(c, CAP_XK_S, 0, 0, RAX, &dp);
        if (d.bop == 0x4B)
            op_rr(e, 0, 0xF7, 3, RAX);                      /* neg eax */
        else
            op_rr(e, 0, 0x0FBE, RAX, RAX);                  /* movsx eax, al */
        put_result(c, 1, 0, &dp);
        break;
    case F_INSERT: case F_SINK: {
        /* INSERT: the top b words up one, the value under them; SINK:
         * the top word under the b words below it */
        int m = o->b, top = d.f == F_INSERT ? d0 : d0 - 1;
        if (d.f == F_SINK)
            op_rm(e, 0, 0x0FB7, RCX, R_SP, -1, 1, STK(d0 - 1));
        for (int k = top - 1; k >= top - m; k--) {
            op_rm(e, 0, 0x0FB7, RAX, R_SP, -1, 1, STK(k));
            op_rm(e, W16, 0x89, RAX, R_SP, -1, 1, STK(k + 1));
        }
        if (d.f == F_INSERT) {
            load(c, d.ka, o->a, 0, RCX, &dp);
            dp = d0 + 1;
        }
        op_rm(e, W16, 0x89, RCX, R_SP, -1, 1, STK(top - m));
        break;
    }
    case F_DIVC:
        /* the quotient by the multiplier (xdiv.h: (n * mul >> 31) plus
         * the sign bit of n * mul), the remainder n - q * b */
        load(c, d.ka, o->a, o->d, RAX, &dp);
        op_rr(e, W64, 0x0FBF, RDX, RAX);                   /* movsx rdx, ax: n */
        op_rr(e, W64, 0x69, RAX, RDX);                      /* imul rax, rdx, mul */
        put32(e, (uint32_t)o->mul);
        op_rr(e, W64, 0x89, RAX, RCX);                      /* mov rcx, rax */
        op_rr(e, W64, 0xC1, 7, RAX);                        /* sar rax, 31 */
        put(e, 31);
        op_rr(e, W64, 0xC1, 5, RCX);                        /* shr rcx, 63 */
        put(e, 63);
        op_rr(e, 0, 0x03, RAX, RCX);                        /* add eax, ecx: q */
        if (d.bop == CAP_XB_REM) {
            op_rr(e, 0, 0x69, RAX, RAX);                    /* imul eax, eax, b */
            put32(e, (uint32_t)(int32_t)o->b);
            op_rr(e, 0, 0x2B, RDX, RAX);                    /* sub edx, eax */
            op_rr(e, 0, 0x89, RDX, RAX);                    /* mov eax, edx */
        }
        put_result(c, d.push, o->c, &dp);
        break;
    case F_GETFIELD_THIS:
        /* this package's instance (the loop's fast test; any other
         * object, the loop), field b in bounds */
        load_local(c, 0, RDX);
        op_rr(e, 0, 0x0FB7, RDX, RDX);                      /* movzx edx, dx */
        op_rm(e, 0, 0x3B, RDX, R_RT, -1, 1, (int32_t)offsetof(vm_runtime, obj_cap));   /* cmp edx, obj_cap */
        jump_exit(c, CC_AE, i, d0);
        op_rr(e, W64, 0x69, RDX, RDX);                      /* imul rdx, rdx, sizeof (vm_obj) */
        put32(e, (uint32_t)sizeof(vm_obj));
        op_rm(e, W64, 0x8B, R8, R_RT, -1, 1, (int32_t)offsetof(vm_runtime, objs));
        op_rr(e, W64, 0x01, RDX, R8);                       /* add r8, rdx */
        op_rm(e, 0, 0x80, 7, R8, -1, 1, (int32_t)offsetof(vm_obj, kind));
        put(e, VM_OBJ_INSTANCE);
        jump_exit(c, CC_NE, i, d0);
        op_rm(e, 0, 0x0FB6, RAX, R_RT, -1, 1, (int32_t)offsetof(vm_runtime, ctx));    /* movzx eax, ctx */
        op_rm(e, 0, 0x3A, RAX, R8, -1, 1, (int32_t)offsetof(vm_obj, pkg));            /* cmp al, pkg */
        jump_exit(c, CC_NE, i, d0);
        alu16_mem_imm(e, 7, R8, (int32_t)offsetof(vm_obj, length), (uint16_t)o->b);   /* cmp length, b */
        jump_exit(c, CC_BE, i, d0);
        op_rm(e, W64, 0x8B, R9, R8, -1, 1, (int32_t)offsetof(vm_obj, data));
        op_rm(e, 0, 0x0FB7, RAX, R9, -1, 1, 2 * (int32_t)(uint16_t)o->b);
        op_rr(e, W16, 0xC1, 0, RAX);
        put(e, 8);
        if (o->a == 1)
            op_rr(e, 0, 0x0FBE, RAX, RAX);                  /* movsx eax, al: a byte field */
        put_result(c, 1, 0, &dp);
        break;
    case F_ARRAYLENGTH:
        spill(c);
        op_rr(e, W64, 0x89, R_RT, RDI);
        if (d.ka == CAP_XA_S)
            op_rm(e, 0, 0x0FB7, RSI, R_SP, -1, 1, STK(--dp));
        else
            op_rm(e, 0, 0x0FB7, RSI, R_LV, -1, 1, LOC(o->a));
        mov_imm32(e, RDX, 0);
        mov_imm32(e, RCX, 0);
        mov_imm64(e, RAX, (uint64_t)(uintptr_t)&cap_jit_array);
        op_rr(e, 0, 0xFF, 2, RAX);
        reload(c);
        op_rr(e, W64, 0x85, RAX, RAX);
        jump_exit(c, CC_E, i, d0);
        op_rm(e, 0, 0x0FB7, RAX, RAX, -1, 1, (int32_t)offsetof(vm_obj, length));
        put_result(c, 1, 0, &dp);
        break;
    case F_STORE: {
        int dv = dp;   /* the value is the top: popped first */
        if (d.kv == CAP_XK_S)
            dp--;
        element(c, i, &d, d0, &dp, 1);
        /* persistent or sensitive: the NVM store, in the loop */
        op_rm(e, 0, 0xF6, 0, R8, -1, 1, (int32_t)offsetof(vm_obj, flags));
        put(e, VM_OF_PERSISTENT | VM_OF_SENSITIVE);
        jump_exit(c, CC_NE, i, d0);
        load(c, d.kv, o->c, 0, RAX, &dv);
        if (d.e == 1) {
            op_rr(e, W16, 0xC1, 0, RAX);
            put(e, 8);
            op_rm(e, W16, 0x89, RAX, R9, RDX, 2, 0);       /* mov [r9 + 2 rdx], ax */
        } else {
            op_rm(e, 0, 0x80, 7, R8, -1, 1, (int32_t)offsetof(vm_obj, kind));   /* cmp byte kind, BOOLS */
            put(e, VM_OBJ_BOOLS);
            size_t notb = jcc_fwd(e, CC_NE);
            op_rr(e, 0, 0x83, 4, RAX);                      /* and eax, 1 */
            put(e, 1);
            land(e, notb);
            op_rm(e, 0, 0x88, RAX, R9, RDX, 1, 0);          /* mov [r9 + rdx], al */
        }
        break;
    }
    default:
        c->fail = 1;
        return;
    }
    if (!in_region(c, i + 1))
        jump_exit(c, -1, i + 1, dp);
    else if (c->target[i + 1 - c->first])
        flush(c);
}

/* count a use of local l */
static void use(unsigned *n, int16_t l)
{
    n[(uint8_t)l]++;
}

/* The locals the region's reachable ops name most often (two uses at
 * least) get the local registers. */
static void choose_registers(jc *c)
{
    unsigned n[256];
    memset(n, 0, sizeof n);
    for (unsigned i = c->first; i < c->end; i++) {
        if (c->depth[i - c->first] == NO_DEPTH)
            continue;
        const cap_xop *o = &c->xm->ops[i];
        dec d = decode_op(o);
        switch (d.f) {
        case F_PUSH_L: use(n, o->a); break;
        case F_STORE_L: case F_MOV_C: use(n, o->c); break;
        case F_MOV_L: use(n, o->a); use(n, o->c); break;
        case F_SINC: case F_SINC_GOTO: use(n, o->a); break;
        case F_BIN:
            if (d.ka == CAP_XK_L) use(n, o->a);
            if (d.kb == CAP_XK_L) use(n, o->b);
            if (!d.push) use(n, o->c);
            break;
        case F_CMP:
            if (d.ka == CAP_XK_L) use(n, o->a);
            if (d.kb == CAP_XK_L) use(n, o->b);
            break;
        case F_ZCMP: if (d.ka == CAP_XK_L) use(n, o->a); break;
        case F_ELEM: case F_ELEMU: case F_STORE: case F_ECMP:
            if (d.kb == CAP_XK_L || d.kb == CAP_XK_LL || d.kb == CAP_XK_LC) use(n, o->b);
            if (d.kb == CAP_XK_LL) use(n, o->d);
            if ((d.f == F_ELEM || d.f == F_ELEMU) && !d.push) use(n, o->c);
            if ((d.f == F_STORE || d.f == F_ECMP) && d.kv == CAP_XK_L) use(n, o->c);
            break;
        case F_LOOP_TEST:
            if (d.sinc) use(n, o->a);
            use(n, o->c);
            if (d.kb == CAP_XK_L) use(n, o->d);
            break;
        case F_DIVC:
            if (d.ka == CAP_XK_L || d.ka == CAP_XK_LL || d.ka == CAP_XK_LC) use(n, o->a);
            if (d.ka == CAP_XK_LL) use(n, o->d);
            if (!d.push) use(n, o->c);
            break;
        default: break;
        }
    }
    memset(c->regof, -1, sizeof c->regof);
    c->nlreg = 0;
    while (c->nlreg < 4) {
        unsigned best = 0;
        for (unsigned l = 1; l < 256; l++)
            if (n[l] > n[best])
                best = l;
        if (n[best] < 2)
            break;
        c->regof[best] = (int8_t)local_regs[c->nlreg];
        c->lreg_local[c->nlreg++] = (int)best;
        n[best] = 0;
    }
}

/* One region (ops first .. end) into c->e: the entry's offset, or -1. */
static long compile_region(jc *c)
{
    emitter *e = &c->e;
    unsigned n = c->end - c->first;
    c->depth = malloc(n * sizeof *c->depth);
    c->code_at = malloc(n * sizeof *c->code_at);
    c->target = malloc(n);
    c->nfix = c->nexit = c->ncold = 0;
    c->fail = 0;
    c->cached = 0;
    long entry = -1;
    size_t start = e->n;
    if (!c->depth || !c->code_at || !c->target || depths(c) != 0)
        goto done;
    choose_registers(c);
    entry = (long)e->n;
    static const int saved[] = { RBP, RBX, R12, R13, R14, R15 };
    for (int k = 0; k < 6; k++)
        push_r(e, saved[k]);
    alu64_imm(e, 5, RSP, 8);   /* calls need rsp 16-aligned */
    op_rr(e, W64, 0x89, RDI, R_FRAME);
    op_rm(e, W64, 0x8B, R_LV, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, lv));
    op_rm(e, W64, 0x8B, R_SP, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, sp));
    op_rm(e, W64, 0x8B, R_BM, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, bm1));
    op_rm(e, W64, 0x8B, R_AC, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, ac));
    op_rm(e, W64, 0x8B, R_RT, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, rt));
    reload(c);
    for (unsigned i = c->first; i < c->end && !c->fail && !e->oom; i++) {
        c->code_at[i - c->first] = e->n;
        if (c->depth[i - c->first] == NO_DEPTH) {   /* unreachable */
            put(e, 0x0F);
            put(e, 0x0B);   /* ud2 */
            continue;
        }
        compile_op(c, i);
        if (c->depth[i - c->first] != NO_DEPTH && i + 1 < c->end && c->target[i + 1 - c->first])
            c->cached = 0;   /* flushed or never set on every way in */
    }
    cold_paths(c);
    /* the epilogue, then the exits (sp at the way out's depth, the op) that
     * jump back to it */
    size_t epilogue = e->n;
    op_rm(e, W64, 0x89, R_BM, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, bm1));
    alu64_imm(e, 0, RSP, 8);
    for (int k = 6; k-- > 0;)
        pop_r(e, saved[k]);
    put(e, 0xC3);
    size_t *exit_at = malloc((c->nexit ? c->nexit : 1) * sizeof *exit_at);
    if (!exit_at) {
        e->oom = 1;
        goto done;
    }
    for (unsigned k = 0; k < c->nexit && !e->oom; k++) {
        exit_at[k] = e->n;
        spill(c);
        if (c->exits[k].budget)
            op_rm(e, 0, 0xC7, 0, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, stop)), put32(e, 1);   /* mov dword stop, 1 */
        op_rm(e, W64, 0x8D, RAX, R_SP, -1, 1, STK(c->exits[k].depth));      /* lea rax, [sp + d] */
        op_rm(e, W64, 0x89, RAX, R_FRAME, -1, 1, (int32_t)offsetof(cap_jit_frame, sp));
        mov_imm64(e, RAX, (uint64_t)(uintptr_t)&c->xm->ops[c->exits[k].op]);
        jmp_back(e, epilogue);
    }
    for (unsigned k = 0; k < c->nfix && !e->oom; k++) {
        const fixup *f = &c->fix[k];
        size_t to = f->kind == FIX_OP ? c->code_at[f->target - c->first] : exit_at[f->target];
        patch32(e, f->at, (uint32_t)(to - (f->at + 4)));
    }
    free(exit_at);
done:
    if (c->fail || e->oom || entry < 0) {
        e->n = start;   /* nothing of this region */
        entry = -1;
    }
    free(c->depth);
    free(c->code_at);
    free(c->target);
    c->depth = NULL;
    c->code_at = NULL;
    c->target = NULL;
    return entry;
}

int cap_jit_method(cap_xmethod *xm)
{
    if (xm->native)
        return 0;
    jc c;
    memset(&c, 0, sizeof c);
    c.xm = xm;
    unsigned nreg = 0;
    long *entry = calloc(xm->nops ? xm->nops : 1, sizeof *entry);
    if (!entry)
        return VM_ERR_NOMEM;
    for (unsigned i = 0; i < xm->nops; i++) {
        entry[i] = -1;
        const cap_xop *o = &xm->ops[i];
        if (o->id != CAP_X_LOOP_ENTER || o->ti <= i + 1 || o->ti > xm->nops)
            continue;
        c.first = i + 1;
        c.end = o->ti;
        entry[i] = compile_region(&c);
        nreg += entry[i] >= 0;
    }
    int rc = c.e.oom ? VM_ERR_NOMEM : 0;
    if (nreg && !c.e.oom) {
        long page = sysconf(_SC_PAGESIZE);
        size_t len = (c.e.n + (size_t)page - 1) / (size_t)page * (size_t)page;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            rc = VM_ERR_NOMEM;
        } else {
            memcpy(m, c.e.b, c.e.n);
            if (mprotect(m, len, PROT_READ | PROT_EXEC) != 0) {
                munmap(m, len);
                rc = VM_ERR_NOMEM;
            } else {
                xm->native = m;
                xm->native_len = len;
                for (unsigned i = 0; i < xm->nops; i++)
                    if (entry[i] >= 0)
                        xm->ops[i].p = (const uint8_t *)m + entry[i];   /* cap_jit_entry_of reads it */
            }
        }
    }
    free(entry);
    free(c.e.b);
    free(c.fix);
    free(c.exits);
    free(c.cold);
    return rc;
}

void cap_jit_free(cap_xmethod *xm)
{
    if (xm->native)
        munmap(xm->native, xm->native_len);
    xm->native = NULL;
    xm->native_len = 0;
}

#else /* no code generator for this host: every region stays in the loop */

int cap_jit_available(void)
{
    return 0;
}

int cap_jit_method(cap_xmethod *xm)
{
    (void)xm;
    return 0;
}

void cap_jit_free(cap_xmethod *xm)
{
    xm->native = NULL;
    xm->native_len = 0;
}

#endif
