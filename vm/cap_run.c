/*
 * cap_run.c — the dispatch loop of CAP bytecode (JCVM 3.0.5 ch. 7) and the
 * engine services the API implementations call (vm_internal.h, "CAP
 * packages").
 *
 * The loop runs the ops cap_xlat.c translates each method into, threaded
 * by computed goto; bytecodes the translation leaves as they are run one
 * at a time through the plain switch (x_GENERIC). The code has passed the
 * CAP verifier, so the loop does not re-check what it proved (opcodes,
 * operands, branch targets, stack depth, types); it checks what depends on
 * values: null, handles, the firewall, array bounds and kinds, division by
 * zero, stack space for calls and the budget. Frames live on rt->stack:
 * the arguments the caller pushed become the callee's first locals (the
 * others are not zeroed: the verifier proves each is stored before it is
 * read). A call to a method of the same package runs in the same loop
 * (inline frames); other calls are a C recursion; both bounded by
 * max_frames. Translated ops are written once more after threading
 * (quickened): an invokestatic resolved to this package becomes
 * x_CALL_STATIC, a getfield_<t>_this its byte or short form. x_IDIOM
 * runs a recognized copy / fill / first-mismatch loop whole (idiom_run)
 * only when that is exactly what its bytecodes would do, budget included;
 * else the loop's own ops, which follow it, run it.
 */
#include <stdlib.h>
#include <string.h>

#include "cap_jit.h"
#include "vm_internal.h"
#include "xdiv.h"


/* ---- exceptions ---- */

static uint16_t sys_singleton(uint16_t sc)
{
    if (sc >= VM_SC_FIRST_THROWABLE && sc <= VM_SC_LAST_THROWABLE)
        return (uint16_t)(VM_H_EXC_FIRST + (sc - VM_SC_FIRST_THROWABLE));
    return 0;
}

/* The VM_SC_* twin of an API class (same simple name), or 0. */
static uint16_t api_to_sys(uint16_t cls)
{
    const jc_api_class *a = vm_api_class(cls, NULL);
    if (!a)
        return 0;
    const char *simple = strrchr(a->name, '/');
    simple = simple ? simple + 1 : a->name;
    for (uint16_t sc = VM_SC_FIRST_THROWABLE; sc <= VM_SC_LAST_THROWABLE; sc++) {
        const char *n = vm_sys_class_name(sc);
        if (n && !strcmp(n, simple))
            return sc;
    }
    return 0;
}

uint16_t vm_exception_object(vm_runtime *rt, uint16_t cls, uint16_t reason)
{
    uint16_t sc = cls >= VM_SC_Object && cls < VM_SC_END ? cls : api_to_sys(cls);
    if (sc) {
        uint16_t h = sys_singleton(sc);
        if (h)
            rt->exc_reason[sc - VM_SC_Object] = reason;
        return h;
    }
    if (!vm_cls_is_api(cls))
        return 0;
    unsigned i, n = sizeof rt->api_exc / sizeof rt->api_exc[0];
    for (i = 0; i < n; i++)
        if (rt->api_exc[i].h && rt->api_exc[i].cls == cls) {
            rt->api_exc[i].reason = reason;
            return rt->api_exc[i].h;
        }
    for (i = 0; i < n && rt->api_exc[i].h; i++)
        ;
    if (i == n)
        return sys_singleton(VM_SC_SystemException);
    /* A handle-table-only object: it has no NVM block and vanishes at
     * reset, like any temporary JCRE entry point object. */
    uint16_t h = 0;
    for (uint32_t k = rt->obj_cap; k-- > VM_H_FIRST_DYNAMIC;)
        if (rt->objs[k].kind == VM_OBJ_FREE) {
            h = (uint16_t)k;
            break;
        }
    if (!h)
        return sys_singleton(VM_SC_SystemException);
    vm_obj *o = &rt->objs[h];
    memset(o, 0, sizeof *o);
    o->kind = VM_OBJ_SYSTEM;
    o->flags = VM_OF_GLOBAL;
    o->cls = cls;
    rt->obj_live++;
    rt->api_exc[i].cls = cls;
    rt->api_exc[i].h = h;
    rt->api_exc[i].reason = reason;
    return h;
}

int vm_exception_reason(vm_runtime *rt, uint16_t h, uint16_t *reason)
{
    if (h >= VM_H_EXC_FIRST && h < VM_H_FIRST_DYNAMIC) {
        *reason = rt->exc_reason[VM_SC_FIRST_THROWABLE + (h - VM_H_EXC_FIRST) - VM_SC_Object];
        return 0;
    }
    for (unsigned i = 0; i < sizeof rt->api_exc / sizeof rt->api_exc[0]; i++)
        if (rt->api_exc[i].h == h && h) {
            *reason = rt->api_exc[i].reason;
            return 0;
        }
    if (h && h < rt->obj_cap && rt->objs[h].kind == VM_OBJ_INSTANCE && rt->objs[h].length >= 1) {
        *reason = vm_rd16(rt->objs[h].data);
        return 0;
    }
    return -1;
}

int vm_exception_set_reason(vm_runtime *rt, uint16_t h, uint16_t reason)
{
    if (h >= VM_H_EXC_FIRST && h < VM_H_FIRST_DYNAMIC) {
        rt->exc_reason[VM_SC_FIRST_THROWABLE + (h - VM_H_EXC_FIRST) - VM_SC_Object] = reason;
        return 0;
    }
    for (unsigned i = 0; i < sizeof rt->api_exc / sizeof rt->api_exc[0]; i++)
        if (rt->api_exc[i].h == h && h) {
            rt->api_exc[i].reason = reason;
            return 0;
        }
    if (h && h < rt->obj_cap && rt->objs[h].kind == VM_OBJ_INSTANCE && rt->objs[h].length >= 1) {
        uint8_t b[2];
        vm_wr16(b, reason);
        return vm_obj_store(rt, &rt->objs[h], 0, b, 2, 1);
    }
    return -1;
}

/* The object to throw for a hook/API result > 0. */
static uint16_t thrown_object(vm_runtime *rt, int r)
{
    if (rt->thrown) {
        uint16_t h = rt->thrown;
        rt->thrown = 0;
        return h;
    }
    if (JC_API_EXC_IS(r))
        return vm_exception_object(rt, JC_API_EXC_CLASS(r), JC_API_EXC_REASON(r));
    uint16_t sc = (uint16_t)r;
    if (sc >= VM_SC_Object && sc < VM_SC_END)
        return vm_exception_object(rt, sc, rt->exc_reason[sc - VM_SC_Object]);
    return vm_exception_object(rt, (uint16_t)r, 0);
}

/* Class id of what a thrown handle is. */
static uint16_t object_class(const vm_runtime *rt, uint16_t h)
{
    return h && h < rt->obj_cap ? rt->objs[h].cls : 0xFFFF;
}

/* ---- object access ---- */

vm_obj *vm_ref(vm_runtime *rt, uint16_t ref, int *exc)
{
    if (ref == 0) {
        *exc = VM_SC_NullPointerException;
        return NULL;
    }
    vm_obj *o;
    if (ref >= rt->obj_cap || (o = &rt->objs[ref])->kind == VM_OBJ_FREE) {
        *exc = VM_SC_SecurityException;
        return NULL;
    }
    if (o->pkg != rt->ctx && rt->ctx != 0 && !(o->flags & VM_OF_GLOBAL)) {
        *exc = VM_SC_SecurityException;
        return NULL;
    }
    return o;
}

int vm_field_get(vm_runtime *rt, uint16_t ref, uint16_t i, uint16_t *v)
{
    int exc;
    vm_obj *o = vm_ref(rt, ref, &exc);
    if (!o)
        return exc;
    if (o->kind != VM_OBJ_INSTANCE || i >= o->length)
        return VM_SC_SecurityException;
    *v = vm_rd16(o->data + 2 * (size_t)i);
    return 0;
}

int vm_field_set(vm_runtime *rt, uint16_t ref, uint16_t i, uint16_t v)
{
    int exc;
    vm_obj *o = vm_ref(rt, ref, &exc);
    if (!o)
        return exc;
    if (o->kind != VM_OBJ_INSTANCE || i >= o->length)
        return VM_SC_SecurityException;
    uint8_t b[2];
    vm_wr16(b, v);
    return vm_obj_store(rt, o, 2u * i, b, 2, 1);
}

static unsigned class_slots(const vm_runtime *rt, uint16_t cls)
{
    const cap_rclass *rc = vm_cap_rclass(rt, cls);
    if (rc)
        return rc->size;
    const jc_api_class *a = vm_api_class(cls, NULL);
    return a ? a->native_slots : 0;
}

int vm_new_object(vm_runtime *rt, uint16_t cls, uint16_t *ref)
{
    unsigned n = class_slots(rt, cls);
    return vm_alloc(rt, VM_OBJ_INSTANCE, VM_OF_PERSISTENT, cls, (uint16_t)n, 2u * n, 0, ref);
}

int vm_active_instance(const vm_runtime *rt)
{
    return rt->active_inst;
}

int vm_previous_instance(const vm_runtime *rt)
{
    return rt->ctx_depth ? rt->ctx_stack[rt->ctx_depth - 1].inst : -1;
}

/* Virtual method lookup with the runtime's cache for API classes (the APDU
 * object's methods run on every command). */
static int virtual_target(vm_runtime *rt, uint16_t cls, uint8_t token, cap_target *t)
{
    if (vm_cls_is_user(cls))
        return vm_cap_lookup_virtual(rt, cls, token, t);
    if (cls >= VM_SC_Object && cls < VM_SC_END && rt->sc_api[cls - VM_SC_Object] != 0xFFFF)
        cls = rt->sc_api[cls - VM_SC_Object];
    unsigned k = (cls * 31u + token) & 63u;
    if (rt->api_vcache[k].used && rt->api_vcache[k].cls == cls && rt->api_vcache[k].token == token) {
        memset(t, 0, sizeof *t);
        t->api = rt->api_vcache[k].m;
        return 0;
    }
    if (vm_cap_lookup_virtual(rt, cls, token, t) != 0)
        return -1;
    rt->api_vcache[k].cls = cls;
    rt->api_vcache[k].token = token;
    rt->api_vcache[k].m = t->api;
    rt->api_vcache[k].used = 1;
    return 0;
}

static int call_from_c(vm_runtime *rt, cap_target t, uint16_t *args, unsigned nargs, uint16_t *ret);

/* The public virtual token by which class `cls` implements method `mtok`
 * of interface `iface`, or -1. */
static int interface_token(const vm_runtime *rt, uint16_t cls, uint16_t iface, uint8_t mtok)
{
    for (const cap_rclass *k = vm_cap_rclass(rt, cls); k; k = vm_cap_rclass(rt, k->super_id))
        for (unsigned i = 0; i < k->iface_count; i++)
            if (k->iface_ids[i] == iface && k->iface_maps[i] && mtok < k->iface_maps[i][0])
                return k->iface_maps[i][1 + mtok];
    /* an API object implementing an API interface: by name and descriptor */
    const jc_api_class *ic = vm_api_class(iface, NULL);
    const jc_api_method *im = ic ? jc_api_method_by_token(ic, mtok, JC_VIRTUAL_METHOD) : NULL;
    const jc_api_class *oc = vm_api_class(cls, NULL);
    for (int g = 0; im && oc && g < 16; g++) {
        for (unsigned i = 0; i < oc->method_count; i++)
            if (oc->methods[i].kind == JC_VIRTUAL_METHOD && !strcmp(oc->methods[i].name, im->name) &&
                !strcmp(oc->methods[i].desc, im->desc))
                return oc->methods[i].token;
        oc = oc->super_name ? jc_api_class_by_name(oc->super_name, NULL) : NULL;
    }
    return -1;
}

int vm_call_interface(vm_runtime *rt, uint16_t iface, uint8_t mtok, uint16_t *args, unsigned nargs, uint16_t *ret)
{
    int exc;
    vm_obj *o = vm_ref(rt, args[0], &exc);
    if (!o)
        return exc;
    int vtok = interface_token(rt, o->cls, iface, mtok);
    cap_target t;
    if (vtok < 0 || virtual_target(rt, o->cls, (uint8_t)vtok, &t) != 0)
        return VM_SC_SecurityException;
    return call_from_c(rt, t, args, nargs, ret);
}

/* ---- the loop ---- */

static int exec(vm_runtime *rt, cap_target t, uint16_t *lv, unsigned nargs, uint16_t *ret, int *has_ret);

/* Call a target whose arguments are at args[0..nargs-1] (on rt->stack, at
 * the caller's stack top). 0, >0 a thrown handle in rt->uncaught
 * (VM_RUN_THROWN), VM_RUN_BUDGET, <0 fatal. */
