/*
 * cap_link.c — linking a stored CAP package into the runtime's model
 * (vm_internal.h, "CAP packages"): imports to packages, class refs to
 * global class ids, instance layouts, flattened method tables and the
 * resolved constant pool.
 *
 * The package was verified before it was stored, so structural facts
 * (offsets land on records, tokens exist) hold; linking still fails softly
 * (VM_ERR_VERIFY with a message) rather than trusting them blindly, since
 * it also runs at every vm_reset over NVM content.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

static int link_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- class ids ---- */

/* in enum vm_sys_class order */
static const char *const sys_class_names[] = {
    "Object", "Throwable", "Exception", "RuntimeException", "ArithmeticException",
    "ArrayIndexOutOfBoundsException", "NullPointerException", "ClassCastException",
    "NegativeArraySizeException", "SecurityException", "ArrayStoreException", "CardRuntimeException",
    "ISOException", "SystemException", "TransactionException", "CryptoException", "CardException",
    "UserException", "StackOverflowError", "APDU", "OwnerPIN", "Applet",
};
_Static_assert(sizeof sys_class_names / sizeof sys_class_names[0] == VM_SC_COUNT, "one name per VM_SC_* id");

const char *vm_sys_class_name(uint16_t id)
{
    return id >= VM_SC_Object && id < VM_SC_END ? sys_class_names[id - VM_SC_Object] : NULL;
}

/* The API class a VM_SC_* id stands for (same simple name). */
static const jc_api_class *sys_to_api(uint16_t sc, unsigned *pkg_index)
{
    const char *name = vm_sys_class_name(sc);
    if (!name)
        return NULL;
    size_t n = strlen(name);
    for (unsigned p = 0; p < jc_api_package_count; p++) {
        const jc_api_package *pk = &jc_api_packages[p];
        for (unsigned t = 0; t < pk->class_count; t++) {
            const char *cn = pk->classes[t].name;
            size_t cl = cn ? strlen(cn) : 0;
            if (cl > n && cn[cl - n - 1] == '/' && !strcmp(cn + cl - n, name)) {
                if (pkg_index)
                    *pkg_index = p;
                return &pk->classes[t];
            }
        }
    }
    return NULL;
}

const jc_api_class *vm_api_class(uint16_t cls, unsigned *pkg_index)
{
    if (vm_cls_is_api(cls)) {
        unsigned p = (cls >> 8) & 0x1Fu, t = cls & 0xFFu;
        if (p >= jc_api_package_count || t >= jc_api_packages[p].class_count ||
            !jc_api_packages[p].classes[t].name)
            return NULL;
        if (pkg_index)
            *pkg_index = p;
        return &jc_api_packages[p].classes[t];
    }
    if (cls >= VM_SC_Object && cls < VM_SC_END)
        return sys_to_api(cls, pkg_index);
    return NULL;
}

/* Global id of an API class given by table entry. */
static uint16_t api_id(const jc_api_class *c)
{
    for (unsigned p = 0; p < jc_api_package_count; p++) {
        const jc_api_package *pk = &jc_api_packages[p];
        if (c >= pk->classes && c < pk->classes + pk->class_count)
            return VM_CLS_API(p, c->token);
    }
    return 0xFFFF;
}

static const jc_api_class *api_super(const jc_api_class *c, unsigned *pkg_index)
{
    return c && c->super_name ? jc_api_class_by_name(c->super_name, NULL) : NULL;
    (void)pkg_index;
}

const cap_rclass *vm_cap_rclass(const vm_runtime *rt, uint16_t cls)
{
    if (!vm_cls_is_user(cls))
        return NULL;
    unsigned s = (cls >> 8) & 0x7Fu, i = cls & 0xFFu;
    if (s < 1 || s > VM_MAX_PACKAGES || !rt->pkgs[s].cap || i >= rt->pkgs[s].cap->class_count)
        return NULL;
    return &rt->pkgs[s].cap->classes[i];
}

