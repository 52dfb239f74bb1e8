/*
 * fault.c — the record of why an applet call failed (vm.h, "why an applet
 * call failed"): the frames the CAP loop notes while an exception or a
 * budget overrun unwinds it, finished into a vm_fault when the call ends.
 */
#include <stdio.h>
#include <string.h>

#include "vm_internal.h"

void vm_fault_note_frame(vm_runtime *rt, uint16_t exc, unsigned slot, uint16_t method, uint16_t pc)
{
    vm_fault *f = &rt->trail;
    if (!rt->trail_open || rt->trail_exc != exc) {
        /* a new throw (or a different exception thrown while unwinding) */
        memset(f, 0, sizeof *f);
        rt->trail_open = 1;
        rt->trail_exc = exc;
    }
    if (f->n_frames == VM_FAULT_MAX_FRAMES) {
        f->truncated = 1;
        return;
    }
    vm_fault_frame *fr = &f->frames[f->n_frames++];
    fr->pkg_aid_len = (uint8_t)vm_package_aid(rt, (int)slot, fr->pkg_aid);
    fr->method = method;
    fr->pc = pc;
}

void vm_fault_caught(vm_runtime *rt, uint16_t exc)
{
    if (rt->trail_exc == exc)
        rt->trail_open = 0;
}

/* The exception's class into f: an API class by name, a class of an
 * applet package by package and Class component offset. */
static void name_class(vm_runtime *rt, uint16_t h, vm_fault *f)
{
    uint16_t cls = h && h < rt->obj_cap ? rt->objs[h].cls : 0;
    const jc_api_class *a = vm_api_class(cls, NULL);
    if (a) {
        snprintf(f->exc_class, sizeof f->exc_class, "%s", a->name);
    } else {
        const cap_rclass *rc = vm_cap_rclass(rt, cls);
        if (rc && rc->info) {
            f->exc_pkg_aid_len = (uint8_t)vm_package_aid(rt, (cls >> 8) & 0x1F, f->exc_pkg_aid);
            f->exc_class_offset = rc->info->offset;
        } else {
            snprintf(f->exc_class, sizeof f->exc_class, "class 0x%04X", cls);
        }
    }
    uint16_t reason;
    if ((vm_cap_class_is(rt, cls, VM_SC_CardException) || vm_cap_class_is(rt, cls, VM_SC_CardRuntimeException)) &&
        vm_exception_reason(rt, h, &reason) == 0) {
        f->has_reason = 1;
        f->reason = reason;
    }
}

void vm_fault_finish(vm_runtime *rt, int run_result, unsigned entry, uint16_t sw)
{
    if (run_result != VM_RUN_THROWN && run_result != VM_RUN_BUDGET && run_result != VM_RUN_NO_REGISTER)
        return;
    vm_fault *f = &rt->fault;
    if (run_result == VM_RUN_NO_REGISTER) {
        memset(f, 0, sizeof *f);
        f->kind = VM_FAULT_NO_REGISTER;
    } else {
        *f = rt->trail;
        if (!rt->trail_open)
            f->n_frames = 0, f->truncated = 0;
        f->kind = run_result == VM_RUN_THROWN ? VM_FAULT_EXCEPTION : VM_FAULT_BUDGET;
        memset(f->exc_class, 0, sizeof f->exc_class);
        f->exc_pkg_aid_len = 0;
        f->has_reason = 0;
        if (run_result == VM_RUN_THROWN)
            name_class(rt, rt->uncaught, f);
    }
    f->entry = (uint8_t)entry;
    f->sw = sw;
    rt->trail_open = 0;
    rt->fault_pending = 1;
}

int vm_take_fault(vm_runtime *rt, vm_fault *out)
{
    if (!rt || !rt->fault_pending)
        return 0;
    *out = rt->fault;
    rt->fault_pending = 0;
    return 1;
}