static inline __attribute__((always_inline)) int call_target(vm_runtime *rt, cap_target t, uint16_t *args, unsigned nargs, uint16_t *ret,
                       int *has_ret)
{
    *has_ret = 0;
    if (t.api) {
        *has_ret = t.api->returns != 0;
        if (!t.api->fn) {
            /* Not implemented on this card: constructors of the API's
             * stateless classes are no-ops; anything else is refused the
             * way the specification refuses an unsupported feature. */
            if (t.api->kind == JC_CONSTRUCTOR && t.api->nargs == 1)
                return VM_RUN_DONE;
            rt->uncaught = vm_exception_object(rt, VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
            return VM_RUN_THROWN;
        }
        rt->thrown = 0;
        int r = t.api->fn(rt, args, ret);
        if (r < 0)
            return r;
        if (r > 0) {
            rt->uncaught = thrown_object(rt, r);
            return VM_RUN_THROWN;
        }
        return VM_RUN_DONE;
    }
    if (t.offset == 0xFFFF) {
        rt->uncaught = vm_exception_object(rt, VM_SC_SecurityException, 0);
        return VM_RUN_THROWN;
    }
    return exec(rt, t, args, nargs, ret, has_ret);
}

int vm_cap_run(vm_runtime *rt, cap_target target, const uint16_t *args, unsigned nargs, uint16_t *ret)
{
    int outer = rt->cap_depth == 0;
    if (outer) {
        rt->cap_top = 0;
        rt->cap_budget = rt->budget;
        rt->trail_open = 0;
    }
    if ((uint32_t)rt->cap_top + nargs > rt->cfg.stack_slots) {
        rt->uncaught = vm_exception_object(rt, VM_SC_StackOverflowError, 0);
        return VM_RUN_THROWN;
    }
    uint16_t *a = rt->stack + rt->cap_top;
    memcpy(a, args, nargs * sizeof *a);
    uint16_t saved_top = rt->cap_top;
    rt->cap_top = (uint16_t)(rt->cap_top + nargs);
    uint16_t r0 = 0;
    int has_ret;
    int r = call_target(rt, target, a, nargs, ret ? ret : &r0, &has_ret);
    rt->cap_top = saved_top;
    if (outer) {
        uint64_t used = (uint64_t)((int64_t)rt->budget - (rt->cap_budget > 0 ? rt->cap_budget : 0));
        rt->last_executed = used;
        rt->executed += used;
    }
    return r;
}

static int run(vm_runtime *rt, cap_xmethod *xm0, cap_target t, uint16_t *lv, uint16_t *ret, int *has_ret);

/* The exception object of a check that failed in the loop: out of line
 * and cold, so that the compiler predicts every throwing path not taken,
 * lays it out of the ops' way and weighs the registers by the paths that
 * do not throw (fewer host instructions on every kernel: docs/vm.md,
 * "Budget"). */
__attribute__((cold, noinline)) static uint16_t exc_new(vm_runtime *rt, uint16_t sc, uint16_t reason)
{
    return vm_exception_object(rt, sc, reason);
}

int vm_cap_run_entry(vm_runtime *rt, cap_target target, cap_xmethod *xm, const uint16_t *args, unsigned nargs,
                     uint16_t *ret)
{
    if (rt->cap_depth != 0 || nargs > rt->cfg.stack_slots)
        return vm_cap_run(rt, target, args, nargs, ret);
    rt->cap_budget = rt->budget;
    rt->trail_open = 0;
    for (unsigned i = 0; i < nargs; i++)   /* one or two words: no memcpy call */
        rt->stack[i] = args[i];
    rt->cap_top = (uint16_t)nargs;
    uint16_t r0 = 0;
    int has_ret;
    int r = run(rt, xm, target, rt->stack, ret ? ret : &r0, &has_ret);
    rt->cap_top = 0;
    uint64_t used = (uint64_t)((int64_t)rt->budget - (rt->cap_budget > 0 ? rt->cap_budget : 0));
    rt->last_executed = used;
    rt->executed += used;
    return r;
}

/* Call from C: 0, an exception class (rt->thrown = the object), <0. */
static int call_from_c(vm_runtime *rt, cap_target t, uint16_t *args, unsigned nargs, uint16_t *ret)
{
    int r = vm_cap_run(rt, t, args, nargs, ret);
    if (r < 0)
        return r;
    if (r == VM_RUN_THROWN) {
        rt->thrown = rt->uncaught;
        uint16_t c = object_class(rt, rt->uncaught);
        return c ? c : VM_SC_SecurityException;
    }
    if (r == VM_RUN_BUDGET) {
        rt->thrown = 0;
        return VM_ERR_STATE;
    }
    return 0;
}

int vm_call_virtual(vm_runtime *rt, uint8_t token, uint16_t *args, unsigned nargs, uint16_t *ret)
{
    int exc;
    vm_obj *o = vm_ref(rt, args[0], &exc);
    if (!o)
        return exc;
    cap_target t;
    if (virtual_target(rt, o->cls, token, &t) != 0)
        return VM_SC_SecurityException;
    return call_from_c(rt, t, args, nargs, ret);
}

/* The applet instance that becomes active when the context switches to
 * object h's owner: the instance h is, else the package's first one
 * (contexts are per package). */
static int instance_of_package(const vm_runtime *rt, unsigned slot, uint16_t h)
{
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].pkg == slot && rt->insts[i].obj == h)
            return (int)i;
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].pkg == slot)
            return (int)i;
    return -1;
}

static int ctx_push(vm_runtime *rt, uint8_t ctx, int inst)
{
    if (rt->ctx_depth >= sizeof rt->ctx_stack / sizeof rt->ctx_stack[0])
        return -1;
    rt->ctx_stack[rt->ctx_depth].ctx = rt->ctx;
    rt->ctx_stack[rt->ctx_depth].inst = rt->active_inst;
    rt->ctx_depth++;
    rt->ctx = ctx;
    rt->active_inst = (int8_t)inst;
    return 0;
}

static void ctx_pop(vm_runtime *rt)
{
    rt->ctx_depth--;
    rt->ctx = rt->ctx_stack[rt->ctx_depth].ctx;
    rt->active_inst = rt->ctx_stack[rt->ctx_depth].inst;
}

int vm_call_virtual_as_owner(vm_runtime *rt, uint8_t token, uint16_t *args, unsigned nargs, uint16_t *ret)
{
    if (args[0] == 0)
        return VM_SC_NullPointerException;
    if (args[0] >= rt->obj_cap || rt->objs[args[0]].kind == VM_OBJ_FREE)
        return VM_SC_SecurityException;
    vm_obj *o = &rt->objs[args[0]];
    cap_target t;
    if (vm_cap_lookup_virtual(rt, o->cls, token, &t) != 0)
        return VM_SC_SecurityException;
    if (ctx_push(rt, o->pkg, instance_of_package(rt, o->pkg, args[0])) != 0)
        return VM_SC_SecurityException;
    int r = call_from_c(rt, t, args, nargs, ret);
    ctx_pop(rt);
    return r;
}

/* Array element size by kind. */
static unsigned elem_size(uint8_t kind)
{
    return kind == VM_OBJ_SHORTS || kind == VM_OBJ_REFS ? 2u : 1u;
}

static int is_array(uint8_t kind)
{
    return kind >= VM_OBJ_BYTES && kind <= VM_OBJ_REFS;
}

/* The callee's first op is a guard return (CAP_X_GRET) on its last
 * argument, returning a constant or an argument, with its charges
 * precomputed (gleaf): a call whose last argument is pending can then
 * evaluate it on that value (x_CALLG_*). */
static int guard_at_entry(const cap_xmethod *callee)
{
    const cap_xop *g = callee->ops;
    if (callee->nops == 0 || g->id < CAP_X_GRET || g->id > CAP_X_GRET + 1 || g->gleaf == 0)
        return 0;
    return g->a == callee->nargs - 1 && (g->id == CAP_X_GRET + 1 || (g->c >= 0 && g->c < callee->nargs));
}

/* checkcast / instanceof on a non-null object. atype: 0 class, 10..13
 * primitive arrays, 14 reference array of class `cls`. */
static int cast_ok(const vm_runtime *rt, const vm_obj *o, uint8_t atype, uint16_t cls)
{
    switch (atype) {
    case 0:
        if (o->kind == VM_OBJ_INSTANCE || o->kind == VM_OBJ_SYSTEM)
            return vm_cap_class_is(rt, o->cls, cls);
        {
            /* arrays are Objects */
            const jc_api_class *a = vm_api_class(cls, NULL);
            return a && !strcmp(a->name, "java/lang/Object");
        }
    case 10: return o->kind == VM_OBJ_BOOLS;
    case 11: return o->kind == VM_OBJ_BYTES;
    case 12: return o->kind == VM_OBJ_SHORTS;
    case 14: return o->kind == VM_OBJ_REFS && vm_cap_class_is(rt, o->cls, cls);
    default: return 0;
    }
}

#define RD16(p) ((uint16_t)(((p)[0] << 8) | (p)[1]))

/* Operand fetch for the op forms (cap_xlat.c): each operand from the
 * stack (S, popped: the last operand first), a local (L) or a constant
 * in the op (C). */
#define FB_S uint16_t b_ = *--sp
#define FB_L uint16_t b_ = lv[xo->b]
#define FB_C uint16_t b_ = (uint16_t)xo->b
#define FB_LL uint16_t b_ = (uint16_t)(lv[xo->b] + lv[xo->d])
#define FB_LC uint16_t b_ = (uint16_t)(lv[xo->b] + xo->d)
#define FA_S uint16_t a_ = *--sp
#define FA_L uint16_t a_ = lv[xo->a]
#define FA_C uint16_t a_ = (uint16_t)xo->a
#define FV_S uint16_t v_ = *--sp
#define FV_L uint16_t v_ = lv[xo->c]
#define FV_C uint16_t v_ = (uint16_t)xo->c
#define PUT_P(v) (*sp++ = (uint16_t)(v))
#define PUT_T(v) (lv[xo->c] = (uint16_t)(v))
/* returned: the frame popped, the value pushed onto the caller's stack */
#define PUT_R(v) do { retv = (uint16_t)(v); POP_FRAME(); *sp++ = retv; NEXT; } while (0)

#define BIN_ADD(put) put(a_ + b_)
#define BIN_SUB(put) put(a_ - b_)
#define BIN_MUL(put) put((int16_t)a_ * (int16_t)b_)
#define BIN_AND(put) put(a_ & b_)
#define BIN_OR(put) put(a_ | b_)
#define BIN_XOR(put) put(a_ ^ b_)
#define BIN_SHL(put) put((uint32_t)(int32_t)(int16_t)a_ << (b_ & 31))
#define BIN_SHR(put) put((int32_t)(int16_t)a_ >> (b_ & 31))
#define BIN_USHR(put) put((uint32_t)(int32_t)(int16_t)a_ >> (b_ & 31))
#define BIN_DIV(put) do { if (b_ == 0) { THROW_NEW(VM_SC_ArithmeticException, 0); } \
        put((int32_t)(int16_t)a_ / (int16_t)b_); } while (0)
#define BIN_REM(put) do { if (b_ == 0) { THROW_NEW(VM_SC_ArithmeticException, 0); } \
        put((int32_t)(int16_t)a_ % (int16_t)b_); } while (0)

#define COND_EQ(a, b) ((a) == (b))
#define COND_NE(a, b) ((a) != (b))
#define COND_LT(a, b) ((a) < (b))
#define COND_GE(a, b) ((a) >= (b))
#define COND_GT(a, b) ((a) > (b))
#define COND_LE(a, b) ((a) <= (b))

/* Kind expansions (enum cap_x_kind order); one macro per nesting level. */
#define X_KA(M, ...) M(__VA_ARGS__, S) M(__VA_ARGS__, L) M(__VA_ARGS__, C)
#define X_KB(M, ...) M(__VA_ARGS__, S) M(__VA_ARGS__, L) M(__VA_ARGS__, C)
#define X_KV(M, ...) M(__VA_ARGS__, S) M(__VA_ARGS__, L) M(__VA_ARGS__, C)
#define X_KR(M, ...) M(__VA_ARGS__, S) M(__VA_ARGS__, L) M(__VA_ARGS__, Q)
#define X_KD(M, ...) M(__VA_ARGS__, L) M(__VA_ARGS__, C)
#define X_KI(M, ...) M(__VA_ARGS__, S) M(__VA_ARGS__, L) M(__VA_ARGS__, C) M(__VA_ARGS__, LL) M(__VA_ARGS__, LC)
#define X_BINOPS(M) M(ADD) M(SUB) M(MUL) M(AND) M(OR) M(XOR) M(SHL) M(SHR) M(USHR) M(DIV) M(REM)
#define X_CONDS(M) M(EQ) M(NE) M(LT) M(GE) M(GT) M(LE)