static int api_implements(const jc_api_class *c, const char *iface)
{
    for (int guard = 0; c && guard < 16; guard++) {
        if (!strcmp(c->name, iface))
            return 1;
        for (const char *const *i = c->interfaces; i && *i; i++) {
            if (!strcmp(*i, iface))
                return 1;
            const jc_api_class *ic = jc_api_class_by_name(*i, NULL);
            if (ic && ic != c && api_implements(ic, iface))
                return 1;
        }
        c = api_super(c, NULL);
    }
    return 0;
}

int vm_cap_class_is(const vm_runtime *rt, uint16_t cls, uint16_t target)
{
    if (cls == target)
        return 1;
    const jc_api_class *tapi = vm_api_class(target, NULL);
    if (tapi && !strcmp(tapi->name, "java/lang/Object"))
        return 1;
    for (int guard = 0; guard < 64 && cls != 0xFFFF; guard++) {
        if (cls == target)
            return 1;
        const cap_rclass *rc = vm_cap_rclass(rt, cls);
        if (rc) {
            for (unsigned i = 0; i < rc->iface_count; i++) {
                if (rc->iface_ids[i] == target)
                    return 1;
                const jc_api_class *ia = tapi ? vm_api_class(rc->iface_ids[i], NULL) : NULL;
                if (ia && api_implements(ia, tapi->name))
                    return 1;
            }
            cls = rc->super_id;
            continue;
        }
        const jc_api_class *a = vm_api_class(cls, NULL);
        /* An API class extends only API classes. */
        return a && tapi && api_implements(a, tapi->name);
    }
    return 0;
}

/* ---- Export component of a user library ---- */

/* class_export_info of class token `token`; 0 or -1. */
static int export_class(const cap_view *v, uint8_t token, uint16_t *class_offset, const uint8_t **sf,
                        uint8_t *nf, const uint8_t **sm, uint8_t *nm)
{
    const uint8_t *e = v->info[CAP_Export];
    if (!e)
        return -1;
    size_t end = v->size[CAP_Export], pos = 1;
    if (end < 1 || token >= e[0])
        return -1;
    for (unsigned i = 0; pos + 4 <= end; i++) {
        uint8_t f = e[pos + 2], m = e[pos + 3];
        if (pos + 4 + 2u * f + 2u * m > end)
            return -1;
        if (i == token) {
            *class_offset = vm_be16(e + pos);
            *nf = f;
            *sf = e + pos + 4;
            *nm = m;
            *sm = e + pos + 4 + 2u * f;
            return 0;
        }
        pos += 4 + 2u * f + 2u * m;
    }
    return -1;
}

static int class_index(const cap_view *v, uint16_t offset)
{
    const cap_class *k = cap_class_at(v, offset);
    return k ? (int)(k - v->classes) : -1;
}

/* ---- linking one package ---- */

typedef struct linker {
    vm_runtime *rt;
    unsigned slot;
    cap_pkg *cp;
    char *err;
    size_t errlen;
} linker;

/* Global id of a class_ref of this package; 0xFFFF when it does not
 * resolve. */
static uint16_t resolve_class_ref(linker *L, uint16_t ref)
{
    const cap_view *v = &L->cp->view;
    if (!CAP_REF_EXTERNAL(ref)) {
        int i = class_index(v, ref);
        return i < 0 ? 0xFFFF : VM_CLS_USER(L->slot, i);
    }
    unsigned pt = CAP_REF_PKG_TOKEN(ref), ct = CAP_REF_CLASS_TOKEN(ref);
    if (pt >= v->import_count)
        return 0xFFFF;
    if (L->cp->import_api[pt] >= 0) {
        const jc_api_package *ap = &jc_api_packages[L->cp->import_api[pt]];
        if (!jc_api_class_by_token(ap, (uint8_t)ct))
            return 0xFFFF;
        return VM_CLS_API(L->cp->import_api[pt], ct);
    }
    unsigned s = L->cp->import_slot[pt];
    const cap_pkg *lib = s ? L->rt->pkgs[s].cap : NULL;
    if (!lib)
        return 0xFFFF;
    uint16_t off;
    const uint8_t *sf, *sm;
    uint8_t nf, nm;
    if (export_class(&lib->view, (uint8_t)ct, &off, &sf, &nf, &sm, &nm) != 0)
        return 0xFFFF;
    int i = class_index(&lib->view, off);
    return i < 0 ? 0xFFFF : VM_CLS_USER(s, i);
}

