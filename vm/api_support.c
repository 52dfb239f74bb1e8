/*
 * api_support.c — the runtime services of the API implementations
 * (api_support.h).
 */
#include <string.h>

#include "api_support.h"

uint16_t api_class_id(unsigned pkg, uint8_t token)
{
    return VM_CLS_API(pkg, token);
}

int api_is_class(const vm_obj *o, unsigned pkg, uint8_t token)
{
    return o->kind == VM_OBJ_INSTANCE && o->cls == api_class_id(pkg, token);
}

/* vm_alloc and the transaction functions report failures as VM_SC_*
 * system classes with the runtime's reason numbering (VM_SYS_*); give the
 * applet the API class and the specification's reason. */
static int from_vm(vm_runtime *rt, int rc)
{
    if (rc < VM_SC_Object || rc >= VM_SC_END)
        return rc;
    uint16_t reason = rt->exc_reason[rc - VM_SC_Object];
    switch (rc) {
    case VM_SC_SystemException:
        switch (reason) {
        case VM_SYS_NO_TRANSIENT_SPACE: return API_SYSTEM(JC_SYS_NO_TRANSIENT_SPACE);
        case VM_SYS_ILLEGAL_TRANSIENT: return API_SYSTEM(JC_SYS_ILLEGAL_TRANSIENT);
        case VM_SYS_NO_RESOURCE: return API_SYSTEM(JC_SYS_NO_RESOURCE);
        default: return API_SYSTEM(reason);
        }
    case VM_SC_TransactionException:
        return JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_TransactionException, reason);
    case VM_SC_NullPointerException: return API_NPE;
    case VM_SC_ArrayIndexOutOfBoundsException: return API_AIOOBE;
    case VM_SC_SecurityException: return API_SECURITY;
    default: return rc;
    }
}

static int handle(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    if (h == 0)
        return API_NPE;
    if (h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE)
        return API_SECURITY;
    *out = &rt->objs[h];
    return 0;
}

int api_this(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    API_TRY(handle(rt, h, out));
    if ((*out)->kind != VM_OBJ_INSTANCE)
        return API_SECURITY;
    return 0;
}

int api_object(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    API_TRY(handle(rt, h, out));
    const vm_obj *o = *out;
    if (rt->ctx != 0 && o->pkg != rt->ctx && !(o->flags & VM_OF_GLOBAL))
        return API_SECURITY;
    return 0;
}

int api_bytes(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    API_TRY(api_object(rt, h, out));
    if ((*out)->kind != VM_OBJ_BYTES && (*out)->kind != VM_OBJ_BOOLS)
        return API_CLASSCAST;
    return 0;
}

int api_range(const vm_obj *o, uint16_t off, uint16_t len)
{
    int32_t so = (int16_t)off, sl = (int16_t)len;
    if (so < 0 || sl < 0 || so + sl > o->length)
        return API_AIOOBE;
    return 0;
}

uint16_t api_slot(const vm_obj *o, unsigned i)
{
    return i < o->length ? vm_rd16(o->data + 2 * i) : 0;
}

int api_slot_set(vm_runtime *rt, vm_obj *o, unsigned i, uint16_t v)
{
    if (i >= o->length)
        return API_SECURITY;
    uint8_t w[2];
    vm_wr16(w, v);
    return from_vm(rt, vm_obj_store(rt, o, 2 * i, w, 2, 1));
}

int api_store(vm_runtime *rt, vm_obj *o, uint32_t off, const void *src, uint32_t len, int logged)
{
    if (len == 0)
        return 0;
    return from_vm(rt, vm_obj_store(rt, o, off, src, len, logged));
}

int api_fill(vm_runtime *rt, vm_obj *o, uint32_t off, uint8_t value, uint32_t len)
{
    return from_vm(rt, vm_obj_fill(rt, o, off, value, len));
}

static int alloc_as(vm_runtime *rt, int jcre, uint8_t kind, uint8_t flags, uint16_t cls, uint16_t length,
                    uint32_t bytes, uint16_t *h)
{
    uint8_t ctx = rt->ctx;
    int persistent = (flags & VM_OF_PERSISTENT) != 0;
    if (jcre)
        rt->ctx = 0;
    int rc = vm_alloc(rt, kind, flags, cls, length, persistent ? bytes : 0, persistent ? 0 : bytes, h);
    rt->ctx = ctx;
    if (rc)
        return from_vm(rt, rc);
    /* New objects start zeroed (JVM default values); NVM blocks may hold
     * an earlier object's bytes. */
    if (persistent && bytes)
        return from_vm(rt, vm_obj_fill(rt, &rt->objs[*h], 0, 0, bytes));
    if (!persistent && bytes)
        memset(rt->objs[*h].data, 0, bytes);
    return 0;
}