/* Label tables, in enum cap_x_id order. */
/* a call's last argument pending (CAP_X_CALLA): local c, constant c,
 * c + local d, c + constant d, pushed by the call op */
#define X_KP(M, ...) M(__VA_ARGS__, L) M(__VA_ARGS__, C) M(__VA_ARGS__, LL) M(__VA_ARGS__, LC)
#define LBL_CALLA(C, K) &&x_CALLA_##C##_##K,
#define LBL_CALLA2(C, KP, K) &&x_CALLA2_##C##_##KP##K,
#define LBL_BIN_D(B, KA, KB) &&x_BIN_##B##_##KA##KB##_P, &&x_BIN_##B##_##KA##KB##_T,
#define LBL_BIN_A(B, KA) X_KB(LBL_BIN_D, B, KA)
/* every operand pair but two constants (javac folds constant
 * expressions), which is left to x_BIN_SLOW with the divisions */
#define X_KAB(M, B) M(B, S, S) M(B, S, L) M(B, S, C) M(B, L, S) M(B, L, L) M(B, L, C) M(B, C, S) M(B, C, L)
#define LBL_BIN(B) X_KAB(LBL_BIN_D, B) &&x_BIN_SLOW, &&x_BIN_SLOW,
#define LBL_BIN_SLOW3 &&x_BIN_SLOW, &&x_BIN_SLOW, &&x_BIN_SLOW, &&x_BIN_SLOW, &&x_BIN_SLOW, &&x_BIN_SLOW,
#define LBL_BIN_SLOW LBL_BIN_SLOW3 LBL_BIN_SLOW3 LBL_BIN_SLOW3
#define X_BINOPS_FAST(M) M(ADD) M(SUB) M(MUL) M(AND) M(OR) M(XOR) M(SHL) M(SHR) M(USHR)
#define LBL_BINR(B) &&x_BINR_##B##_SS,
#define LBL_CMP_B(C, KA, KB) &&x_CMP_##C##_##KA##KB,
#define LBL_CMP_A(C, KA) X_KB(LBL_CMP_B, C, KA)
#define LBL_CMP(C) X_KA(LBL_CMP_A, C)
#define LBL_ZCMP_A(C, KA) &&x_ZCMP_##C##_##KA,
#define LBL_ZCMP(C) X_KA(LBL_ZCMP_A, C)
#define LBL_ELEM_D(E, KA, KB) &&x_ELEM_##E##_##KA##KB##_P, &&x_ELEM_##E##_##KA##KB##_T,
#define LBL_ELEM_A(E, KA) X_KI(LBL_ELEM_D, E, KA)
#define LBL_ELEM(E) X_KR(LBL_ELEM_A, E)
#define LBL_STORE_V(E, KA, KB, KV) &&x_STORE_##E##_##KA##KB##KV,
#define LBL_STORE_B(E, KA, KB) X_KV(LBL_STORE_V, E, KA, KB)
#define LBL_STORE_A(E, KA) X_KI(LBL_STORE_B, E, KA)
#define LBL_STORE(E) X_KR(LBL_STORE_A, E)
#define LBL_DIVC_D(R, KA) &&x_DIVC_##R##_##KA##_P, &&x_DIVC_##R##_##KA##_T,
#define LBL_DIVC(R) X_KI(LBL_DIVC_D, R)
#define X_KE(M, ...) M(__VA_ARGS__, B) M(__VA_ARGS__, S)
#define X_KQ(M, ...) M(__VA_ARGS__, Q)
#define X_KJ(M, ...) M(__VA_ARGS__, L) M(__VA_ARGS__, LC)
#define LBL_ECMP_W(C, E, KA, KB, W) &&x_ECMP_##C##_##E##_##KA##KB##_##W,
#define LBL_ECMP_B(C, E, KA, KB) X_KV(LBL_ECMP_W, C, E, KA, KB)
#define LBL_ECMP_A(C, E, KA) X_KJ(LBL_ECMP_B, C, E, KA)
#define LBL_ECMP_E(C, E) X_KQ(LBL_ECMP_A, C, E)
#define LBL_ECMP(C) X_KE(LBL_ECMP_E, C)
#define LBL_GRET(KR) &&x_GRET_##KR,
#define LBL_SINC_CMP_B(C, KB) &&x_SINC_CMP_##C##_##KB,
#define LBL_SINC_CMP(C) X_KD(LBL_SINC_CMP_B, C)

/* Handlers */
#define H_BIN_D(B, KA, KB) \
    x_BIN_##B##_##KA##KB##_P: { FB_##KB; FA_##KA; BIN_##B(PUT_P); NEXT; } \
    x_BIN_##B##_##KA##KB##_T: { FB_##KB; FA_##KA; BIN_##B(PUT_T); NEXT; }
#define H_BIN_A(B, KA) X_KB(H_BIN_D, B, KA)
#define H_BINR_D(B, KA, KB) \
    x_BINR_##B##_##KA##KB: { FB_##KB; FA_##KA; BIN_##B(PUT_R); }
/* both operands on the stack: read in place, not popped (the return
 * drops the frame's stack: sp = lv) */
#define FB_R uint16_t b_ = sp[-1]
#define FA_R uint16_t a_ = sp[-2]
#define H_BINR(B) \
    x_BINR_##B##_SS: { FB_R; FA_R; BIN_##B(PUT_R); }
#define H_BIN(B) X_KAB(H_BIN_D, B)
#define H_CMP_B(C, KA, KB) \
    x_CMP_##C##_##KA##KB: { FB_##KB; FA_##KA; if (COND_##C((int16_t)a_, (int16_t)b_)) { TAKE; } else { FALL; } }
#define H_CMP_A(C, KA) X_KB(H_CMP_B, C, KA)
#define H_CMP(C) X_KA(H_CMP_A, C)
#define H_ZCMP_A(C, KA) \
    x_ZCMP_##C##_##KA: { FA_##KA; if (COND_##C((int16_t)a_, 0)) { TAKE; } else { FALL; } }
#define H_ZCMP(C) X_KA(H_ZCMP_A, C)
/* A guard return (CAP_X_GRET, javac's `if (n < 2) return n;`, `if (x >=
 * 0) return 0;`): local a against the interval where the guard returns
 * (cap_guard_range: one handler for the five conditions, which left room
 * under the register-allocation cliff for the call sites that evaluate
 * it, x_CALLG_*); returning, the sreturn of local or constant c after it
 * runs here (its run charged as FALL would, then c returned). */
#define GUARD_TAKEN(g_, v_) ((uint16_t)((v_) - (g_)->glo) > (g_)->gspan)
#define RV_L lv[xo->c]
#define RV_C ((uint16_t)xo->c)
#define H_GRET(KR) \
    x_GRET_##KR: { if (GUARD_TAKEN(xo, lv[xo->a])) { TAKE; } else { bm1 -= xo->wf; PUT_R(RV_##KR); } }
#define ELEM_B(o_, i_) ((uint16_t)(int16_t)(int8_t)(o_)->data[i_])
#define ELEM_S(o_, i_) vm_rd16((o_)->data + 2 * (size_t)(i_))
/* The array of an element op (enum cap_x_akind): popped, a local, or a
 * local a loop region does not write, checked at its first use there
 * (cap_xlat.c, "loop region") */
#define AR_S(E) { uint16_t a_ = *--sp; ARRAY_##E(o, a_); }
#define AR_L(E) ARRAY_##E(o, lv[xo->a]);
#define AR_Q(E) o = ac[xo->slot];
/* The bounds test of index b_. A region's slot holds ac_none (length 0)
 * until its first use after the entry, so that use fails the test: there
 * the array is checked as AR_L does (throwing what the bytecode throws,
 * before any bounds exception), kept in the slot and tested again. The
 * later uses pay the bounds test alone. */
#define BND_S(E) if (b_ >= o->length) { THROW_NEW(VM_SC_ArrayIndexOutOfBoundsException, 0); }
#define BND_L(E) BND_S(E)
#define BND_Q(E) if (__builtin_expect(b_ >= o->length, 0)) { \
        if (o != &ac_none) { THROW_NEW(VM_SC_ArrayIndexOutOfBoundsException, 0); } \
        ARRAY_##E(o, lv[xo->a]); ac[xo->slot] = o; BND_S(E) }
#define H_ELEM_D(E, KA, KB) \
    x_ELEM_##E##_##KA##KB##_P: { FB_##KB; AR_##KA(E) BND_##KA(E) \
        PUT_P(ELEM_##E(o, b_)); NEXT; } \
    x_ELEM_##E##_##KA##KB##_T: { FB_##KB; AR_##KA(E) BND_##KA(E) \
        PUT_T(ELEM_##E(o, b_)); NEXT; }
#define ELEM_U(o_, i_) ((uint16_t)(o_)->data[i_])
#define H_ELEM_A(E, KA) X_KI(H_ELEM_D, E, KA)
#define H_ELEM(E) X_KR(H_ELEM_A, E)
/* An element load and the compare-and-branch that consumes it (ECMP,
 * cap_xlat.c): the load's checks as ELEM's (array a, index b), then the
 * element e_ against the value under the load's operands (S, popped: the
 * compare's first operand), local c or constant c (L, C: e_ first). */
#define ECMP_GO(C, x_, y_) if (COND_##C((int16_t)(x_), (int16_t)(y_))) { TAKE; } else { FALL; }
#define ECMP_S(C) FV_S; ECMP_GO(C, v_, e_)
#define ECMP_L(C) FV_L; ECMP_GO(C, e_, v_)
#define ECMP_C(C) FV_C; ECMP_GO(C, e_, v_)
#define H_ECMP_W(C, E, KA, KB, W) \
    x_ECMP_##C##_##E##_##KA##KB##_##W: { FB_##KB; AR_##KA(E) BND_##KA(E) \
        uint16_t e_ = ELEM_##E(o, b_); ECMP_##W(C) }
#define H_ECMP_B(C, E, KA, KB) X_KV(H_ECMP_W, C, E, KA, KB)
#define H_ECMP_A(C, E, KA) X_KJ(H_ECMP_B, C, E, KA)
#define H_ECMP_E(C, E) X_KQ(H_ECMP_A, C, E)
#define H_ECMP(C) X_KE(H_ECMP_E, C)
/* Byte store: a boolean array keeps bit 0; a persistent array goes
 * through the NVM store (journal, transaction, tear), a sensitive one
 * through vm_obj_store too (its check value). The writer is noted there
 * only: a store into RAM writes no NVM, and nothing reads the note but
 * an NVM write (vm.h, "who writes NVM"). */
#define STORE_B(o_, i_, v_) do { uint8_t bb_ = (uint8_t)(v_); if ((o_)->kind == VM_OBJ_BOOLS) bb_ &= 1; \
        if ((o_)->flags & (VM_OF_PERSISTENT | VM_OF_SENSITIVE)) { NOTE_WRITER(); CHECK(vm_obj_store(rt, (o_), (i_), &bb_, 1, 1)); } \
        else { (o_)->data[i_] = bb_; } } while (0)
#define STORE_S(o_, i_, v_) do { if ((o_)->flags & (VM_OF_PERSISTENT | VM_OF_SENSITIVE)) { uint8_t bb_[2]; vm_wr16(bb_, (v_)); \
            NOTE_WRITER(); CHECK(vm_obj_store(rt, (o_), 2u * (i_), bb_, 2, 1)); } \
        else { vm_wr16((o_)->data + 2 * (size_t)(i_), (v_)); } } while (0)
/* A byte store into the APDU buffer (a global RAM byte array, accessible
 * from every context): the bounds test only. */
#define APDU_STORE_B(h_, i_, v_) do { if ((h_) == VM_H_APDU_BUFFER) { o = &rt->objs[VM_H_APDU_BUFFER]; \
            if ((i_) >= o->length) { THROW_NEW(VM_SC_ArrayIndexOutOfBoundsException, 0); } \
            o->data[i_] = (uint8_t)(v_); NEXT; } } while (0)
#define APDU_STORE_S(h_, i_, v_) do { } while (0)
/* The array of a store: from the stack or a local, the APDU buffer's
 * byte stores first; from a region's cache (a checked APDU buffer among
 * them) */
#define STA_S(E) FA_S; APDU_STORE_##E(a_, b_, v_); ARRAY_##E(o, a_);
#define STA_L(E) FA_L; APDU_STORE_##E(a_, b_, v_); ARRAY_##E(o, a_);
#define STA_Q(E) AR_Q(E)
#define H_STORE_V(E, KA, KB, KV) \
    x_STORE_##E##_##KA##KB##KV: { FV_##KV; FB_##KB; STA_##KA(E) BND_##KA(E) \
        STORE_##E(o, b_, v_); NEXT; }