/* Number of public virtual tokens of an API class (its chain included). */
static unsigned api_vcount(const jc_api_class *c)
{
    unsigned n = 0;
    for (int guard = 0; c && guard < 16; guard++, c = api_super(c, NULL))
        for (unsigned i = 0; i < c->method_count; i++)
            if (c->methods[i].kind == JC_VIRTUAL_METHOD && c->methods[i].token + 1u > n)
                n = c->methods[i].token + 1u;
    return n;
}

static const jc_api_method *api_virtual(const jc_api_class *c, uint8_t token)
{
    for (int guard = 0; c && guard < 16; guard++, c = api_super(c, NULL)) {
        const jc_api_method *m = jc_api_method_by_token(c, token, JC_VIRTUAL_METHOD);
        if (m)
            return m;
    }
    return NULL;
}

static int link_class(linker *L, unsigned idx, uint8_t *state);

/* Make sure a user class is linked (it may be later in this package). */
static const cap_rclass *need_class(linker *L, uint16_t id, uint8_t *state)
{
    unsigned s = (id >> 8) & 0x7Fu, i = id & 0xFFu;
    if (s == L->slot) {
        if (i >= L->cp->class_count || link_class(L, i, state) != 0)
            return NULL;
        return &L->cp->classes[i];
    }
    return vm_cap_rclass(L->rt, id);
}

