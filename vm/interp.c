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
 * Registers of the loop: pc (current instruction), sp (next free stack
 * word), lv (locals of the current frame), f (current frame). Stack words
 * are uint16_t; arithmetic is done in 32 bits and truncated, which gives
 * Java Card's wrap-around semantics for short.
 *
 * Dispatch: with GCC/Clang, a table of label addresses (computed goto), one
 * indirect jump per instruction at the end of each handler; otherwise a
 * switch in a loop. The budget is decremented per instruction and tested
 * at taken branches and calls: every runaway program passes there.
 */
#include <string.h>

#include "natives.h"
#include "opcodes.h"
#include "vm_internal.h"

#if defined(__GNUC__)
#define VM_COMPUTED_GOTO 1
#else
#define VM_COMPUTED_GOTO 0
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

int vm_run(vm_runtime *rt, const vm_lpkg *P, uint16_t method, const uint16_t *args, unsigned nargs,
           uint16_t *ret)
{
#if VM_COMPUTED_GOTO
    /* Unknown opcodes first, then each known one overrides its slot. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
    static const void *const disp[256] = {
        [0 ... 255] = &&L_illegal,
#define VM_LABEL(name, code, fmt, pop, push) [code] = &&L_##name,
        VM_OPCODES(VM_LABEL)
#undef VM_LABEL
    };
#pragma GCC diagnostic pop
#define vmdispatch()  goto *disp[*pc];
#define vmcase(name)  L_##name:
#define vmdefault     L_illegal:
#define vmbreak       budget--; goto *disp[*pc]
#else
#define vmdispatch()  switch (*pc)
#define vmcase(name)  case OP_##name:
#define vmdefault     default:
#define vmbreak       budget--; break
#endif

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
    const uint8_t *pc;
    uint16_t *sp, *lv;
    uint16_t exc = 0;
    int rc, result = VM_RUN_DONE;

#define RELOAD() (objs = rt->objs, ncap = rt->obj_cap)
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
#define BRANCH1(cond) { if (cond) { pc += (int8_t)pc[1]; if (budget <= 0) goto out_of_budget; } else pc += 2; vmbreak; }
#define BRANCH2(cond) { if (cond) { pc += (int16_t)vm_rd16(pc + 1); if (budget <= 0) goto out_of_budget; } else pc += 3; vmbreak; }

    /* Entry frame: the arguments become the first locals. */
    if (callee->nargs + callee->max_locals + callee->max_stack > rt->cfg.stack_slots || nargs != callee->nargs) {
        rc = vm_set_reason(rt, VM_SC_StackOverflowError, 0);
        exc = (uint16_t)(VM_H_EXC_FIRST + (rc - VM_SC_FIRST_THROWABLE));
        rt->uncaught = exc;
        return VM_RUN_THROWN;
    }
    lv = rt->stack;
    for (unsigned i = 0; i < nargs; i++)
        lv[i] = args[i];
    for (unsigned i = nargs; i < (unsigned)callee->nargs + callee->max_locals; i++)
        lv[i] = 0;
    f->m = callee;
    f->code = callee->code;
    f->lv = lv;
    f->base = lv + callee->nargs + callee->max_locals;
    f->pkg = P;
    sp = f->base;
    pc = callee->code;

loop:
    for (;;) {
        vmdispatch() {
        vmcase(nop) { pc += 1; vmbreak; }

        /* ---- constants ---- */
        vmcase(aconst_null) { *sp++ = 0; pc += 1; vmbreak; }
        vmcase(sconst_m1) { *sp++ = 0xFFFF; pc += 1; vmbreak; }
        vmcase(sconst_0) { *sp++ = 0; pc += 1; vmbreak; }
        vmcase(sconst_1) { *sp++ = 1; pc += 1; vmbreak; }
        vmcase(sconst_2) { *sp++ = 2; pc += 1; vmbreak; }
        vmcase(sconst_3) { *sp++ = 3; pc += 1; vmbreak; }
        vmcase(sconst_4) { *sp++ = 4; pc += 1; vmbreak; }
        vmcase(sconst_5) { *sp++ = 5; pc += 1; vmbreak; }
        vmcase(bspush) { *sp++ = (uint16_t)(int16_t)(int8_t)pc[1]; pc += 2; vmbreak; }
        vmcase(sspush) { *sp++ = vm_rd16(pc + 1); pc += 3; vmbreak; }

        /* ---- locals ---- */
        vmcase(aload)
        vmcase(sload) { *sp++ = lv[pc[1]]; pc += 2; vmbreak; }
        vmcase(aload_0)
        vmcase(sload_0) { *sp++ = lv[0]; pc += 1; vmbreak; }
        vmcase(aload_1)
        vmcase(sload_1) { *sp++ = lv[1]; pc += 1; vmbreak; }
        vmcase(aload_2)
        vmcase(sload_2) { *sp++ = lv[2]; pc += 1; vmbreak; }
        vmcase(aload_3)
        vmcase(sload_3) { *sp++ = lv[3]; pc += 1; vmbreak; }
        vmcase(astore)
        vmcase(sstore) { lv[pc[1]] = *--sp; pc += 2; vmbreak; }
        vmcase(astore_0)
        vmcase(sstore_0) { lv[0] = *--sp; pc += 1; vmbreak; }
        vmcase(astore_1)
        vmcase(sstore_1) { lv[1] = *--sp; pc += 1; vmbreak; }
        vmcase(astore_2)
        vmcase(sstore_2) { lv[2] = *--sp; pc += 1; vmbreak; }
        vmcase(astore_3)
        vmcase(sstore_3) { lv[3] = *--sp; pc += 1; vmbreak; }
        vmcase(sinc) { lv[pc[1]] = (uint16_t)(lv[pc[1]] + (int8_t)pc[2]); pc += 3; vmbreak; }
        vmcase(sinc_w) { lv[pc[1]] = (uint16_t)(lv[pc[1]] + vm_rd16(pc + 2)); pc += 4; vmbreak; }

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
            pc += 1;
            vmbreak;
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
            pc += 1;
            vmbreak;
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
            pc += 1;
            vmbreak;
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
            pc += 1;
            vmbreak;
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
            pc += 1;
            vmbreak;
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
            pc += 1;
            vmbreak;
        }
        vmcase(arraylength) {
            vm_obj *o;
            DEREF(o, sp[-1]);
            if (o->kind < VM_OBJ_BYTES || o->kind > VM_OBJ_REFS)
                THROW(VM_SC_SecurityException);
            sp[-1] = o->length;
            pc += 1;
            vmbreak;
        }
        vmcase(newarray) {
            int16_t n = (int16_t)sp[-1];
            uint8_t kind = pc[1] == VM_T_SHORT ? VM_OBJ_SHORTS : pc[1] == VM_T_BYTE ? VM_OBJ_BYTES : VM_OBJ_BOOLS;
            uint16_t h;
            if (n < 0)
                THROW(VM_SC_NegativeArraySizeException);
            CHECK(vm_alloc(rt, kind, VM_OF_PERSISTENT, 0, (uint16_t)n,
                           (uint32_t)n * (kind == VM_OBJ_SHORTS ? 2u : 1u), 0, &h))
            RELOAD();
            sp[-1] = h;
            pc += 2;
            vmbreak;
        }
        vmcase(anewarray) {
            int16_t n = (int16_t)sp[-1];
            uint16_t h;
            if (n < 0)
                THROW(VM_SC_NegativeArraySizeException);
            CHECK(vm_alloc(rt, VM_OBJ_REFS, VM_OF_PERSISTENT, cpr[vm_rd16(pc + 1)].a, (uint16_t)n, 2u * (uint32_t)n,
                           0, &h))
            RELOAD();
            sp[-1] = h;
            pc += 3;
            vmbreak;
        }

        /* ---- stack ---- */
        vmcase(pop) { sp--; pc += 1; vmbreak; }
        vmcase(pop2) { sp -= 2; pc += 1; vmbreak; }
        vmcase(dup) { sp[0] = sp[-1]; sp++; pc += 1; vmbreak; }
        vmcase(dup2) { sp[0] = sp[-2]; sp[1] = sp[-1]; sp += 2; pc += 1; vmbreak; }
        vmcase(dup_x) {
            /* Duplicate the top m words and insert the copy n words down
             * (n == 0: on top). */
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
            pc += 2;
            vmbreak;
        }
        vmcase(swap_x) {
            /* Swap the top m words with the n words below them. */
            unsigned m = pc[1] >> 4, n = pc[1] & 15;
            uint16_t tmp[2];
            memcpy(tmp, sp - m, m * sizeof *sp);
            memmove(sp - n, sp - m - n, n * sizeof *sp);
            memcpy(sp - m - n, tmp, m * sizeof *sp);
            pc += 2;
            vmbreak;
        }

        /* ---- arithmetic (16-bit, wrapping) ---- */
        vmcase(sadd) { sp[-2] = (uint16_t)(sp[-2] + sp[-1]); sp--; pc += 1; vmbreak; }
        vmcase(ssub) { sp[-2] = (uint16_t)(sp[-2] - sp[-1]); sp--; pc += 1; vmbreak; }
        vmcase(smul) { sp[-2] = (uint16_t)((uint32_t)sp[-2] * sp[-1]); sp--; pc += 1; vmbreak; }
        vmcase(sdiv) {
            int32_t a = (int16_t)sp[-2], b = (int16_t)sp[-1];
            if (b == 0)
                THROW(VM_SC_ArithmeticException);
            sp[-2] = (uint16_t)(a / b);   /* -32768 / -1 = 32768 wraps to -32768 */
            sp--;
            pc += 1;
            vmbreak;
        }
        vmcase(srem) {
            int32_t a = (int16_t)sp[-2], b = (int16_t)sp[-1];
            if (b == 0)
                THROW(VM_SC_ArithmeticException);
            sp[-2] = (uint16_t)(a % b);
            sp--;
            pc += 1;
            vmbreak;
        }
        vmcase(sneg) { sp[-1] = (uint16_t)(0u - sp[-1]); pc += 1; vmbreak; }
        /* Shifts use the low 5 bits of the count, on the value widened to
         * 32 bits, then truncate: so sshl by 16..31 gives 0 and sushr of a
         * negative short keeps its high bits (Java Card semantics). */
        vmcase(sshl) {
            sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] << (sp[-1] & 31));
            sp--;
            pc += 1;
            vmbreak;
        }
        vmcase(sshr) {
            sp[-2] = (uint16_t)((int32_t)(int16_t)sp[-2] >> (sp[-1] & 31));
            sp--;
            pc += 1;
            vmbreak;
        }
        vmcase(sushr) {
            sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] >> (sp[-1] & 31));
            sp--;
            pc += 1;
            vmbreak;
        }
        vmcase(sand) { sp[-2] &= sp[-1]; sp--; pc += 1; vmbreak; }
        vmcase(sor) { sp[-2] |= sp[-1]; sp--; pc += 1; vmbreak; }
        vmcase(sxor) { sp[-2] ^= sp[-1]; sp--; pc += 1; vmbreak; }
        vmcase(s2b) { sp[-1] = (uint16_t)(int16_t)(int8_t)(uint8_t)sp[-1]; pc += 1; vmbreak; }

        /* ---- branches (offsets from the opcode) ---- */
        vmcase(ifeq) { sp--; BRANCH1((int16_t)*sp == 0) }
        vmcase(ifne) { sp--; BRANCH1((int16_t)*sp != 0) }
        vmcase(iflt) { sp--; BRANCH1((int16_t)*sp < 0) }
        vmcase(ifge) { sp--; BRANCH1((int16_t)*sp >= 0) }
        vmcase(ifgt) { sp--; BRANCH1((int16_t)*sp > 0) }
        vmcase(ifle) { sp--; BRANCH1((int16_t)*sp <= 0) }
        vmcase(ifnull) { sp--; BRANCH1(*sp == 0) }
        vmcase(ifnonnull) { sp--; BRANCH1(*sp != 0) }
        vmcase(if_acmpeq) { sp -= 2; BRANCH1(sp[0] == sp[1]) }
        vmcase(if_acmpne) { sp -= 2; BRANCH1(sp[0] != sp[1]) }
        vmcase(if_scmpeq) { sp -= 2; BRANCH1(sp[0] == sp[1]) }
        vmcase(if_scmpne) { sp -= 2; BRANCH1(sp[0] != sp[1]) }
        vmcase(if_scmplt) { sp -= 2; BRANCH1((int16_t)sp[0] < (int16_t)sp[1]) }
        vmcase(if_scmpge) { sp -= 2; BRANCH1((int16_t)sp[0] >= (int16_t)sp[1]) }
        vmcase(if_scmpgt) { sp -= 2; BRANCH1((int16_t)sp[0] > (int16_t)sp[1]) }
        vmcase(if_scmple) { sp -= 2; BRANCH1((int16_t)sp[0] <= (int16_t)sp[1]) }
        vmcase(goto) { BRANCH1(1) }
        vmcase(ifeq_w) { sp--; BRANCH2((int16_t)*sp == 0) }
        vmcase(ifne_w) { sp--; BRANCH2((int16_t)*sp != 0) }
        vmcase(iflt_w) { sp--; BRANCH2((int16_t)*sp < 0) }
        vmcase(ifge_w) { sp--; BRANCH2((int16_t)*sp >= 0) }
        vmcase(ifgt_w) { sp--; BRANCH2((int16_t)*sp > 0) }
        vmcase(ifle_w) { sp--; BRANCH2((int16_t)*sp <= 0) }
        vmcase(ifnull_w) { sp--; BRANCH2(*sp == 0) }
        vmcase(ifnonnull_w) { sp--; BRANCH2(*sp != 0) }
        vmcase(if_acmpeq_w) { sp -= 2; BRANCH2(sp[0] == sp[1]) }
        vmcase(if_acmpne_w) { sp -= 2; BRANCH2(sp[0] != sp[1]) }
        vmcase(if_scmpeq_w) { sp -= 2; BRANCH2(sp[0] == sp[1]) }
        vmcase(if_scmpne_w) { sp -= 2; BRANCH2(sp[0] != sp[1]) }
        vmcase(if_scmplt_w) { sp -= 2; BRANCH2((int16_t)sp[0] < (int16_t)sp[1]) }
        vmcase(if_scmpge_w) { sp -= 2; BRANCH2((int16_t)sp[0] >= (int16_t)sp[1]) }
        vmcase(if_scmpgt_w) { sp -= 2; BRANCH2((int16_t)sp[0] > (int16_t)sp[1]) }
        vmcase(if_scmple_w) { sp -= 2; BRANCH2((int16_t)sp[0] <= (int16_t)sp[1]) }
        vmcase(goto_w) { BRANCH2(1) }
        vmcase(stableswitch) {
            int16_t key = (int16_t)*--sp;
            int16_t lo = (int16_t)vm_rd16(pc + 3), hi = (int16_t)vm_rd16(pc + 5);
            const uint8_t *off = (key < lo || key > hi) ? pc + 1 : pc + 7 + 2 * (key - lo);
            pc += (int16_t)vm_rd16(off);
            if (budget <= 0)
                goto out_of_budget;
            vmbreak;
        }
        vmcase(slookupswitch) {
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
            pc += (int16_t)vm_rd16(off);
            if (budget <= 0)
                goto out_of_budget;
            vmbreak;
        }

        /* ---- fields ---- */
        vmcase(getstatic_a)
        vmcase(getstatic_b)
        vmcase(getstatic_s) {
            *sp++ = vm_rd16(statics + 2u * cpr[vm_rd16(pc + 1)].a);
            pc += 3;
            vmbreak;
        }
        vmcase(putstatic_a)
        vmcase(putstatic_s) {
            uint8_t w[2];
            vm_wr16(w, *--sp);
            CHECK(vm_nvm_store(rt, P->statics_off + 2u * cpr[vm_rd16(pc + 1)].a, w, 2, 1))
            pc += 3;
            vmbreak;
        }
        vmcase(putstatic_b) {
            uint8_t w[2];
            vm_wr16(w, (uint16_t)(int16_t)(int8_t)(uint8_t)*--sp);
            CHECK(vm_nvm_store(rt, P->statics_off + 2u * cpr[vm_rd16(pc + 1)].a, w, 2, 1))
            pc += 3;
            vmbreak;
        }