#define H_STORE_B(E, KA, KB) X_KV(H_STORE_V, E, KA, KB)
#define H_STORE_A(E, KA) X_KI(H_STORE_B, E, KA)
#define H_STORE(E) X_KR(H_STORE_A, E)
/* sdiv / srem by constant b (cap_xlat.c, xdiv.h): the dividend from the
 * stack, local a, the op, or local a + local / constant d (16-bit sum);
 * the quotient by the multiplier, the remainder n - q * b */
#define FN_S int32_t n_ = (int16_t)*--sp
#define FN_L int32_t n_ = (int16_t)lv[xo->a]
#define FN_C int32_t n_ = xo->a
#define FN_LL int32_t n_ = (int16_t)(uint16_t)(lv[xo->a] + lv[xo->d])
#define FN_LC int32_t n_ = (int16_t)(uint16_t)(lv[xo->a] + xo->d)
#define DIVC_DIV(put) put(vm_xdiv_q(n_, xo->mul))
#define DIVC_REM(put) put(n_ - vm_xdiv_q(n_, xo->mul) * xo->b)
#define H_DIVC_D(R, KA) \
    x_DIVC_##R##_##KA##_P: { FN_##KA; DIVC_##R(PUT_P); NEXT; } \
    x_DIVC_##R##_##KA##_T: { FN_##KA; DIVC_##R(PUT_T); NEXT; }
#define H_DIVC(R) X_KI(H_DIVC_D, R)
/* sinc, then the loop test at the head op (what `goto head` would run):
 * the goto's run and the test's charged at once (the sums in wt, taken,
 * and wf, falling through: cap_xlat.c), the budget tested once per
 * iteration, on each path right after its charge (the sign of that
 * subtraction); when it runs out, at the head */
#define SCB_L uint16_t b_ = lv[xo->d]
#define SCB_C uint16_t b_ = (uint16_t)xo->d
#define LOOP_TEST(C, KB) { const cap_xop *hd_ = xo->p; \
        uint16_t a_ = lv[xo->c]; SCB_##KB; \
        if (COND_##C((int16_t)a_, (int16_t)b_)) { \
            bm1 -= xo->wt; if (bm1 < 0) { xo = (cap_xop *)hd_; goto out_of_budget; } xo = (cap_xop *)hd_->p; \
        } else { \
            bm1 -= xo->wf; if (bm1 < 0) { xo = (cap_xop *)hd_; goto out_of_budget; } xo = (cap_xop *)hd_ + 1; \
        } \
        DISPATCH; }
#define H_SINC_CMP_B(C, KB) \
    x_SINC_CMP_##C##_##KB: lv[xo->a] = (uint16_t)(lv[xo->a] + xo->b); LOOP_TEST(C, KB)
#define H_SINC_CMP(C) X_KD(H_SINC_CMP_B, C)
#define H_GOTO_CMP_B(C, KB) x_GOTO_CMP_##C##_##KB: LOOP_TEST(C, KB)
#define H_GOTO_CMP(C) X_KD(H_GOTO_CMP_B, C)
#define LBL_GOTO_CMP_B(C, KB) &&x_GOTO_CMP_##C##_##KB,
#define LBL_GOTO_CMP(C) X_KD(LBL_GOTO_CMP_B, C)

/* A loop idiom (cap_xlat.c, "loop idioms") run whole, as its bytecodes
 * would run it: 1 when the loop has completed (on to d->exit), 2 when
 * MISMATCH has found a difference (on to d->mexit), the locals it writes
 * (i, x, y) and the array left as after those bytecodes, *charge the
 * bytecodes their runs count. 0, having changed nothing, when the loop's
 * own ops must run it: no iteration to run; an array that would fail its
 * checks (null, handle, kind, firewall) or an index its bounds at some
 * iteration (the ops throw there, after the iterations before it); a
 * stored array that is persistent or sensitive (the NVM path: journal,
 * transaction, tear hook, check value); a budget that would run out
 * (the ops stop where the bytecodes do). The element kinds must be
 * exactly byte[] (the byte ops also take boolean[]) or short[]. */
_Static_assert(VM_OBJ_SHORTS == VM_OBJ_BYTES + 2, "idiom_run: the element kind from d->shorts");

/* Array j of idiom d (0 the one loaded, 1 the one stored or loaded
 * second): its data at the first iteration's index, or NULL when a check
 * of the loop's ops would fail at some iteration: not an object, a kind
 * other than the idiom's, another context's object, an index out of
 * bounds (the cnt indices are consecutive 16-bit values from the first,
 * and a length is below 32768, so the last one's test covers them all),
 * or, stored by COPY or FILL, an array in NVM or a sensitive one. */
static inline uint8_t *idiom_array(const vm_runtime *rt, const cap_xidiom *d, const uint16_t *lv, unsigned j,
                                   uint16_t i0, uint32_t cnt)
{
    uint16_t h = lv[d->arr[j]];
    if (h == 0 || h >= rt->obj_cap)
        return NULL;
    const vm_obj *o = &rt->objs[h];
    unsigned refused = o->kind ^ (VM_OBJ_BYTES + 2u * d->shorts);
    if (j == 1 && d->form != CAP_XI_MISMATCH)
        refused |= o->flags & (VM_OF_PERSISTENT | VM_OF_SENSITIVE);
    if (refused || (o->pkg != rt->ctx && rt->ctx != 0 && !(o->flags & VM_OF_GLOBAL)))
        return NULL;
    uint16_t s = (uint16_t)((d->bk[j] == CAP_XK_L ? lv[d->base[j]] : (uint16_t)d->base[j]) + i0);
    if ((uint32_t)s + cnt > o->length)
        return NULL;
    return o->data + ((size_t)s << d->shorts);
}

/* The offset of the first byte where a and b differ in their first nb
 * bytes, nb if none: eight bytes at a time, the first differing byte of
 * a word from the lowest set bit of their difference where the words are
 * little-endian. */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t nb)
{
    size_t k = 0;
    for (; k + 8 <= nb; k += 8) {
        uint64_t x, y;
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        if (x != y) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return k + (size_t)(__builtin_ctzll(x ^ y) >> 3);
#else
            break;
#endif
        }
    }
    while (k < nb && a[k] == b[k])
        k++;
    return k;
}

static int idiom_run(const vm_runtime *rt, const cap_xidiom *d, uint16_t *lv, int64_t budget, int64_t *charge)
{
    if (!d->exit)
        return 0;
    int16_t i0 = (int16_t)lv[d->i], n = d->nk == CAP_XK_L ? (int16_t)lv[d->n] : d->n;
    if (i0 >= n)
        return 0;
    uint32_t cnt = (uint32_t)(n - i0);
    uint8_t *p0 = NULL, *p1 = idiom_array(rt, d, lv, 1, (uint16_t)i0, cnt);
    if (!p1 || (d->form != CAP_XI_FILL && !(p0 = idiom_array(rt, d, lv, 0, (uint16_t)i0, cnt))))
        return 0;
    size_t nb = (size_t)cnt << d->shorts;
    if (d->form == CAP_XI_MISMATCH) {
        size_t k = first_difference(p0, p1, nb);
        uint32_t e = (uint32_t)(k >> d->shorts), last = e < cnt ? e : cnt - 1;
        *charge = d->w_entry +
                  (e < cnt ? (int64_t)e * d->w_iter + d->w_body + d->w_mexit : (int64_t)cnt * d->w_iter + d->w_exit);
        if (budget - *charge <= 0)
            return 0;
        lv[d->i] = (uint16_t)(i0 + (int32_t)e);
        if (d->x >= 0) {
            lv[d->x] = d->shorts ? vm_rd16(p0 + 2u * last) : (uint16_t)(int16_t)(int8_t)p0[last];
            lv[d->y] = d->shorts ? vm_rd16(p1 + 2u * last) : (uint16_t)(int16_t)(int8_t)p1[last];
        }
        return e < cnt ? 2 : 1;
    }
    *charge = d->w_entry + (int64_t)cnt * d->w_iter + d->w_exit;
    if (budget - *charge <= 0)
        return 0;
    if (d->form == CAP_XI_COPY) {
        /* element by element, forward: where the destination overlaps the
         * source after its start, what was stored is read again */
        if ((uintptr_t)p1 > (uintptr_t)p0 && (uintptr_t)p1 < (uintptr_t)p0 + nb) {
            for (size_t k = 0; k < nb; k++)
                p1[k] = p0[k];
        } else {
            memmove(p1, p0, nb);
        }
    } else {
        uint16_t v = d->vk == CAP_XK_L ? lv[d->v] : (uint16_t)d->v;
        if (!d->shorts)
            memset(p1, (uint8_t)v, nb);
        else
            for (uint32_t k = 0; k < cnt; k++)
                vm_wr16(p1 + 2u * k, v);
    }
    lv[d->i] = (uint16_t)n;
    return 1;
}

static int run(vm_runtime *rt, cap_xmethod *xm0, cap_target t, uint16_t *lv, uint16_t *ret, int *has_ret);

/* Run method t (translated now if it is not yet) with its arguments at lv. */
static int exec(vm_runtime *rt, cap_target t, uint16_t *lv, unsigned nargs, uint16_t *ret, int *has_ret)
{
    (void)nargs;
    cap_xmethod *xm;
    int xr = vm_cap_xmethod(rt->pkgs[t.slot].cap, t.offset, &xm);
    if (xr == VM_ERR_NOMEM)
        return VM_ERR_NOMEM;
    if (xr != 0) {
        rt->uncaught = vm_exception_object(rt, VM_SC_SecurityException, 0);
        return VM_RUN_THROWN;
    }
    return run(rt, xm, t, lv, ret, has_ret);
}

/* The loop: translated method xm0 (cap_xlat.c) of package t.slot. */
/* A method's first run: each op's handler, and its loop regions as
 * machine code when the runtime asks for it (cap_jit.h; a region the
 * generator cannot take, or no memory for it, stays with the handlers). */
static void thread_method(vm_runtime *rt, cap_xmethod *xm, const void *const *labels)
{
    for (unsigned i = 0; i < xm->nops; i++)
        xm->ops[i].h = labels[xm->ops[i].id];
    if (rt->cfg.native)
        (void)cap_jit_method(xm);
    xm->threaded = 1;
}