static int link_class(linker *L, unsigned idx, uint8_t *state)
{
    cap_rclass *rc = &L->cp->classes[idx];
    if (state[idx] == 2)
        return 0;
    if (state[idx] == 1)
        return link_fail(L->err, L->errlen, VM_ERR_VERIFY, "Class offset %u: circular superclass chain",
                         rc->info->offset);
    state[idx] = 1;
    const cap_class *k = rc->info;
    rc->id = VM_CLS_USER(L->slot, idx);
    if (k->flags & CAP_ACC_INTERFACE) {
        /* superinterfaces (all of them, as the CAP lists them) */
        rc->super_id = 0xFFFF;
        if (k->interface_count) {
            rc->iface_ids = calloc(k->interface_count, sizeof *rc->iface_ids);
            rc->iface_maps = calloc(k->interface_count, sizeof *rc->iface_maps);
            if (!rc->iface_ids || !rc->iface_maps)
                return VM_ERR_NOMEM;
            for (unsigned i = 0; i < k->interface_count; i++)
                rc->iface_ids[i] = resolve_class_ref(L, vm_be16(k->interfaces + 2 * i));
            rc->iface_count = k->interface_count;
        }
        state[idx] = 2;
        return 0;
    }
    rc->super_id = resolve_class_ref(L, k->super_ref);
    if (rc->super_id == 0xFFFF)
        return link_fail(L->err, L->errlen, VM_ERR_VERIFY, "Class offset %u: superclass %04X does not resolve",
                         k->offset, k->super_ref);
    unsigned super_pub = 0, super_pkg = 0;
    const cap_target *spub = NULL, *spkg = NULL;
    const jc_api_class *sapi = NULL;
    if (vm_cls_is_user(rc->super_id)) {
        const cap_rclass *sc = need_class(L, rc->super_id, state);
        if (!sc || (sc->info->flags & CAP_ACC_INTERFACE))
            return link_fail(L->err, L->errlen, VM_ERR_VERIFY, "Class offset %u: bad superclass", k->offset);
        rc->first_slot = sc->size;
        super_pub = sc->public_count;
        spub = sc->public_vt;
        if (((sc->id >> 8) & 0x7Fu) == L->slot) {
            super_pkg = sc->package_count;
            spkg = sc->package_vt;
        }
    } else {
        sapi = vm_api_class(rc->super_id, NULL);
        if (!sapi || (sapi->flags & 0x0200))
            return link_fail(L->err, L->errlen, VM_ERR_VERIFY, "Class offset %u: bad API superclass", k->offset);
        rc->first_slot = sapi->native_slots;
        super_pub = api_vcount(sapi);
    }
    rc->size = (uint16_t)(rc->first_slot + k->declared_instance_size);
    unsigned npub = k->public_base + k->public_count;
    if (npub < super_pub)
        npub = super_pub;
    unsigned npkg = k->package_base + k->package_count;
    if (npkg < super_pkg)
        npkg = super_pkg;
    rc->public_count = (uint16_t)npub;
    rc->package_count = (uint16_t)npkg;
    rc->public_vt = calloc(npub ? npub : 1, sizeof *rc->public_vt);
    rc->package_vt = calloc(npkg ? npkg : 1, sizeof *rc->package_vt);
    if (!rc->public_vt || !rc->package_vt)
        return VM_ERR_NOMEM;
    for (unsigned t = 0; t < npub; t++) {
        cap_target *e = &rc->public_vt[t];
        e->offset = 0xFFFF;
        if (spub && t < super_pub)
            *e = spub[t];
        else if (sapi)
            e->api = api_virtual(sapi, (uint8_t)t);
    }
    for (unsigned t = 0; t < npkg; t++) {
        cap_target *e = &rc->package_vt[t];
        e->offset = 0xFFFF;
        if (spkg && t < super_pkg)
            *e = spkg[t];
    }
    for (unsigned i = 0; i < k->public_count; i++) {
        uint16_t off = vm_be16(k->public_vtable + 2 * i);
        if (off != 0xFFFF) {
            cap_target *e = &rc->public_vt[k->public_base + i];
            e->api = NULL;
            e->slot = (uint8_t)L->slot;
            e->offset = off;
        }
    }
    for (unsigned i = 0; i < k->package_count; i++) {
        uint16_t off = vm_be16(k->package_vtable + 2 * i);
        if (off != 0xFFFF) {
            cap_target *e = &rc->package_vt[k->package_base + i];
            e->api = NULL;
            e->slot = (uint8_t)L->slot;
            e->offset = off;
        }
    }
    if (k->interface_count) {
        rc->iface_ids = calloc(k->interface_count, sizeof *rc->iface_ids);
        rc->iface_maps = calloc(k->interface_count, sizeof *rc->iface_maps);
        if (!rc->iface_ids || !rc->iface_maps)
            return VM_ERR_NOMEM;
        const uint8_t *p = k->interfaces;
        for (unsigned i = 0; i < k->interface_count; i++) {
            rc->iface_ids[i] = resolve_class_ref(L, vm_be16(p));
            rc->iface_maps[i] = p + 2;
            p += 3 + p[2];
        }
        rc->iface_count = k->interface_count;
    }
    state[idx] = 2;
    return 0;
}

/* Virtual method `token` (high bit: package-visible) of a linked or API
 * class. */
static int lookup_virtual(const vm_runtime *rt, uint16_t cls, uint8_t token, cap_target *t)
{
    const cap_rclass *rc = vm_cap_rclass(rt, cls);
    memset(t, 0, sizeof *t);
    t->offset = 0xFFFF;
    if (rc) {
        if (token & 0x80) {
            if ((token & 0x7Fu) >= rc->package_count)
                return -1;
            *t = rc->package_vt[token & 0x7F];
        } else {
            if (token >= rc->public_count)
                return -1;
            *t = rc->public_vt[token];
        }
        return t->api || t->offset != 0xFFFF ? 0 : -1;
    }
    const jc_api_class *a = vm_api_class(cls, NULL);
    if (!a || (token & 0x80))
        return -1;
    t->api = api_virtual(a, token);
    return t->api ? 0 : -1;
}

#define API_FINAL 0x0010

static int api_class_is_final(uint16_t cls)
{
    const jc_api_class *a = vm_api_class(cls, NULL);
    return a && (a->flags & API_FINAL);
}

