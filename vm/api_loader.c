/*
 * api_loader.c — cardvm.loader, cardvm's own Java Card package of the
 * LOADER's privileged functions (vm/loader_api.json gives its AID and
 * tokens, docs/loader.md what each does, examples/loader-api/ its Java
 * stub).
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
    vm_native_call call = { rt, args, 0, (uint16_t)nargs, 0 };
    ext->entries[index].fn(ext->ctx, &call);
    return call.result;
}

int api_Loader_setVector(API_ARGS) { (void)ret; return loader_call(rt, 0, args, 3); }
int api_Loader_loadBlock(API_ARGS) { (void)ret; return loader_call(rt, 1, args, 4); }
int api_Loader_install(API_ARGS) { (void)ret; return loader_call(rt, 2, args, 3); }
int api_Loader_putKeySet(API_ARGS) { (void)ret; return loader_call(rt, 3, args, 3); }
int api_Loader_putCommonKey(API_ARGS) { (void)ret; return loader_call(rt, 4, args, 4); }
int api_Loader_setSecurityDomain(API_ARGS) { (void)ret; return loader_call(rt, 5, args, 3); }