static int run(vm_runtime *rt, cap_xmethod *xm0, cap_target t, uint16_t *lv, uint16_t *ret, int *has_ret)
{
    /* The package, its method component and constant pool are re-read at
     * each use (calls, switches, handlers, the plain switch: none on a
     * loop's path), so that no register or stack slot is held for them
     * across the loop. */
#define P (rt->pkgs[t.slot].cap)
#define M (P->view.methods)
#define cpr (P->cpr)
    static const void *const labels[] = {
        &&x_GENERIC, &&x_PUSH_L, &&x_PUSH_C, &&x_STORE_L, &&x_MOV_L, &&x_MOV_C,
        &&x_INSERT_L, &&x_INSERT_C,
        &&x_SINC, &&x_SINC_GOTO, &&x_POP, &&x_DUP, &&x_GOTO,
        &&x_RETURN, &&x_SRETURN, &&x_ATHROW, &&x_TABLESWITCH, &&x_LOOKUPSWITCH,
        &&x_INVOKE, &&x_GETFIELD_THIS, &&x_GETSTATIC, &&x_SINK, &&x_CALL, &&x_VCALL, &&x_APICALL,
        X_BINOPS_FAST(LBL_BIN) LBL_BIN_SLOW LBL_BIN_SLOW
        X_CONDS(LBL_CMP)
        X_CONDS(LBL_ZCMP)
        LBL_ELEM(B) LBL_ELEM(S)
        LBL_STORE(B) LBL_STORE(S)
        X_CONDS(LBL_SINC_CMP)
        X_CONDS(LBL_GOTO_CMP)
        &&x_LOOP_ENTER, &&x_SRETURN_L, &&x_SRETURN_C, &&x_ARRAYLENGTH_S, &&x_ARRAYLENGTH_L,
        LBL_DIVC(DIV) LBL_DIVC(REM)
        LBL_ELEM(U)
        X_CONDS(LBL_ECMP)
        &&x_IDIOM,
        X_KP(LBL_CALLA, CALL) X_KP(LBL_CALLA, VCALL) X_KP(LBL_CALLA, API)
        X_BINOPS(LBL_BINR) &&x_BINR_ADD_LL, &&x_BINR_ADD_LC,
        X_KP(LBL_CALLA2, CALL, L) X_KP(LBL_CALLA2, CALL, C) X_KP(LBL_CALLA2, VCALL, L) X_KP(LBL_CALLA2, VCALL, C)
        X_KP(LBL_CALLA2, API, L) X_KP(LBL_CALLA2, API, C)
        LBL_GRET(L) LBL_GRET(C)
    };
    /* what x_INVOKE quickens a resolved invokestatic to, per id: x_CALL's,
     * then in id order CAP_X_CALLA's and CAP_X_CALLA2's CALL forms */
    static const void *const static_labels[] = { &&x_CALL_STATIC, X_KP(LBL_CALLA, STATIC) };
    static const void *const static2_labels[] = { X_KP(LBL_CALLA2, STATIC, L) X_KP(LBL_CALLA2, STATIC, C) };
    /* ... and CAP_X_CALLA's CALL forms whose callee opens with a guard on
     * that argument (guard_at_entry) */
#define LBL_CALLG(U_, K) &&x_CALLG_##K,
    static const void *const callg_labels[] = { X_KP(LBL_CALLG, _) };
    _Static_assert(sizeof labels / sizeof labels[0] == CAP_X_COUNT, "one label per enum cap_x_id");
    if (!xm0->threaded)
        thread_method(rt, xm0, labels);
    if (rt->cap_depth >= rt->cfg.max_frames ||
        (size_t)(lv - rt->stack) + xm0->frame > rt->cfg.stack_slots) {
        rt->uncaught = vm_exception_object(rt, VM_SC_StackOverflowError, 0);
        return VM_RUN_THROWN;
    }
    rt->cap_depth++;
    /* the locals past the arguments are not zeroed: the verifier types
     * them unusable until a store (cap_verify_code.c, T_TOP), so no
     * bytecode reads what the stack held before (docs/vm.md, "calls") */
    uint16_t saved_top = rt->cap_top;
    rt->cap_top = (uint16_t)(lv + xm0->frame - rt->stack);
    uint16_t *sp = lv + xm0->nlocals;
    cap_xop *xo = xm0->ops;
    const uint8_t *pc;
    /* The budget left, minus one: run out when it is negative. A test for
     * < 0 is the sign of the subtraction that charged it (sub; js), where
     * budget <= 0 takes a compare of its own after it (the variable is in
     * memory across this function's calls). */
    int64_t bm1 = rt->cap_budget - xm0->entry_w - 1;
    /* Calls to methods of this package run in this loop (no C call, no
     * lookup): the callers' state while they do (a caller's stack top is
     * its callee's lv: the arguments were its top). Deeper nests recurse.
     * rt->cap_top stays this C frame's: it matters only to C callees, and
     * a C call sets it. rt->cap_depth counts this loop once: the inline
     * frames (frp - fr) are added around the C calls that may look at it
     * (x_INVOKE, x_APICALL), not at every inline call and return. */
    enum { INLINE_FRAMES = 24 };
    /* A frame: the method running in it, and its caller's call op and
     * locals. The running method is read from the top frame (XM), not
     * kept in a variable of its own: a call stores it once, a return
     * reloads nothing for it, and the loop keeps one register free. */
    struct inline_frame {
        cap_xmethod *xm;
        cap_xop *call;
        uint16_t *lv;
        uintptr_t lim;      /* the stack's end, or 0 at fr_lim (ENTER_FRAME); 32 bytes: the frame count frp - fr is a shift */
    } frs[2 + INLINE_FRAMES];
    /* frs[0] (fr[-1]) is this loop's own caller: a return pops it like an
     * inline frame and lands on x_EXIT, so the return ops do not test
     * whether a frame is inlined (the unwinding and counts use fr) */
    static const cap_xop exit_ops[2] = { { .h = NULL }, { .h = &&x_EXIT } };
    struct inline_frame *const fr = frs + 1;
    cap_xmethod *callee;
    struct inline_frame *frp = fr;     /* the next free frame */
#define XM (frp[-1].xm)                 /* the running method */
    /* past the inline frames this loop may open: INLINE_FRAMES, or fewer
     * up to max_frames */
    struct inline_frame *const fr_lim = fr + (rt->cfg.max_frames - rt->cap_depth < INLINE_FRAMES ?
                                              rt->cfg.max_frames - rt->cap_depth : INLINE_FRAMES);
    for (struct inline_frame *f = fr; f < fr_lim; f++)
        f->lim = (uintptr_t)(rt->stack + rt->cfg.stack_slots);
    fr_lim->lim = 0;
    frs[0].xm = xm0;
    frs[0].call = (cap_xop *)&exit_ops[0];   /* never written: x_EXIT reads nothing */
    frs[0].lv = lv;
    int result = VM_RUN_DONE;
    uint16_t exc = 0;
    int r;
    vm_obj *o;
    int xc;
    uint16_t retv;
    /* a loop region's checked arrays (AR_Q), ac_none until the first use */
    vm_obj ac_none = {0};
    vm_obj *ac[CAP_X_SLOTS];
    for (unsigned i = 0; i < CAP_X_SLOTS; i++)
        ac[i] = &ac_none;

#define THROW_SC(sc) do { exc = exc_new(rt, (sc), rt->exc_reason[(sc) - VM_SC_Object]); goto throw_it; } while (0)
#define THROW_NEW(sc, reason) do { exc = exc_new(rt, (sc), (reason)); goto throw_it; } while (0)
/* A virtual call's receiver handle h_: not null, a live object, and
 * reachable from the current context (into *o). JCRE-owned objects an
 * applet can reach are entry points (AID objects, the APDU object): their
 * methods are callable from every context. */
#define CHECK_RECEIVER(h_)                                                                              \
    do {                                                                                                \
        if ((h_) == 0)                                                                                  \
            THROW_NEW(VM_SC_NullPointerException, 0);                                                   \
        if ((h_) >= rt->obj_cap || (o = &rt->objs[(h_)])->kind == VM_OBJ_FREE)                          \
            THROW_NEW(VM_SC_SecurityException, 0);                                                      \
        if (o->pkg != rt->ctx && rt->ctx != 0 && o->pkg != 0 && !(o->flags & VM_OF_GLOBAL))             \
            THROW_NEW(VM_SC_SecurityException, 0);                                                      \
    } while (0)
#define REF(o_, h_) do { if (!((o_) = vm_ref(rt, (h_), &xc))) THROW_NEW((uint16_t)xc, 0); } while (0)
/* An array this context may use (vm_ref's checks, inline): null, a free
 * or forged handle, another context's object, not an array. */
#define ARRAY(o_, h_) do { uint16_t h__ = (h_); \
        if (h__ >= rt->obj_cap) { THROW_NEW(h__ ? VM_SC_SecurityException : VM_SC_NullPointerException, 0); } \
        (o_) = &rt->objs[h__]; \
        /* null fails the kind test too (handle 0 is never an object), \
         * so it needs no test of its own on the path that passes */ \
        if (!is_array((o_)->kind)) { THROW_NEW(h__ ? VM_SC_SecurityException : VM_SC_NullPointerException, 0); } \
        if ((o_)->pkg != rt->ctx && rt->ctx != 0 && !((o_)->flags & VM_OF_GLOBAL)) \
            THROW_NEW(VM_SC_SecurityException, 0); } while (0)
/* The same for the element ops, whose element size is known: one range
 * test covers null (handle 0 is never an object), a free handle and the
 * kind (byte ops: byte[] and boolean[], short ops: short[] and Object[],
 * 2-byte elements). */
#define ARRAY_K(o_, h_, k0_) do { uint16_t h__ = (h_); \
        if (h__ >= rt->obj_cap) { THROW_NEW(VM_SC_SecurityException, 0); } \
        (o_) = &rt->objs[h__]; \
        if ((uint8_t)((o_)->kind - (k0_)) > 1) { THROW_NEW(h__ ? VM_SC_SecurityException : VM_SC_NullPointerException, 0); } \
        if ((o_)->pkg != rt->ctx && rt->ctx != 0 && !((o_)->flags & VM_OF_GLOBAL)) \
            THROW_NEW(VM_SC_SecurityException, 0); } while (0)
#define ARRAY_B(o_, h_) ARRAY_K(o_, h_, VM_OBJ_BYTES)
#define ARRAY_S(o_, h_) ARRAY_K(o_, h_, VM_OBJ_SHORTS)
#define ARRAY_U(o_, h_) ARRAY_B(o_, h_)    /* zero-extending byte loads (ELEMU) */
#define CHECK(expr) do { r = (expr); if (r < 0) { result = r; goto out; } if (r > 0) { exc = thrown_object(rt, r); goto throw_it; } } while (0)
/* Who is about to write NVM (vm.h, vm_nvm_writer): kept only with a hook. */
#define NOTE_WRITER() do { if (rt->nvm_hook) { rt->writer.pkg = (int16_t)t.slot; rt->writer.method = XM->offset; \
            rt->writer.pc = (uint16_t)(xo->pc - XM->code_offset); } } while (0)
#define DISPATCH goto *xo->h
/* The frame's words stored one by one: GCC (SLP) packs two adjacent
 * pointer stores into a vector register (movq, movq, punpcklqdq, movaps: 4
 * instructions for 2, on every call); an empty asm that may change frp
 * hides their adjacency. The caller's lv is stored first: after the asm,
 * GCC 12 copied frp into another register for the stores (one mov more a
 * call), and with frp++ first run() fell over the register-allocation
 * cliff (docs/vm.md, "guard returns"). */
#define FRAME_SPLIT() __asm__("" : "+r"(frp))
/* Into callee's inline frame, its arguments at sp (as in run()): the
 * frame count is fr_lim's (x_INVOKE's run() throws past max_frames), the
 * callee is threaded (x_INVOKE did it), its locals are not zeroed (run(),
 * entry). One copy per kind of call: each keeps its registers. */
#define ENTER_INLINE() ENTER_FRAME(2u * callee->frame, if (frp >= fr_lim) { \
                sp += callee->nargs; \
                goto x_INVOKE; \
            })
/* The frame's lim is the stack's end, or 0 past the inline frames this loop
 * may open (fr_lim): one test of the stack space covers the frame count
 * too; `full` tells the two apart (x_INVOKE has tested the count before its
 * enter_inline, the other calls have not: past fr_lim they go to x_INVOKE
 * with their arguments pushed, which recurses into run()). */
/* The caller's state into the next inline frame; the callee's locals at
 * clv_ (its arguments first), its stack after them. */
#define PUSH_FRAME(clv_) do { \
        frp->lv = lv; frp->xm = callee; FRAME_SPLIT(); frp->call = xo; frp++; \
        lv = (clv_); sp = lv + callee->nlocals; } while (0)
#define ENTER_FRAME(frame_bytes, full) do { \
        if ((uintptr_t)sp + (frame_bytes) > frp->lim) {   /* as integers: no pointer past the end */ \
            full; \
            sp += callee->nargs; \
            THROW_NEW(VM_SC_StackOverflowError, 0); \
        } \
        PUSH_FRAME(sp); xo = callee->ops; \
        bm1 -= callee->entry_w; \
        if (bm1 < 0) \
            goto out_of_budget; \
        DISPATCH; } while (0)
/* A quickened invokestatic: the callee's lv and frame size from the op
 * (x_INVOKE computed them once); `stored` arguments are at sp, not yet
 * pushed (CALLA), and pushed for x_INVOKE */
#define ENTER_STATIC(stored) do { \
        callee = xo->txm; \
        sp = (uint16_t *)(void *)((char *)sp - xo->argb); \
        ENTER_FRAME(xo->frameb, if (frp >= fr_lim) { \
                sp = (uint16_t *)(void *)((char *)sp + xo->argb) + (stored); \
                goto x_INVOKE; \
            }); } while (0)
/* Back to the caller of an inline frame, at its call op. */
#define POP_FRAME() do { frp--; sp = lv; lv = frp->lv; xo = frp->call; } while (0)
#define NEXT do { xo++; DISPATCH; } while (0)
/* A taken branch charges the run at its target and tests the budget; a
 * branch not taken charges the run after it. */
