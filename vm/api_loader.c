/*
 * api_loader.c — cardvm.loader, cardvm's own Java Card package of the
 * LOADER's privileged functions (vm/loader_api.json gives its AID and
 * tokens, docs/loader.md what each does, examples/loader-api/ the Java
 * declarations applets compile against: signatures only, by design).
 *
 * The VM owns the package's identity and linking; the functions themselves
 * belong to the LOADER (loader/custom.c), which plugs them in with
 * vm_set_extension while a CUSTOMIZATION-mode command runs: method token i
 * is the extension's entry i. Why this split: the VM must not know the
 * LOADER's NVM layout or keys, and the LOADER must not know bytecode.
 *
 * Two guards besides the load-time one (the verifier lets only a package
 * loaded with VM_LOAD_PRIVILEGED import cardvm.loader): the current
 * firewall context must be such a package — a static call into a
 * privileged library from an applet runs in the applet's context — and the
 * handlers must be plugged in. Otherwise SecurityException.
 */
#include "api_support.h"

static int loader_call(vm_runtime *rt, unsigned index, uint16_t *args, unsigned nargs)
{
    const vm_extension *ext = rt->ext;
    if (rt->ctx == 0 || rt->ctx > VM_MAX_PACKAGES || !rt->pkgs[rt->ctx].privileged || !ext ||
        index >= ext->count || !ext->entries[index].fn || ext->entries[index].nargs != nargs)
        return vm_set_reason(rt, VM_SC_SecurityException, 0);
    vm_ext_call call = { rt, args, 0, (uint16_t)nargs, 0 };
    ext->entries[index].fn(ext->ctx, &call);
    return call.result;
}

int api_Loader_setVector(API_ARGS) { (void)ret; return loader_call(rt, 0, args, 3); }
int api_Loader_loadBlock(API_ARGS) { (void)ret; return loader_call(rt, 1, args, 4); }
int api_Loader_install(API_ARGS) { (void)ret; return loader_call(rt, 2, args, 3); }
int api_Loader_putKeySet(API_ARGS) { (void)ret; return loader_call(rt, 3, args, 3); }
int api_Loader_putCommonKey(API_ARGS) { (void)ret; return loader_call(rt, 4, args, 4); }
int api_Loader_setSecurityDomain(API_ARGS) { (void)ret; return loader_call(rt, 5, args, 3); }

/* ---- what a handler may do with its call (vm.h) ---- */

uint16_t vm_call_arg(const vm_ext_call *call, unsigned i)
{
    return i < call->nargs ? call->args[i] : 0;
}

void vm_call_return(vm_ext_call *call, uint16_t value) { call->ret = value; }

vm_runtime *vm_call_runtime(vm_ext_call *call) { return call->rt; }

void vm_call_throw(vm_ext_call *call, uint16_t sw)
{
    call->result = vm_set_reason(call->rt, VM_SC_ISOException, sw);
}

static vm_obj *call_bytes_obj(vm_ext_call *call, unsigned i)
{
    vm_runtime *rt = call->rt;
    uint16_t h = vm_call_arg(call, i);
    if (h == 0 || h >= rt->obj_cap)
        return NULL;
    vm_obj *o = &rt->objs[h];
    if (o->kind != VM_OBJ_BYTES || (o->pkg != rt->ctx && !(o->flags & VM_OF_GLOBAL)))
        return NULL;
    return o;
}

int vm_call_bytes(vm_ext_call *call, unsigned i, const uint8_t **data, uint16_t *len)
{
    vm_obj *o = call_bytes_obj(call, i);
    if (!o)
        return -1;
    *data = o->data;
    *len = o->length;
    return 0;
}

int vm_call_write(vm_ext_call *call, unsigned i, uint16_t off, const void *src, uint16_t len)
{
    vm_obj *o = call_bytes_obj(call, i);
    if (!o || (uint32_t)off + len > o->length)
        return -1;
    int rc = vm_obj_store(call->rt, o, off, src, len, 1);
    if (rc > 0)
        call->result = rc;
    return rc ? -1 : 0;
}
