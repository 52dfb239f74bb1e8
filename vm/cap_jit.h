/*
 * cap_jit — machine code for the loop regions of translated CAP methods.
 *
 * A loop region (cap_xlat.c, "loop region") is a loop nest with one
 * entry, no call and no exception handler, entered through its
 * CAP_X_LOOP_ENTER op. When every op of a region is one this module knows
 * (moves, the binops but division, compares and loop tests, element loads
 * and stores, ECMP), the region is compiled to x86-64 code at the
 * method's first run, and the entry op's `p` points to it. Other hosts,
 * other regions and a runtime whose vm_config.native is 0 keep the
 * dispatch loop.
 *
 * What the code does is what the ops do, in the same frame: locals and
 * the operand stack stay in the frame's words (lv, sp) at every op
 * boundary, and the budget (bm1) is charged and tested where TAKE, FALL
 * and the loop tests charge and test it. The code runs the fast path of
 * each op only. Whatever an op would do on a slow path — an exception, a
 * persistent or sensitive array store (NVM, transactions, tearing), a
 * jump out of the region, a budget that runs out — leaves the code before
 * the op has changed anything, and the dispatch loop goes on from that op
 * (or, out of budget, stops there): so exceptions, their pcs, the NVM
 * writes and the budget's stop points are the loop's own.
 *
 * The generated code is a function of one argument (System V ABI):
 *
 *     const cap_xop *entry(cap_jit_frame *f);
 *
 * returning the op where the dispatch loop goes on, with f->sp and
 * f->bm1 updated. Registers: rbx f, r12 sp at entry, r13 lv, r14 bm1,
 * r15 the array cache, rbp the runtime; the operand stack's depth is
 * known at every op (the verifier's), so stack words are addressed from
 * r12 and sp is written only on leaving.
 *
 * Memory: one mapping per method (its regions' code), written, then made
 * read-and-execute (never writable and executable at once), unmapped by
 * cap_jit_free. Nothing global: each runtime's packages own their code.
 */
#ifndef CARDVM_CAP_JIT_H
#define CARDVM_CAP_JIT_H

#include <stdint.h>

struct vm_runtime;
struct vm_obj;
struct cap_xop;
struct cap_xmethod;

typedef struct cap_jit_frame {
    uint16_t *lv;                   /* the frame's locals */
    uint16_t *sp;                   /* in: at the region's entry; out: at the op returned */
    int64_t bm1;                    /* the budget less one (run()'s bm1) */
    struct vm_obj **ac;             /* the region's checked arrays (run()'s ac, CAP_X_SLOTS) */
    const struct vm_obj *ac_none;   /* what an unchecked slot holds */
    struct vm_runtime *rt;
    int32_t stop;                   /* out: 1 when the budget ran out at the op returned */
} cap_jit_frame;

typedef const struct cap_xop *(*cap_jit_entry)(cap_jit_frame *f);

/* 1 when this host has a code generator (x86-64, System V). */
int cap_jit_available(void);

/* Compile every region of a translated method whose ops are all known;
 * sets each compiled region's entry op's native entry. 0, or
 * VM_ERR_NOMEM (nothing compiled, the method runs as before). */
int cap_jit_method(struct cap_xmethod *xm);

/* The native entry of a CAP_X_LOOP_ENTER op, NULL when it has none. */
cap_jit_entry cap_jit_entry_of(const struct cap_xop *enter);

/* Unmap a method's code. */
void cap_jit_free(struct cap_xmethod *xm);

/* Called by the generated code (never elsewhere): the array with handle
 * h for an element op of kind k0 (VM_OBJ_BYTES / VM_OBJ_SHORTS), as
 * run()'s ARRAY_K accepts it, else NULL (the op then runs in the loop,
 * which throws). apdu_store: a byte store, which takes the APDU buffer
 * without the kind and context tests (run()'s APDU_STORE_B). */
struct vm_obj *cap_jit_array(struct vm_runtime *rt, uint32_t h, uint32_t k0, uint32_t apdu_store);

#endif