#define TAKE do { bm1 -= xo->wt; xo = (cap_xop *)xo->p; if (bm1 < 0) { goto out_of_budget; } DISPATCH; } while (0)
#define FALL do { bm1 -= xo->wf; xo++; DISPATCH; } while (0)
/* Jump to the op at method-code offset `cpc` (switches, handlers). */
#define JUMP_PC(cpc) do { uint32_t c__ = (cpc); \
        if (c__ >= XM->code_len || XM->op_at[c__] == 0xFFFF) { THROW_NEW(VM_SC_SecurityException, 0); } \
        bm1 -= XM->w_at[c__]; xo = &XM->ops[XM->op_at[c__]]; \
        if (bm1 < 0) { goto out_of_budget; } DISPATCH; } while (0)

    if (bm1 < 0)
        goto out_of_budget;
    DISPATCH;

    x_PUSH_L: *sp++ = lv[xo->a]; NEXT;
    x_PUSH_C: *sp++ = (uint16_t)xo->a; NEXT;
    x_STORE_L: lv[xo->c] = *--sp; NEXT;
    x_MOV_L: lv[xo->c] = lv[xo->a]; NEXT;
    x_MOV_C: lv[xo->c] = (uint16_t)xo->a; NEXT;
    x_SINC: lv[xo->a] = (uint16_t)(lv[xo->a] + xo->b); NEXT;
    x_SINC_GOTO: lv[xo->a] = (uint16_t)(lv[xo->a] + xo->b); TAKE;
    x_POP: sp--; NEXT;
    x_DUP: sp[0] = sp[-1]; sp++; NEXT;
    x_GOTO: TAKE;
    x_RETURN:
        POP_FRAME();   /* fr[-1] included: then x_EXIT */
        NEXT;
    /* each return pops its frame itself (fr[-1] included: then x_EXIT):
     * one copy per kind keeps its registers */
    x_SRETURN_L:
        retv = lv[xo->a];
        POP_FRAME();
        *sp++ = retv;
        NEXT;
    x_SRETURN_C:
        retv = (uint16_t)xo->a;
        POP_FRAME();
        *sp++ = retv;
        NEXT;
    x_SRETURN:
        retv = sp[-1];
        POP_FRAME();
        *sp++ = retv;
        NEXT;
    /* after the return of this loop's first method (fr[-1] popped): its
     * lv, and the value above it if it returned one */
    x_EXIT:
        if (sp != lv) {
            *ret = sp[-1];
            *has_ret = 1;
        }
        goto out;
    x_TABLESWITCH: {
        pc = (const uint8_t *)xo->p + 1;
        int16_t def = (int16_t)RD16(pc), low = (int16_t)RD16(pc + 2), high = (int16_t)RD16(pc + 4);
        int16_t k = (int16_t)*--sp;
        int off = k < low || k > high ? def : (int16_t)RD16(pc + 6 + 2 * (k - low));
        JUMP_PC((uint32_t)((const uint8_t *)xo->p - (M + XM->code_offset) + off));
    }
    x_LOOKUPSWITCH: {
        pc = (const uint8_t *)xo->p + 1;
        int16_t def = (int16_t)RD16(pc);
        uint16_t npairs = RD16(pc + 2);
        int16_t k = (int16_t)*--sp;
        const uint8_t *pairs = pc + 4;
        int off = def;
        unsigned lo = 0, hi = npairs;
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            int16_t key = (int16_t)RD16(pairs + 4 * mid);
            if (key == k) {
                off = (int16_t)RD16(pairs + 4 * mid + 2);
                break;
            }
            if (key < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        JUMP_PC((uint32_t)((const uint8_t *)xo->p - (M + XM->code_offset) + off));
    }
    /* quickened at its first run by the field's kind (a 1: byte, sign
     * extended), so that no run after tests it */
    x_GETFIELD_THIS:
        xo->h = xo->a == 1 ? &&x_GETFIELD_THIS_B : &&x_GETFIELD_THIS_S;
        DISPATCH;
#define GETFIELD_THIS(EXT) { \
        uint16_t h = lv[0]; \
        /* this context's instance: vm_ref's checks inline, else vm_ref */ \
        if (__builtin_expect(h < rt->obj_cap && rt->objs[h].kind == VM_OBJ_INSTANCE && rt->objs[h].pkg == rt->ctx, 1)) \
            o = &rt->objs[h]; \
        else \
            REF(o, h); \
        uint16_t slot = (uint16_t)xo->b; \
        if (o->kind != VM_OBJ_INSTANCE || slot >= o->length) \
            THROW_NEW(VM_SC_SecurityException, 0); \
        uint16_t v = vm_rd16(o->data + 2 * (size_t)slot); \
        *sp++ = EXT(v); \
        NEXT; }
#define EXT_B(v_) (uint16_t)(int16_t)(int8_t)(v_)
#define EXT_S(v_) (v_)
    x_GETFIELD_THIS_B: GETFIELD_THIS(EXT_B)
    x_GETFIELD_THIS_S: GETFIELD_THIS(EXT_S)
#undef GETFIELD_THIS
#undef EXT_B
#undef EXT_S
    x_GETSTATIC: {
        const cap_cpr *c = xo->p;
        const uint8_t *p = rt->nvm + rt->pkgs[c->slot].statics_off + c->a;
        *sp++ = xo->a ? (uint16_t)(int16_t)(int8_t)p[0] : vm_rd16(p);
        NEXT;
    }
    /* a value put m >= 1 words below the top (m is small: the words
     * pushed since it became pending), the words moved one by one. The
     * top word moves outside the loop: m is 1 in javac's argument lists
     * (`f(o.a, i, o.b, j)`: a field read pushed over a pending local),
     * where a loop became a call of memmove (GCC), 4 times the op's cost */
#define INSERT(v) { \
        int m = xo->b; \
        sp[0] = sp[-1]; \
        for (int i = 1; i < m; i++) \
            sp[-i] = sp[-i - 1]; \
        sp[-m] = (v); \
        sp++; \
        NEXT; }
    /* one copy each: a shared tail was one jump more */
    x_INSERT_L: INSERT(lv[xo->a])
    x_INSERT_C: INSERT((uint16_t)xo->a)
#undef INSERT
    x_SINK: {
        int m = xo->b;
        uint16_t v = sp[-1];
        for (int i = 1; i <= m; i++)
            sp[-i] = sp[-i - 1];
        sp[-m - 1] = v;
        NEXT;
    }
    X_BINOPS_FAST(H_BIN)
    /* The binops without a handler of their own: two constants (javac
     * folds constant expressions, so converter output has next to none)
     * and sdiv / srem whose divisor is not a constant of DIVC's (1 of the
     * 4 divisions in the CAP files of op_pairs.sh). Their forms are
     * decoded here, the operation is BIN_*'s: each label takes a place in
     * run()'s register-allocation budget (docs/vm.md, "Register
     * allocation of the loop"), and these 54 had nothing to buy with it. */
#define PUT_V(v) (v_ = (uint16_t)(v))
    x_BIN_SLOW: {
        unsigned rel = (unsigned)(xo->id - CAP_X_BIN);
        unsigned kb = rel / 2 % CAP_XK_COUNT, ka = rel / (2 * CAP_XK_COUNT) % CAP_XK_COUNT;
        uint16_t b_ = kb == CAP_XK_S ? *--sp : kb == CAP_XK_L ? lv[xo->b] : (uint16_t)xo->b;
        uint16_t a_ = ka == CAP_XK_S ? *--sp : ka == CAP_XK_L ? lv[xo->a] : (uint16_t)xo->a;
        uint16_t v_ = 0;
        switch (rel / (2 * CAP_XK_COUNT * CAP_XK_COUNT)) {
        case CAP_XB_ADD: BIN_ADD(PUT_V); break;
        case CAP_XB_SUB: BIN_SUB(PUT_V); break;
        case CAP_XB_MUL: BIN_MUL(PUT_V); break;
        case CAP_XB_AND: BIN_AND(PUT_V); break;
        case CAP_XB_OR: BIN_OR(PUT_V); break;
        case CAP_XB_XOR: BIN_XOR(PUT_V); break;
        case CAP_XB_SHL: BIN_SHL(PUT_V); break;
        case CAP_XB_SHR: BIN_SHR(PUT_V); break;
        case CAP_XB_USHR: BIN_USHR(PUT_V); break;
        case CAP_XB_DIV: BIN_DIV(PUT_V); break;
        default: BIN_REM(PUT_V); break;
        }
        if (rel % 2)
            lv[xo->c] = v_;
        else
            *sp++ = v_;
        NEXT;
    }