/* Argument words of a target ("this" included). */
static int target_nargs(const vm_runtime *rt, cap_target t, uint8_t *nargs)
{
    if (t.api) {
        *nargs = t.api->nargs;
        return 0;
    }
    const cap_pkg *p = t.slot ? rt->pkgs[t.slot].cap : NULL;
    cap_method_header h;
    if (!p || cap_method_header_at(&p->view, t.offset, &h) != 0)
        return -1;
    *nargs = h.nargs;
    return 0;
}

static int resolve_static_method(linker *L, const uint8_t *e, cap_target *t)
{
    const cap_view *v = &L->cp->view;
    memset(t, 0, sizeof *t);
    t->offset = 0xFFFF;
    if (!(e[1] & 0x80)) {
        t->slot = (uint8_t)L->slot;
        t->offset = vm_be16(e + 2);
        return 0;
    }
    unsigned pt = e[1] & 0x7Fu;
    if (pt >= v->import_count)
        return -1;
    if (L->cp->import_api[pt] >= 0) {
        const jc_api_class *c = jc_api_class_by_token(&jc_api_packages[L->cp->import_api[pt]], e[2]);
        if (!c)
            return -1;
        t->api = jc_api_method_by_token(c, e[3], JC_STATIC_METHOD);
        if (!t->api)
            t->api = jc_api_method_by_token(c, e[3], JC_CONSTRUCTOR);
        return t->api ? 0 : -1;
    }
    unsigned s = L->cp->import_slot[pt];
    const cap_pkg *lib = s ? L->rt->pkgs[s].cap : NULL;
    uint16_t off;
    const uint8_t *sf, *sm;
    uint8_t nf, nm;
    if (!lib || export_class(&lib->view, e[2], &off, &sf, &nf, &sm, &nm) != 0 || e[3] >= nm)
        return -1;
    t->slot = (uint8_t)s;
    t->offset = vm_be16(sm + 2u * e[3]);
    return 0;
}

static int resolve_static_field(linker *L, const uint8_t *e, cap_cpr *r)
{
    const cap_view *v = &L->cp->view;
    if (!(e[1] & 0x80)) {
        r->slot = (uint8_t)L->slot;
        r->a = vm_be16(e + 2);
        return r->a < v->sf_image_size ? 0 : -1;
    }
    unsigned pt = e[1] & 0x7Fu;
    if (pt >= v->import_count || L->cp->import_api[pt] >= 0)
        return -1;   /* the API has no linkable static fields (constants are inlined) */
    unsigned s = L->cp->import_slot[pt];
    const cap_pkg *lib = s ? L->rt->pkgs[s].cap : NULL;
    uint16_t off;
    const uint8_t *sf, *sm;
    uint8_t nf, nm;
    if (!lib || export_class(&lib->view, e[2], &off, &sf, &nf, &sm, &nm) != 0 || e[3] >= nf)
        return -1;
    r->slot = (uint8_t)s;
    r->a = vm_be16(sf + 2u * e[3]);
    return 0;
}