#define GETFIELD(objh, idx, len)                                                 \
    {                                                                            \
        vm_obj *o;                                                               \
        DEREF(o, objh);                                                          \
        unsigned slot = cpr[idx].b;                                              \
        if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)                     \
            THROW(VM_SC_SecurityException);                                      \
        *sp++ = vm_rd16(o->data + 2u * slot);                                    \
        pc += (len);                                                             \
        vmbreak;                                                                 \
    }
#define PUTFIELD(objh, idx, len, value)                                          \
    {                                                                            \
        vm_obj *o;                                                               \
        DEREF(o, objh);                                                          \
        unsigned slot = cpr[idx].b;                                              \
        uint8_t w[2];                                                            \
        if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)                     \
            THROW(VM_SC_SecurityException);                                      \
        vm_wr16(w, (value));                                                     \
        CHECK(vm_obj_store(rt, o, 2u * slot, w, 2, 1))                           \
        pc += (len);                                                             \
        vmbreak;                                                                 \
    }
#define AS_BYTE(v) ((uint16_t)(int16_t)(int8_t)(uint8_t)(v))
        vmcase(getfield_a)
        vmcase(getfield_b)
        vmcase(getfield_s) { sp--; GETFIELD(*sp, pc[1], 2) }
        vmcase(getfield_a_w)
        vmcase(getfield_b_w)
        vmcase(getfield_s_w) { sp--; GETFIELD(*sp, vm_rd16(pc + 1), 3) }
        vmcase(getfield_a_this)
        vmcase(getfield_b_this)
        vmcase(getfield_s_this) GETFIELD(lv[0], pc[1], 2)
        vmcase(putfield_a)
        vmcase(putfield_s) { sp -= 2; PUTFIELD(sp[0], pc[1], 2, sp[1]) }
        vmcase(putfield_b) { sp -= 2; PUTFIELD(sp[0], pc[1], 2, AS_BYTE(sp[1])) }
        vmcase(putfield_a_w)
        vmcase(putfield_s_w) { sp -= 2; PUTFIELD(sp[0], vm_rd16(pc + 1), 3, sp[1]) }
        vmcase(putfield_b_w) { sp -= 2; PUTFIELD(sp[0], vm_rd16(pc + 1), 3, AS_BYTE(sp[1])) }
        vmcase(putfield_a_this)
        vmcase(putfield_s_this) { sp -= 1; PUTFIELD(lv[0], pc[1], 2, sp[0]) }
        vmcase(putfield_b_this) { sp -= 1; PUTFIELD(lv[0], pc[1], 2, AS_BYTE(sp[0])) }

        /* ---- objects ---- */
        vmcase(new) {
            uint16_t cls = cpr[vm_rd16(pc + 1)].a, h;
            CHECK(vm_alloc(rt, VM_OBJ_INSTANCE, VM_OF_PERSISTENT, cls, classes[cls].field_count,
                           2u * classes[cls].field_count, 0, &h))
            RELOAD();
            *sp++ = h;
            pc += 3;
            vmbreak;
        }
        vmcase(checkcast) {
            if (sp[-1] != 0) {
                vm_obj *o;
                DEREF(o, sp[-1]);
                uint16_t idx = vm_rd16(pc + 2);
                if (!cast_ok(rt, P, o, pc[1], (pc[1] == VM_T_CLASS || pc[1] == VM_T_REFERENCE) ? cpr[idx].a : 0))
                    THROW(VM_SC_ClassCastException);
            }
            pc += 4;
            vmbreak;
        }
        vmcase(instanceof) {
            if (sp[-1] != 0) {
                vm_obj *o;
                DEREF(o, sp[-1]);
                uint16_t idx = vm_rd16(pc + 2);
                sp[-1] = (uint16_t)cast_ok(rt, P, o, pc[1], (pc[1] == VM_T_CLASS || pc[1] == VM_T_REFERENCE) ? cpr[idx].a : 0);
            }
            pc += 4;
            vmbreak;
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
            const vm_cpr *e = &cpr[vm_rd16(pc + 1)];
            if (e->tag == VM_CP_NATIVE) {
                uint16_t r = 0;
                sp -= e->b;
                f->pc = pc;
                if (e->a >= VM_EXT_TOKEN_FIRST)
                    rc = call_extension(rt, P, e->a, sp, e->b, &r);
                else
                    rc = vm_native(rt, e->a, sp, &r);
                RELOAD();
                if (rc)
                    goto throw_rc;
                if (e->c)
                    *sp++ = r;
                pc += 3;
                vmbreak;
            }
            callee = &methods[e->a];
            goto do_call;
        }
        vmcase(invokespecial) {
            callee = &methods[cpr[vm_rd16(pc + 1)].a];
            if (sp[-(int)callee->nargs] == 0)
                THROW(VM_SC_NullPointerException);
            goto do_call;
        }
        vmcase(invokevirtual) {
            const vm_cpr *e = &cpr[vm_rd16(pc + 1)];
            const vm_method *expect = &methods[e->c];
            vm_obj *o;
            DEREF(o, sp[-(int)expect->nargs]);
            if (o->kind != VM_OBJ_INSTANCE || o->cls >= P->pkg.class_count ||
                e->b >= classes[o->cls].vtable_count)
                THROW(VM_SC_SecurityException);
            callee = &methods[vm_rd16(classes[o->cls].vtable + 2u * e->b)];
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
            pc = f->pc + 3;
            vmbreak;
        }
        vmcase(return) {
            if (f == f0)
                goto done;
            sp = f->lv;
            f--;
            lv = f->lv;
            pc = f->pc + 3;
            vmbreak;
        }

        vmdefault {
            /* Unreachable for verified code. */
            THROW(VM_SC_SecurityException);
        }
        }
    }