#undef PUT_V
    X_BINOPS(H_BINR)
    H_BINR_D(ADD, L, L)
    H_BINR_D(ADD, L, C)
    X_CONDS(H_CMP)
    X_CONDS(H_ZCMP)
    H_ELEM(B) H_ELEM(S)
    H_STORE(B) H_STORE(S)
    X_CONDS(H_SINC_CMP)
    X_CONDS(H_GOTO_CMP)
    H_GRET(L) H_GRET(C)
    x_LOOP_ENTER:
        for (unsigned i = 0; i < CAP_X_SLOTS; i++)
            ac[i] = &ac_none;
        if (xo->p && rt->cfg.native) {
            /* the region as machine code (cap_jit.h): back here at the op
             * where the loop goes on, or where the budget ran out */
            cap_jit_frame jf = { lv, sp, bm1, ac, &ac_none, rt, 0 };
            rt->native_entries++;
            xo = (cap_xop *)cap_jit_entry_of(xo)(&jf);
            sp = jf.sp;
            bm1 = jf.bm1;
            if (jf.stop)
                goto out_of_budget;
            DISPATCH;
        }
        NEXT;
    H_DIVC(DIV) H_DIVC(REM)
    H_ELEM(U)
    X_CONDS(H_ECMP)
    x_IDIOM: {
        /* a loop idiom run whole (idiom_run), else the loop's own ops */
        const cap_xidiom *di_ = xo->p;
        int64_t ch_;
        int w_ = idiom_run(rt, di_, lv, bm1 + 1, &ch_);
        if (!w_)
            NEXT;
        bm1 -= ch_;
        xo = (cap_xop *)(w_ == 1 ? di_->exit : di_->mexit);
        DISPATCH;
    }
    /* one copy per operand kind: a shared tail cost each a jump */
    x_ARRAYLENGTH_S:
        retv = *--sp;
        ARRAY(o, retv);   /* vm_ref's checks and the kind, inline (the same exceptions) */
        *sp++ = o->length;
        NEXT;
    x_ARRAYLENGTH_L:
        ARRAY(o, lv[xo->a]);
        *sp++ = o->length;
        NEXT;

    x_INVOKE: {
            pc = xo->p;
            uint8_t op = *pc++;
            NOTE_WRITER();
            cap_target tg;
            unsigned n;
            const cap_cpr *c;
            int switched = 0;
            callee = NULL;
            if (op == 0x8E) {
                n = pc[0];
                c = &cpr[RD16(pc + 1)];
                uint8_t mtok = pc[3];
                pc += 4;
                uint16_t h = sp[-(int)n];
                if (h == 0)
                    THROW_NEW(VM_SC_NullPointerException, 0);
                if (h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE)
                    THROW_NEW(VM_SC_SecurityException, 0);
                o = &rt->objs[h];
                /* inline cache: the target depends on the class only */
                if (xo->vcls == o->cls) {
                    tg = xo->vt;
                } else {
                    int vtok = interface_token(rt, o->cls, c->cls, mtok);
                    if (vtok < 0 || virtual_target(rt, o->cls, (uint8_t)vtok, &tg) != 0)
                        THROW_NEW(VM_SC_SecurityException, 0);
                    xo->vcls = o->cls;
                    xo->vt = tg;
                    xo->txm = NULL;
                    if (!tg.api && tg.slot == t.slot && tg.offset != 0xFFFF &&
                        vm_cap_xmethod(P, tg.offset, &xo->txm) != 0)
                        xo->txm = NULL;
                }
                if (o->pkg != rt->ctx && rt->ctx != 0 && !(o->flags & VM_OF_GLOBAL)) {
                    /* another context's object: only through a Shareable
                     * interface, and the call runs in the owner's context */
                    uint16_t shareable = 0;
                    const jc_api_class *sh = jc_api_class_by_name("javacard/framework/Shareable", NULL);
                    if (sh)
                        shareable = vm_api_class_id(sh);
                    if (!shareable || !vm_cap_class_is(rt, c->cls, shareable) || o->pkg == 0)
                        THROW_NEW(VM_SC_SecurityException, 0);
                    if (ctx_push(rt, o->pkg, instance_of_package(rt, o->pkg, h)) != 0)
                        THROW_NEW(VM_SC_SecurityException, 0);
                    switched = 1;
                }
                callee = xo->txm;
            } else {
                c = &cpr[RD16(pc)];
                pc += 2;
                if (op == 0x8B) {
                    n = c->nargs;
                    uint16_t h = sp[-(int)n];
                    CHECK_RECEIVER(h);
                    uint16_t cls = o->cls;
                    if (is_array(o->kind))
                        cls = VM_CLS_API(0, 0);   /* java.lang.Object */
                    /* inline cache: the target depends on the class only */
                    if (xo->vcls == cls) {
                        tg = xo->vt;
                    } else {
                        if (virtual_target(rt, cls, c->token, &tg) != 0)
                            THROW_NEW(VM_SC_SecurityException, 0);
                        xo->vcls = cls;
                        xo->vt = tg;
                        xo->txm = NULL;
                        if (!tg.api && tg.slot == t.slot && tg.offset != 0xFFFF &&
                            vm_cap_xmethod(P, tg.offset, &xo->txm) != 0)
                            xo->txm = NULL;
                    }
                    callee = xo->txm;
                } else {
                    tg = c->t;
                    if (tg.api) {
                        n = tg.api->nargs;
                    } else if (tg.slot == t.slot && (xo->txm || vm_cap_xmethod(P, tg.offset, &xo->txm) == 0)) {
                        callee = xo->txm;
                        n = callee->nargs;
                        /* resolved for good: quickened, with the sizes
                         * its entry needs (CALLA: its argument is stored
                         * at the top, not pushed) */
                        unsigned fused = xo->id >= CAP_X_CALLA && xo->id < CAP_X_CALLA + (CAP_XK_ICOUNT - 1) ? 1
                                       : xo->id >= CAP_X_CALLA2 && xo->id < CAP_X_CALLA2 + 2 * (CAP_XK_ICOUNT - 1) ? 2 : 0;
                        if (op == 0x8D && (xo->id == CAP_X_CALL || fused)) {
                            xo->argb = (uint16_t)(2 * (n - (fused != 0)));   /* the last argument at the top */
                            xo->frameb = (uint16_t)(2u * callee->frame);
                            xo->h = fused == 2 ? static2_labels[xo->id - CAP_X_CALLA2]
                                  : fused && guard_at_entry(callee) ? callg_labels[xo->id - CAP_X_CALLA]
                                  : static_labels[fused ? 1 + xo->id - CAP_X_CALLA : 0];
                        }
                    } else {
                        cap_pkg *tp = rt->pkgs[tg.slot].cap;
                        cap_xmethod *txm;
                        if (!tp || vm_cap_xmethod(tp, tg.offset, &txm) != 0)
                            THROW_NEW(VM_SC_SecurityException, 0);
                        n = txm->nargs;
                    }
                    if (op == 0x8C && n && sp[-(int)n] == 0)
                        THROW_NEW(VM_SC_NullPointerException, 0);
                }
            }
            uint16_t rv = 0;
            sp -= n;
            if (callee && !callee->threaded)
                thread_method(rt, callee, labels);
            if (callee && !switched && frp < fr_lim)
                goto enter_inline;
            rt->cap_budget = bm1 + 1;
            uint16_t saved = rt->cap_top;
            rt->cap_top = (uint16_t)(sp + n - rt->stack);
            rt->cap_depth = (uint16_t)(rt->cap_depth + (frp - fr));
            int has_rv = 0;
            /* a method of this package: its translation is at hand */
            r = callee ? run(rt, callee, tg, sp, &rv, &has_rv) : call_target(rt, tg, sp, n, &rv, &has_rv);
            rt->cap_depth = (uint16_t)(rt->cap_depth - (frp - fr));
            rt->cap_top = saved;
            bm1 = rt->cap_budget - 1;
            if (switched)
                ctx_pop(rt);
            if (r < 0) {
                result = r;
                goto out;
            }
            if (r == VM_RUN_BUDGET)
                goto out_of_budget;
            if (r == VM_RUN_THROWN) {
                exc = rt->uncaught;
                goto throw_it;
            }
            if (has_rv)
                *sp++ = rv;
            NEXT;
        }

    /* invokevirtual / invokeinterface (b: argument words) whose inline
     * cache holds a method of this package (x_INVOKE fills it): on an
     * instance of this context of the cached class, straight into the
     * inline frame; anything else goes the whole way */
    x_VCALL: {
        uint16_t *args = sp - (uint16_t)xo->b;   /* the receiver, then the arguments */
        uint16_t h = *args;
        callee = xo->txm;
        if (!callee || h >= rt->obj_cap)
            goto x_INVOKE;
        o = &rt->objs[h];
        /* null needs no test of its own: handle 0 is never an object (its
         * kind stays VM_OBJ_FREE), so the kind test sends it to x_INVOKE */
        if (o->cls != xo->vcls || o->kind != VM_OBJ_INSTANCE || o->pkg != rt->ctx)
            goto x_INVOKE;
        sp = args;
        ENTER_INLINE();
    }
    /* invokestatic / invokevirtual of an API method with one possible
     * target (static, final, or of a final class; the linker's cpr t):
     * the receiver checks of x_INVOKE, then its C function */
    x_APICALL: {
        const jc_api_method *m = xo->p;
        unsigned n = (unsigned)xo->b;
        if (xo->a) {
            uint16_t h = sp[-(int)n];
            CHECK_RECEIVER(h);
        }
        NOTE_WRITER();
        sp -= n;
        uint16_t rv = 0, saved = rt->cap_top;
        rt->cap_budget = bm1 + 1;
        rt->cap_top = (uint16_t)(sp + n - rt->stack);
        rt->thrown = 0;
        rt->cap_depth = (uint16_t)(rt->cap_depth + (frp - fr));   /* an API method may call back */
        r = m->fn(rt, sp, &rv);
        rt->cap_depth = (uint16_t)(rt->cap_depth - (frp - fr));
        rt->cap_top = saved;
        bm1 = rt->cap_budget - 1;
        if (r < 0) {
            result = r;
            goto out;
        }
        if (r > 0) {
            exc = thrown_object(rt, r);
            goto throw_it;
        }
        if (m->returns)
            *sp++ = rv;
        NEXT;
    }
    /* invokestatic / invokespecial of a method of this package, once
     * x_INVOKE has resolved it (xo->txm): straight into the inline frame */
    x_CALL:
        callee = xo->txm;
        if (!callee)
            goto x_INVOKE;
        /* invokespecial: this (an instance method: nargs >= 1, verifier) */
        if (xo->a && sp[-(int)callee->nargs] == 0)
            THROW_NEW(VM_SC_NullPointerException, 0);
        sp -= callee->nargs;
        goto enter_inline;
    /* invokestatic of a method of this package, quickened by x_INVOKE
     * once it resolved the callee (its target never changes: linked
     * statically): no test of txm, no receiver */
    x_CALL_STATIC:
        ENTER_STATIC(0);
    enter_inline:
        ENTER_INLINE();
    /* the same with the last argument pushed first (CAP_X_CALLA): the
     * quickened static form enters the callee itself, the others go on
     * as the op without it */
#define ARG_L lv[xo->c]
#define ARG_C (uint16_t)xo->c
#define ARG_LL (uint16_t)(lv[xo->c] + lv[xo->d])
#define ARG_LC (uint16_t)(lv[xo->c] + xo->d)
#define H_CALLA(U_, K) \
    x_CALLA_CALL_##K: *sp++ = ARG_##K; goto x_CALL; \
    x_CALLA_VCALL_##K: *sp++ = ARG_##K; goto x_VCALL; \
    x_CALLA_API_##K: *sp++ = ARG_##K; goto x_APICALL; \
    x_CALLA_STATIC_##K: *sp = ARG_##K; ENTER_STATIC(1);
    X_KP(H_CALLA, _)
    /* The same into a callee that opens with a guard return on the
     * pending argument (guard_at_entry: javac's `if (n < 2) return n;`
     * first): the guard is evaluated here on the value in retv, as GCC's
     * partial inlining does, and the frame is entered only when its
     * branch is taken, at the branch's target. A frame that does not fit
     * (stack space, frame count) takes the plain path first, which throws
     * as before; a charge that leaves the budget negative is checked for
     * whether the callee's entry run alone exhausted it, which stops where
     * the plain call stops. Returning, the entry run and the run the
     * return ends are charged (the latter untested, as FALL leaves it) and
     * the local or constant is the call's result: no frame, no dispatch
     * of the guard or of the return. */
#define H_CALLG(U_, K) x_CALLG_##K: retv = ARG_##K; *sp = retv; goto callg;
    X_KP(H_CALLG, _)
    callg: {
        callee = xo->txm;
        const cap_xop *g = callee->ops;
        uint16_t *clv = (uint16_t *)(void *)((char *)sp - xo->argb);
        if ((uintptr_t)clv + xo->frameb > frp->lim)
            ENTER_STATIC(1);
        if (GUARD_TAKEN(g, retv)) {
            PUSH_FRAME(clv);
            bm1 -= g->gtake;
            xo = (cap_xop *)g->p;
            if (bm1 < 0) {
                if (bm1 + g->gtake < callee->entry_w) {   /* at the entry, as the plain call stops */
                    bm1 += g->gtake - callee->entry_w;
                    xo = callee->ops;
                }
                goto out_of_budget;
            }
            DISPATCH;
        }
        bm1 -= g->gleaf;
        if (bm1 < 0 && bm1 + g->gleaf < callee->entry_w) {   /* the entry run alone runs out: the plain call */
            bm1 += g->gleaf;
            ENTER_STATIC(1);
        }
        *clv = g->id == CAP_X_GRET + 1 ? (uint16_t)g->c : clv[g->c];
        sp = clv + 1;
        NEXT;
    }
    /* CALLA2: the argument before the last from local or constant e */