static int resolve_cp(linker *L, uint8_t *state)
{
    const cap_view *v = &L->cp->view;
    for (unsigned i = 0; i < v->cp_count; i++) {
        const uint8_t *e = v->cp + 4u * i;
        cap_cpr *r = &L->cp->cpr[i];
        memset(r, 0, sizeof *r);
        r->tag = e[0];
        r->t.offset = 0xFFFF;
        int bad = 0;
        switch (e[0]) {
        case CAP_CP_CLASSREF:
            r->cls = resolve_class_ref(L, vm_be16(e + 1));
            bad = r->cls == 0xFFFF;
            break;
        case CAP_CP_INSTANCE_FIELDREF: {
            r->cls = resolve_class_ref(L, vm_be16(e + 1));
            r->token = e[3];
            const cap_rclass *rc = r->cls == 0xFFFF ? NULL : need_class(L, r->cls, state);
            if (!rc || (rc->info->flags & CAP_ACC_INTERFACE) || e[3] >= rc->info->declared_instance_size)
                bad = 1;
            else
                r->a = (uint16_t)(rc->first_slot + e[3]);
            break;
        }
        case CAP_CP_VIRTUAL_METHODREF: {
            r->cls = resolve_class_ref(L, vm_be16(e + 1));
            r->token = e[3];
            cap_target t;
            if (r->cls != 0xFFFF && vm_cls_is_user(r->cls))
                (void)need_class(L, r->cls, state);
            bad = r->cls == 0xFFFF || lookup_virtual(L->rt, r->cls, e[3], &t) != 0 ||
                  target_nargs(L->rt, t, &r->nargs) != 0;
            /* The call's only target when nothing can override it (the
             * verifier refuses subclasses of final classes and overrides
             * of final methods): the VM calls it straight (r->t.api). */
            if (!bad && t.api && t.api->fn &&
                ((t.api->flags & API_FINAL) || (!vm_cls_is_user(r->cls) && api_class_is_final(r->cls))))
                r->t = t;
            break;
        }
        case CAP_CP_SUPER_METHODREF: {
            r->cls = resolve_class_ref(L, vm_be16(e + 1));
            r->token = e[3];
            const cap_rclass *rc = r->cls == 0xFFFF ? NULL : need_class(L, r->cls, state);
            bad = !rc || lookup_virtual(L->rt, rc->super_id, e[3], &r->t) != 0;
            if (bad && rc && ((rc->super_id >> 8) & 0x7Fu) == L->slot && vm_cls_is_user(rc->super_id)) {
                /* superclass in this package: look in its linked tables */
                const cap_rclass *sc = need_class(L, rc->super_id, state);
                if (sc) {
                    uint8_t tk = e[3];
                    if (tk & 0x80) {
                        if ((tk & 0x7Fu) < sc->package_count)
                            r->t = sc->package_vt[tk & 0x7F];
                    } else if (tk < sc->public_count) {
                        r->t = sc->public_vt[tk];
                    }
                    bad = !r->t.api && r->t.offset == 0xFFFF;
                }
            }
            break;
        }
        case CAP_CP_STATIC_FIELDREF:
            bad = resolve_static_field(L, e, r) != 0;
            break;
        case CAP_CP_STATIC_METHODREF:
            bad = resolve_static_method(L, e, &r->t) != 0;
            break;
        default:
            bad = 1;
        }
        if (bad)
            return link_fail(L->err, L->errlen, VM_ERR_VERIFY,
                             "ConstantPool offset %u: entry %u does not resolve", 2 + 4 * i, i);
    }
    return 0;
}

void vm_cap_unlink(vm_lpkg *lp)
{
    cap_pkg *cp = lp->cap;
    if (!cp)
        return;
    for (unsigned i = 0; cp->classes && i < cp->class_count; i++) {
        free(cp->classes[i].public_vt);
        free(cp->classes[i].package_vt);
        free(cp->classes[i].iface_ids);
        free(cp->classes[i].iface_maps);
    }
    free(cp->classes);
    free(cp->cpr);
    vm_cap_xfree(cp);
    cap_view_free(&cp->view);
    free(cp);
    lp->cap = NULL;
}