do_call: {
        /* The arguments on the caller's stack become the callee's first
         * locals; its other locals are zeroed and its stack follows. */
        uint16_t *nlv = sp - callee->nargs;
        uint16_t *nbase = nlv + callee->nargs + callee->max_locals;
        if (f + 1 >= f_end || nbase + callee->max_stack > stack_end)
            THROW(VM_SC_StackOverflowError);
        for (uint16_t *q = sp; q < nbase; q++)
            *q = 0;
        f->pc = pc;
        f++;
        f->m = callee;
        f->code = callee->code;
        f->lv = lv = nlv;
        f->base = sp = nbase;
        f->pkg = P;
        pc = callee->code;
        if (budget <= 0)
            goto out_of_budget;
        budget--;
        goto resume;
    }

throw_rc:
    if (rc < 0) {
        result = rc;
        goto finish;
    }
    exc = (uint16_t)(VM_H_EXC_FIRST + (rc - VM_SC_FIRST_THROWABLE));
throw_exc:
    /* Find a handler, innermost frame first. pc is the throwing (or, in
     * callers, the invoking) instruction. */
    for (;;) {
        const vm_method *m = f->m;
        uint32_t off = (uint32_t)(pc - f->code);
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
            pc = f->code + h.handler;
            goto resume;
        }
        if (f == f0) {
            rt->uncaught = exc;
            result = VM_RUN_THROWN;
            goto finish;
        }
        f--;
        pc = f->pc;
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
#undef BRANCH1
#undef BRANCH2
#undef RELOAD
#undef GETFIELD
#undef PUTFIELD
#undef AS_BYTE
}