int api_new_instance(vm_runtime *rt, unsigned pkg, uint8_t token, int jcre, uint16_t *h)
{
    const jc_api_class *c = jc_api_class_by_token(&jc_api_packages[pkg], token);
    if (!c)
        return API_SECURITY;
    /* the JCRE's own instances are entry point objects: every context may
     * call their methods (JCRE 3.0.5 §6.2.1) */
    return alloc_as(rt, jcre, VM_OBJ_INSTANCE, (uint8_t)(VM_OF_PERSISTENT | (jcre ? VM_OF_GLOBAL : 0)),
                    api_class_id(pkg, token), c->native_slots, 2u * c->native_slots, h);
}

int api_new_array(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t length, int jcre, uint16_t *h)
{
    uint32_t elem = (kind == VM_OBJ_SHORTS || kind == VM_OBJ_REFS) ? 2u : 1u;
    uint16_t cls = kind == VM_OBJ_REFS ? api_class_id(JC_PKG_LANG, JC_LANG_Object) : 0;
    return alloc_as(rt, jcre, kind, flags, cls, length, elem * length, h);
}

int api_new_sensitive_array(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t length, uint16_t *h)
{
    uint32_t elem = (kind == VM_OBJ_SHORTS || kind == VM_OBJ_REFS) ? 2u : 1u;
    uint16_t cls = kind == VM_OBJ_REFS ? api_class_id(JC_PKG_LANG, JC_LANG_Object) : 0;
    /* zeroed with its check value (the CRC of zeros is 0), then marked */
    API_TRY(alloc_as(rt, 0, kind, flags, cls, length, elem * length + 2u, h));
    vm_obj *o = &rt->objs[*h];
    uint8_t f = (uint8_t)(o->flags | VM_OF_SENSITIVE);
    API_TRY(from_vm(rt, vm_nvm_store(rt, o->nvm_off + 1u, &f, 1, 1)));
    o->flags = f;
    return 0;
}

int api_current_instance(vm_runtime *rt)
{
    int inst = vm_active_instance(rt);
    if (inst >= 0 && inst < VM_MAX_INSTANCES && rt->insts[inst].used)
        return inst;
    if (rt->installing && rt->inst_registered >= 0)
        return rt->inst_registered;
    return -1;
}

const uint8_t *api_aid_bytes(vm_runtime *rt, const vm_obj *aid, uint8_t *len)
{
    uint16_t h = api_slot(aid, 0);
    if (h == 0 || h >= rt->obj_cap || rt->objs[h].kind != VM_OBJ_BYTES)
        return NULL;
    *len = (uint8_t)rt->objs[h].length;
    return rt->objs[h].data;
}

int api_instance_aid(vm_runtime *rt, int inst, uint16_t *h)
{
    const vm_aid *want = &rt->insts[inst].aid;
    uint16_t aid_cls = api_class_id(JC_PKG_FRAMEWORK, JC_FW_AID);
    for (uint32_t i = 1; i < rt->obj_cap; i++) {
        const vm_obj *o = &rt->objs[i];
        uint8_t len;
        const uint8_t *b;
        if (o->kind == VM_OBJ_INSTANCE && o->pkg == 0 && o->cls == aid_cls &&
            (b = api_aid_bytes(rt, o, &len)) != NULL && len == want->len && memcmp(b, want->b, len) == 0) {
            *h = (uint16_t)i;
            return 0;
        }
    }
    uint16_t obj, arr;
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, want->len, 1, &arr));
    API_TRY(api_store(rt, &rt->objs[arr], 0, want->b, want->len, 1));
    API_TRY(api_new_instance(rt, JC_PKG_FRAMEWORK, JC_FW_AID, 1, &obj));
    API_TRY(api_slot_set(rt, &rt->objs[obj], 0, arr));
    *h = obj;
    return 0;
}

int64_t api_available_memory(vm_runtime *rt, uint8_t memory_type)
{
    if (memory_type == 0) {
        chip_stats st;
        chip_get_stats(rt->chip, &st);
        int64_t avail = st.nvm_heap_largest > VM_OBJ_HDR + 16 ? st.nvm_heap_largest - VM_OBJ_HDR - 16 : 0;
        if (rt->cfg.package_quota && rt->ctx) {
            uint32_t used = rt->pkgs[rt->ctx].nvm_used;
            uint32_t left = used < rt->cfg.package_quota ? rt->cfg.package_quota - used : 0;
            left = left > VM_OBJ_HDR ? left - VM_OBJ_HDR : 0;
            if (left < avail)
                avail = left;
        }
        return avail;
    }
    if (memory_type == 1 || memory_type == 2)
        return vm_ram_free(rt);
    return -1;
}

int api_make_durable(vm_runtime *rt)
{
    if (rt->tx_open || rt->guard)
        return 0;
    int rc = chip_commit(rt->chip);
    if (rc == CHIP_OK)
        return 0;
    return rc == CHIP_ERR_POWER ? VM_ERR_POWER : VM_ERR_CORRUPT;
}