int vm_cap_link(vm_runtime *rt, unsigned slot, char *err, size_t errlen)
{
    memset(rt->inst_meth, 0, sizeof rt->inst_meth);
    vm_lpkg *lp = &rt->pkgs[slot];
    cap_pkg *cp = calloc(1, sizeof *cp);
    if (!cp)
        return VM_ERR_NOMEM;
    lp->cap = cp;
    int rc = cap_parse(lp->blob, lp->pkg.len, &cp->view, err, errlen);
    if (rc != 0)
        goto fail;
    const cap_view *v = &cp->view;
    /* Imports: API package or a linked user package, same major, minor no
     * higher than what is on the card. */
    for (unsigned i = 0; i < v->import_count; i++) {
        const cap_package_ref *im = &v->imports[i];
        cp->import_api[i] = -1;
        cp->import_slot[i] = 0;
        const jc_api_package *ap = jc_api_find_package(im->aid.b, im->aid.len);
        if (ap) {
            if (ap->major != im->major || ap->minor < im->minor) {
                rc = link_fail(err, errlen, VM_ERR_DEPENDENCY, "Import offset %u: %s %u.%u, the card has %u.%u",
                               1, ap->name, im->major, im->minor, ap->major, ap->minor);
                goto fail;
            }
            cp->import_api[i] = (int8_t)(ap - jc_api_packages);
            continue;
        }
        unsigned found = 0;
        for (unsigned s = 1; s <= VM_MAX_PACKAGES; s++)
            if (s != slot && rt->pkgs[s].used && rt->pkgs[s].cap && rt->pkgs[s].pkg.aid.len == im->aid.len &&
                !memcmp(rt->pkgs[s].pkg.aid.b, im->aid.b, im->aid.len))
                found = s;
        if (!found || rt->pkgs[found].pkg.major != im->major || rt->pkgs[found].pkg.minor < im->minor) {
            rc = link_fail(err, errlen, VM_ERR_DEPENDENCY, "Import offset %u: import %u not on the card", 1, i);
            goto fail;
        }
        cp->import_slot[i] = (uint8_t)found;
    }
    cp->class_count = v->class_count;
    cp->classes = calloc(v->class_count ? v->class_count : 1, sizeof *cp->classes);
    cp->cpr = calloc(v->cp_count ? v->cp_count : 1, sizeof *cp->cpr);
    uint8_t *state = calloc(v->class_count ? v->class_count : 1, 1);
    if (!cp->classes || !cp->cpr || !state) {
        free(state);
        rc = VM_ERR_NOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < v->class_count; i++)
        cp->classes[i].info = &v->classes[i];
    linker L = { rt, slot, cp, err, errlen };
    rc = 0;
    for (unsigned i = 0; i < v->class_count && rc == 0; i++)
        rc = link_class(&L, i, state);
    if (rc == 0)
        rc = resolve_cp(&L, state);
    free(state);
    if (rc != 0)
        goto fail;
    return 0;
fail:
    vm_cap_unlink(lp);
    return rc;
}

/* Exported for the dispatch loop. */
int vm_cap_lookup_virtual(const vm_runtime *rt, uint16_t cls, uint8_t token, cap_target *t)
{
    return lookup_virtual(rt, cls, token, t);
}

int vm_cap_export_static(const vm_runtime *rt, unsigned slot, uint8_t class_token, uint8_t method_token,
                         cap_target *t)
{
    const cap_pkg *cp = slot && slot <= VM_MAX_PACKAGES ? rt->pkgs[slot].cap : NULL;
    uint16_t off;
    const uint8_t *sf, *sm;
    uint8_t nf, nm;
    if (!cp || export_class(&cp->view, class_token, &off, &sf, &nf, &sm, &nm) != 0 || method_token >= nm)
        return -1;
    t->api = NULL;
    t->offset = vm_be16(sm + 2u * method_token);
    t->slot = (uint8_t)slot;
    t->pad = 0;
    return 0;
}

uint16_t vm_api_class_id(const jc_api_class *c)
{
    return api_id(c);
}

void vm_cap_caches_init(vm_runtime *rt)
{
    static const char *const names[] = { "select", "deselect", "process", "getShareableInterfaceObject" };
    const jc_api_class *a = jc_api_class_by_name("javacard/framework/Applet", NULL);
    for (unsigned i = 0; i < 4; i++) {
        rt->applet_tok[i] = -1;
        for (unsigned m = 0; a && m < a->method_count; m++)
            if (a->methods[m].kind == JC_VIRTUAL_METHOD && !strcmp(a->methods[m].name, names[i]))
                rt->applet_tok[i] = a->methods[m].token;
    }
    for (unsigned i = 0; i < VM_SC_COUNT; i++) {
        unsigned p;
        const jc_api_class *c = sys_to_api((uint16_t)(VM_SC_Object + i), &p);
        rt->sc_api[i] = c ? VM_CLS_API(p, c->token) : 0xFFFF;
    }
    memset(rt->api_vcache, 0, sizeof rt->api_vcache);
}