#define PEN_L lv[xo->e]
#define PEN_C (uint16_t)xo->e
#define H_CALLA2(KP, K) \
    x_CALLA2_CALL_##KP##K: sp[0] = PEN_##KP; sp[1] = ARG_##K; sp += 2; goto x_CALL; \
    x_CALLA2_VCALL_##KP##K: sp[0] = PEN_##KP; sp[1] = ARG_##K; sp += 2; goto x_VCALL; \
    x_CALLA2_API_##KP##K: sp[0] = PEN_##KP; sp[1] = ARG_##K; sp += 2; goto x_APICALL; \
    x_CALLA2_STATIC_##KP##K: sp[0] = PEN_##KP; sp[1] = ARG_##K; sp++; ENTER_STATIC(1);
    X_KP(H_CALLA2, L) X_KP(H_CALLA2, C)

    x_ATHROW: {
            uint16_t h = sp[-1];
            if (h == 0)
                THROW_NEW(VM_SC_NullPointerException, 0);
            if (h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE)
                THROW_NEW(VM_SC_SecurityException, 0);
            exc = h;
            goto throw_it;
        }

    /* every other bytecode: one at a time through the plain switch (it
     * keeps every straight-line bytecode; the translation sends here only
     * those without an op of their own) */
    x_GENERIC: {
        pc = xo->p;
        uint8_t op = *pc++;
        switch (op) {
        case 0x00: break;                                   /* nop */
        case 0x01: *sp++ = 0; break;                        /* aconst_null */
        case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08:
            *sp++ = (uint16_t)(int16_t)(op - 0x03); break;  /* sconst_m1..5 */
        case 0x10: *sp++ = (uint16_t)(int16_t)(int8_t)*pc++; break;   /* bspush */
        case 0x11: *sp++ = RD16(pc); pc += 2; break;        /* sspush */
        case 0x15: case 0x16: *sp++ = lv[*pc++]; break;     /* aload sload */
        case 0x18: case 0x19: case 0x1A: case 0x1B: *sp++ = lv[op - 0x18]; break;
        case 0x1C: case 0x1D: case 0x1E: case 0x1F: *sp++ = lv[op - 0x1C]; break;
        case 0x28: case 0x29: lv[*pc++] = *--sp; break;     /* astore sstore */
        case 0x2B: case 0x2C: case 0x2D: case 0x2E: lv[op - 0x2B] = *--sp; break;
        case 0x2F: case 0x30: case 0x31: case 0x32: lv[op - 0x2F] = *--sp; break;
        case 0x24: case 0x25: case 0x26: {                  /* aaload baload saload */
            uint16_t idx = sp[-1], h = sp[-2];
            sp -= 2;
            REF(o, h);
            if (!is_array(o->kind))
                THROW_NEW(VM_SC_SecurityException, 0);
            if ((int16_t)idx < 0 || idx >= o->length)
                THROW_NEW(VM_SC_ArrayIndexOutOfBoundsException, 0);
            if (op == 0x25)
                *sp++ = (uint16_t)(int16_t)(int8_t)o->data[idx];
            else
                *sp++ = vm_rd16(o->data + 2 * (size_t)idx);
            break;
        }
        case 0x37: case 0x38: case 0x39: {                  /* aastore bastore sastore */
            uint16_t v = sp[-1], idx = sp[-2], h = sp[-3];
            NOTE_WRITER();
            sp -= 3;
            REF(o, h);
            if (!is_array(o->kind))
                THROW_NEW(VM_SC_SecurityException, 0);
            if ((int16_t)idx < 0 || idx >= o->length)
                THROW_NEW(VM_SC_ArrayIndexOutOfBoundsException, 0);
            if (op == 0x38) {
                uint8_t b = (uint8_t)v;
                if (o->kind == VM_OBJ_BOOLS)
                    b &= 1;
                CHECK(vm_obj_store(rt, o, idx, &b, 1, 1));
            } else {
                if (op == 0x37 && v) {
                    vm_obj *e = v < rt->obj_cap ? &rt->objs[v] : NULL;
                    if (!e || e->kind == VM_OBJ_FREE)
                        THROW_NEW(VM_SC_SecurityException, 0);
                    if (!cast_ok(rt, e, 0, o->cls))
                        THROW_NEW(VM_SC_ArrayStoreException, 0);
                }
                uint8_t b[2];
                vm_wr16(b, v);
                CHECK(vm_obj_store(rt, o, 2u * idx, b, 2, 1));
            }
            break;
        }
        case 0x3B: sp--; break;                             /* pop */
        case 0x3C: sp -= 2; break;                          /* pop2 */
        case 0x3D: sp[0] = sp[-1]; sp++; break;             /* dup */
        case 0x3E: sp[0] = sp[-2]; sp[1] = sp[-1]; sp += 2; break;   /* dup2 */
        case 0x3F: {                                        /* dup_x mn */
            unsigned m = *pc >> 4, n = *pc & 15;
            pc++;
            uint16_t top[8];
            memcpy(top, sp - m, m * sizeof *sp);
            if (n == 0) {
                memcpy(sp, top, m * sizeof *sp);
            } else {
                /* insert a copy of the top m words n words down */
                memmove(sp - n + m, sp - n, n * sizeof *sp);
                memcpy(sp - n, top, m * sizeof *sp);
            }
            sp += m;
            break;
        }
        case 0x40: {                                        /* swap_x mn */
            unsigned m = *pc >> 4, n = *pc & 15;
            pc++;
            uint16_t tmp[8];
            memcpy(tmp, sp - m, m * sizeof *sp);
            memmove(sp - n, sp - m - n, n * sizeof *sp);
            memcpy(sp - m - n, tmp, m * sizeof *sp);
            break;
        }
        case 0x41: sp[-2] = (uint16_t)(sp[-2] + sp[-1]); sp--; break;
        case 0x43: sp[-2] = (uint16_t)(sp[-2] - sp[-1]); sp--; break;
        case 0x45: sp[-2] = (uint16_t)((int16_t)sp[-2] * (int16_t)sp[-1]); sp--; break;
        case 0x47: case 0x49: {                             /* sdiv srem */
            int16_t b = (int16_t)sp[-1], a = (int16_t)sp[-2];
            if (b == 0)
                THROW_NEW(VM_SC_ArithmeticException, 0);
            int32_t q = (int32_t)a / b, m = (int32_t)a % b;
            sp[-2] = (uint16_t)(op == 0x47 ? q : m);
            sp--;
            break;
        }
        case 0x4B: sp[-1] = (uint16_t)(-(int16_t)sp[-1]); break;
        case 0x4D: sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] << (sp[-1] & 31)); sp--; break;
        case 0x4F: sp[-2] = (uint16_t)((int32_t)(int16_t)sp[-2] >> (sp[-1] & 31)); sp--; break;
        case 0x51: sp[-2] = (uint16_t)((uint32_t)(int32_t)(int16_t)sp[-2] >> (sp[-1] & 31)); sp--; break;
        case 0x53: sp[-2] &= sp[-1]; sp--; break;
        case 0x55: sp[-2] |= sp[-1]; sp--; break;
        case 0x57: sp[-2] ^= sp[-1]; sp--; break;
        case 0x59: lv[pc[0]] = (uint16_t)(lv[pc[0]] + (int8_t)pc[1]); pc += 2; break;   /* sinc */
        case 0x96: lv[pc[0]] = (uint16_t)(lv[pc[0]] + (int16_t)RD16(pc + 1)); pc += 3; break;  /* sinc_w */
        case 0x5B: sp[-1] = (uint16_t)(int16_t)(int8_t)sp[-1]; break;  /* s2b */

        /* statics: u2 CP index; byte offsets into the owner's image */
        case 0x7B: case 0x7C: case 0x7D: {
            const cap_cpr *c = &cpr[RD16(pc)];
            pc += 2;
            const uint8_t *p = rt->nvm + rt->pkgs[c->slot].statics_off + c->a;
            *sp++ = op == 0x7C ? (uint16_t)(int16_t)(int8_t)p[0] : vm_rd16(p);
            break;
        }
        case 0x7F: case 0x80: case 0x81: {
            const cap_cpr *c = &cpr[RD16(pc)];
            NOTE_WRITER();
            pc += 2;
            uint16_t v = *--sp;
            uint8_t b[2];
            vm_wr16(b, v);
            uint32_t off = rt->pkgs[c->slot].statics_off + c->a;
            if (op == 0x80)
                CHECK(vm_nvm_store(rt, off, b + 1, 1, 1));
            else
                CHECK(vm_nvm_store(rt, off, b, 2, 1));
            break;
        }

        /* instance fields: getfield (u1 / _w u2 index, objectref on the
         * stack), _this (objectref = local 0) */
        case 0x83: case 0x84: case 0x85:
        case 0xA9: case 0xAA: case 0xAB:
        case 0xAD: case 0xAE: case 0xAF: {
            unsigned idx;
            uint16_t h;
            if (op >= 0xAD) { idx = *pc++; h = lv[0]; }
            else if (op >= 0xA9) { idx = RD16(pc); pc += 2; h = *--sp; }
            else { idx = *pc++; h = *--sp; }
            unsigned kind = op >= 0xAD ? op - 0xAD : op >= 0xA9 ? op - 0xA9 : op - 0x83;
            REF(o, h);
            uint16_t slot = cpr[idx].a;
            if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)
                THROW_NEW(VM_SC_SecurityException, 0);
            uint16_t v = vm_rd16(o->data + 2 * (size_t)slot);
            *sp++ = kind == 1 ? (uint16_t)(int16_t)(int8_t)v : v;
            break;
        }
        case 0x87: case 0x88: case 0x89:
        case 0xB1: case 0xB2: case 0xB3:
        case 0xB5: case 0xB6: case 0xB7: {
            unsigned idx;
            uint16_t h, v = *--sp;
            if (op >= 0xB5) { idx = *pc++; h = lv[0]; }
            else if (op >= 0xB1) { idx = RD16(pc); pc += 2; h = *--sp; }
            else { idx = *pc++; h = *--sp; }
            NOTE_WRITER();
            unsigned kind = op >= 0xB5 ? op - 0xB5 : op >= 0xB1 ? op - 0xB1 : op - 0x87;
            REF(o, h);
            uint16_t slot = cpr[idx].a;
            if (o->kind != VM_OBJ_INSTANCE || slot >= o->length)
                THROW_NEW(VM_SC_SecurityException, 0);
            if (kind == 1)
                v = (uint16_t)(int16_t)(int8_t)v;
            uint8_t b[2];
            vm_wr16(b, v);
            CHECK(vm_obj_store(rt, o, 2u * slot, b, 2, 1));
            break;
        }

        case 0x8F: {                                        /* new */
            const cap_cpr *c = &cpr[RD16(pc)];
            pc += 2;
            uint16_t h;
            CHECK(vm_new_object(rt, c->cls, &h));
            *sp++ = h;
            break;
        }
        case 0x90: {                                        /* newarray */
            uint8_t at = *pc++;
            int16_t n = (int16_t)sp[-1];
            if (n < 0)
                THROW_NEW(VM_SC_NegativeArraySizeException, 0);
            uint8_t kind = at == 10 ? VM_OBJ_BOOLS : at == 11 ? VM_OBJ_BYTES : VM_OBJ_SHORTS;
            uint16_t h;
            CHECK(vm_alloc(rt, kind, VM_OF_PERSISTENT, 0, (uint16_t)n, (uint32_t)n * elem_size(kind), 0, &h));
            sp[-1] = h;
            break;
        }
        case 0x91: {                                        /* anewarray */
            const cap_cpr *c = &cpr[RD16(pc)];
            pc += 2;
            int16_t n = (int16_t)sp[-1];
            if (n < 0)
                THROW_NEW(VM_SC_NegativeArraySizeException, 0);
            uint16_t h;
            CHECK(vm_alloc(rt, VM_OBJ_REFS, VM_OF_PERSISTENT, c->cls, (uint16_t)n, 2u * (uint32_t)n, 0, &h));
            sp[-1] = h;
            break;
        }
        case 0x92: {                                        /* arraylength */
            REF(o, sp[-1]);
            if (!is_array(o->kind))
                THROW_NEW(VM_SC_SecurityException, 0);
            sp[-1] = o->length;
            break;
        }
        case 0x94: case 0x95: {                             /* checkcast instanceof */
            uint8_t at = pc[0];
            uint16_t idx = RD16(pc + 1);
            pc += 3;
            uint16_t h = sp[-1];
            if (h == 0) {
                if (op == 0x95)
                    sp[-1] = 0;
                break;
            }
            /* a type test reveals no content: allowed on any object (an
             * SIO of another context is cast to its interface) */
            if (h >= rt->obj_cap || (o = &rt->objs[h])->kind == VM_OBJ_FREE)
                THROW_NEW(VM_SC_SecurityException, 0);
            int ok = cast_ok(rt, o, at, (at == 0 || at == 14) ? cpr[idx].cls : 0);
            if (op == 0x95)
                sp[-1] = (uint16_t)ok;
            else if (!ok)
                THROW_NEW(VM_SC_ClassCastException, 0);
            break;
        }
        default:
            /* the verifier refuses every other opcode (int, jsr/ret...) */
            THROW_NEW(VM_SC_SecurityException, 0);
        }
        NEXT;
    }

    throw_it: {
        /* package-wide handler table: the first handler whose range
         * covers the faulting instruction and whose type matches */
        uint16_t at = xo->pc;
        uint16_t ecls = object_class(rt, exc);
        const cap_view *v = &P->view;
        int found = -1;
        for (unsigned i = 0; i < v->handler_count && found < 0; i++) {
            const cap_handler *hd = &v->handlers[i];
            if (at < hd->start || at >= hd->end)
                continue;
            if (hd->catch_type == 0 || vm_cap_class_is(rt, ecls, cpr[hd->catch_type].cls))
                found = (int)i;
        }
        uint32_t hpc = found < 0 ? 0xFFFFFFFFu : (uint32_t)(v->handlers[found].handler - XM->code_offset);
        if (hpc >= XM->code_len || XM->op_at[hpc] == 0xFFFF) {
            vm_fault_note_frame(rt, exc, t.slot, XM->offset, (uint16_t)(xo->pc - XM->code_offset));
            if (frp != fr) {
                /* not caught here: on to the caller, at its call */
                POP_FRAME();
                goto throw_it;
            }
            rt->uncaught = exc;
            result = VM_RUN_THROWN;
            goto out;
        }
        if (rt->trail_open)
            vm_fault_caught(rt, exc);
        sp = lv + XM->nargs + XM->max_locals;
        *sp++ = exc;
        bm1 -= XM->w_at[hpc];
        xo = &XM->ops[XM->op_at[hpc]];
        if (bm1 < 0)
            goto out_of_budget;
        DISPATCH;
    }

out_of_budget:
    /* where the budget ran out (inside the loop), then the callers of this
     * loop's inlined frames at their calls (fr[k]'s caller runs in the
     * frame below, frs[k] = fr[k - 1]) */
    vm_fault_note_frame(rt, 0, t.slot, XM->offset, (uint16_t)(xo->pc - XM->code_offset));
    for (unsigned k = (unsigned)(frp - fr); k-- > 0;)
        vm_fault_note_frame(rt, 0, t.slot, frs[k].xm->offset, (uint16_t)(fr[k].call->pc - frs[k].xm->code_offset));
    result = VM_RUN_BUDGET;
out:
    rt->cap_budget = bm1 + 1;
    rt->cap_top = saved_top;
    rt->cap_depth--;   /* this loop's (its inline frames were never counted) */
    return result;
#undef THROW_SC
#undef THROW_NEW
#undef REF
#undef ARRAY
#undef ARRAY_K
#undef ARRAY_B
#undef ARRAY_S
#undef ARRAY_U
#undef CHECK
#undef NOTE_WRITER
#undef DISPATCH
#undef POP_FRAME
#undef XM
#undef ENTER_INLINE
#undef ENTER_FRAME
#undef ENTER_STATIC
#undef NEXT
#undef TAKE
#undef FALL
#undef JUMP_PC
#undef P
#undef M
#undef cpr
}
