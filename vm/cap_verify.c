/*
 * cap_verify.c — the CAP verifier's checks across components and against
 * the imported packages (see cap_verify.h). The bytecode of each method is
 * checked by cap_verify_code.c with the tables built here.
 *
 * Order matters: the Descriptor is decoded first (it gives every method's
 * extent and every member's type), then imports are resolved, then each
 * component is checked against those, and the bytecode last.
 */
#include "cap_verify_internal.h"
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

static void cv_vformat(cv_ctx *c, const char *prefix, const char *fmt, va_list ap)
{
    if (!c->err || !c->errlen)
        return;
    int n = snprintf(c->err, c->errlen, "%s", prefix);
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
}

int cv_fail(cv_ctx *c, uint8_t tag, unsigned off, const char *fmt, ...)
{
    if (c->failed)
        return VM_ERR_VERIFY;
    c->failed = 1;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s offset %u: ",
             tag <= CAP_TAG_MAX && cap_components[tag].name ? cap_components[tag].name : "load file", off);
    va_list ap;
    va_start(ap, fmt);
    cv_vformat(c, prefix, fmt, ap);
    va_end(ap);
    return VM_ERR_VERIFY;
}

int cv_fail_code(cv_ctx *c, const cv_method *m, unsigned pc, const char *fmt, ...)
{
    if (c->failed)
        return VM_ERR_VERIFY;
    c->failed = 1;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "Method offset %u (class %u method %u) pc %u: ",
             m->offset, m->class_ref, m->token, pc);
    va_list ap;
    va_start(ap, fmt);
    cv_vformat(c, prefix, fmt, ap);
    va_end(ap);
    return VM_ERR_VERIFY;
}

/* ---- types ---- */

static unsigned nibble(const uint8_t *p, unsigned i)
{
    return (i & 1) ? (p[i / 2] & 0x0F) : (p[i / 2] >> 4);
}

int cv_decode_type(const cv_desc *d, uint16_t type_offset, cv_sig *out)
{
    memset(out, 0, sizeof *out);
    unsigned first = 2u + 2u * d->cp_type_count;
    if (type_offset < first || type_offset >= d->types_size)
        return -1;
    unsigned n = d->types[type_offset];
    if (n == 0 || (size_t)type_offset + 1 + (n + 1) / 2 > d->types_size)
        return -1;
    const uint8_t *p = d->types + type_offset + 1;
    uint8_t seq[CV_MAX_PARAMS + 1];
    uint16_t cls[CV_MAX_PARAMS + 1];
    unsigned count = 0;
    for (unsigned i = 0; i < n;) {
        unsigned t = nibble(p, i++);
        uint16_t k = CV_CLS_ANY;
        switch (t) {
        case CVT_VOID: case CVT_BOOL: case CVT_BYTE: case CVT_SHORT: case CVT_INT:
        case CVT_ABOOL: case CVT_ABYTE: case CVT_ASHORT: case CVT_AINT:
            break;
        case CVT_REF: case CVT_AREF:
            if (i + 4 > n)
                return -1;
            k = (uint16_t)(nibble(p, i) << 12 | nibble(p, i + 1) << 8 | nibble(p, i + 2) << 4 | nibble(p, i + 3));
            i += 4;
            break;
        default:
            return -1;
        }
        if (count > CV_MAX_PARAMS)
            return -1;
        cls[count] = k;
        seq[count++] = (uint8_t)t;
    }
    /* A padding nibble, when n is odd, must be 0. */
    if ((n & 1) && (p[n / 2] & 0x0F) != 0)
        return -1;
    out->nparams = (uint8_t)(count - 1);
    memcpy(out->params, seq, count - 1);
    memcpy(out->pcls, cls, (count - 1) * sizeof cls[0]);
    out->ret = seq[count - 1];
    out->rcls = cls[count - 1];
    for (unsigned i = 0; i + 1 < count; i++)
        if (seq[i] == CVT_VOID)
            return -1;
    return 0;
}

/* JVM descriptor ("(S[B)V" or "[B") of the API tables. A class type's
 * name is left in *name / *name_len (element class for arrays). */
static int jvm_type(const char **s, const char **name, size_t *name_len)
{
    const char *p = *s;
    int t;
    *name = NULL;
    *name_len = 0;
    switch (*p) {
    case 'V': t = CVT_VOID; p++; break;
    case 'Z': t = CVT_BOOL; p++; break;
    case 'B': t = CVT_BYTE; p++; break;
    case 'S': t = CVT_SHORT; p++; break;
    case 'I': t = CVT_INT; p++; break;
    case 'L': {
        const char *e = strchr(p, ';');
        if (!e)
            return -1;
        *name = p + 1;
        *name_len = (size_t)(e - p - 1);
        p = e + 1;
        t = CVT_REF;
        break;
    }
    case '[':
        p++;
        switch (*p) {
        case 'Z': t = CVT_ABOOL; p++; break;
        case 'B': t = CVT_ABYTE; p++; break;
        case 'S': t = CVT_ASHORT; p++; break;
        case 'I': t = CVT_AINT; p++; break;
        case 'L': case '[': {
            const char *q = p;
            int et = jvm_type(&q, name, name_len);
            if (et < 0)
                return -1;
            if (et != CVT_REF) {     /* arrays of arrays: no class */
                *name = NULL;
                *name_len = 0;
            }
            p = q;
            t = CVT_AREF;
            break;
        }
        default: return -1;
        }
        break;
    default:
        return -1;
    }
    *s = p;
    return t;
}

/* Same kinds (classes are compared through the hierarchy, not here). */
static int sig_equal(const cv_sig *a, const cv_sig *b)
{
    return a->nparams == b->nparams && a->ret == b->ret &&
           memcmp(a->params, b->params, a->nparams) == 0;
}

/* ---- Descriptor component ---- */

static void desc_free(cv_desc *d)
{
    free(d->classes);
    free(d->methods);
    memset(d, 0, sizeof *d);
}

/* Decode a Descriptor component's layout. Offsets in the failure message
 * (*bad) are info offsets. 0, -1 bad layout, VM_ERR_NOMEM. */
static int desc_decode(const uint8_t *info, uint16_t size, uint16_t cp_count, cv_desc *d,
                       unsigned *bad, const char **why)
{
    memset(d, 0, sizeof *d);
    size_t pos = 0;
#define NEED(n, what)                                 \
    do {                                              \
        if ((size_t)size - pos < (size_t)(n)) {       \
            *bad = (unsigned)pos;                     \
            *why = what " runs past the component";   \
            return -1;                                \
        }                                             \
    } while (0)
    NEED(1, "class_count");
    d->class_count = info[pos++];
    /* Pass 1: count methods. */
    size_t save = pos;
    uint32_t methods = 0;
    for (unsigned i = 0; i < d->class_count; i++) {
        NEED(9, "class_descriptor_info");
        uint8_t ni = info[pos + 4];
        uint16_t nf = vm_be16(info + pos + 5), nm = vm_be16(info + pos + 7);
        pos += 9;
        NEED(2u * ni + 7u * nf + 12u * nm, "class descriptor members");
        pos += 2u * ni + 7u * nf + 12u * nm;
        methods += nm;
    }
    if (d->class_count) {
        d->classes = calloc(d->class_count, sizeof *d->classes);
        if (!d->classes)
            return VM_ERR_NOMEM;
    }
    if (methods) {
        d->methods = calloc(methods, sizeof *d->methods);
        if (!d->methods)
            return VM_ERR_NOMEM;
    }
    pos = save;
    for (unsigned i = 0; i < d->class_count; i++) {
        cv_dclass *k = &d->classes[i];
        k->token = info[pos];
        k->access = info[pos + 1];
        k->this_ref = vm_be16(info + pos + 2);
        k->iface_count = info[pos + 4];
        k->field_count = vm_be16(info + pos + 5);
        k->method_count = vm_be16(info + pos + 7);
        pos += 9;
        k->ifaces = info + pos;
        pos += 2u * k->iface_count;
        k->fields = info + pos;
        pos += 7u * k->field_count;
        k->first_method = d->method_count;
        for (unsigned j = 0; j < k->method_count; j++) {
            const uint8_t *m = info + pos;
            cv_method *cm = &d->methods[d->method_count++];
            cm->token = m[0];
            cm->access = m[1];
            cm->offset = vm_be16(m + 2);
            cm->type_offset = vm_be16(m + 4);
            cm->bytecode_count = vm_be16(m + 6);
            cm->handler_count = vm_be16(m + 8);
            cm->handler_index = vm_be16(m + 10);
            cm->class_ref = k->this_ref;
            cm->class_is_interface = (k->access & CV_ACC_CINTERFACE) != 0;
            pos += 12;
        }
    }
    NEED(2, "constant_pool_count");
    d->types = info + pos;
    d->types_size = (uint16_t)(size - pos);
    d->cp_type_count = vm_be16(info + pos);
    if (d->cp_type_count != cp_count) {
        *bad = (unsigned)pos;
        *why = "constant_pool_count differs from the ConstantPool's count";
        return -1;
    }
    NEED(2u + 2u * d->cp_type_count, "constant_pool_types");
    /* Each type_descriptor must be whole and well formed, used or not. */
    size_t tp = pos + 2u + 2u * d->cp_type_count;
    while (tp < size) {
        unsigned n = info[tp];
        cv_sig s;
        if (n == 0 || (size_t)size - tp - 1 < (n + 1) / 2u) {
            *bad = (unsigned)tp;
            *why = "type_descriptor runs past the component";
            return -1;
        }
        if (cv_decode_type(d, (uint16_t)(tp - pos), &s) != 0) {
            *bad = (unsigned)tp;
            *why = "malformed type_descriptor";
            return -1;
        }
        tp += 1u + (n + 1) / 2u;
    }
#undef NEED
    return 0;
}

static const cv_dclass *desc_class_by_ref(const cv_desc *d, uint16_t ref)
{
    for (unsigned i = 0; i < d->class_count; i++)
        if (d->classes[i].this_ref == ref)
            return &d->classes[i];
    return NULL;
}

static const cv_dclass *desc_class_by_token(const cv_desc *d, uint8_t token)
{
    for (unsigned i = 0; i < d->class_count; i++)
        if (d->classes[i].token == token)
            return &d->classes[i];
    return NULL;
}

/* Method of a class descriptor by token; virtual = non-static. */
static const cv_method *desc_method(const cv_desc *d, const cv_dclass *k, uint8_t token, int want_static)
{
    for (unsigned j = 0; j < k->method_count; j++) {
        const cv_method *m = &d->methods[k->first_method + j];
        if (m->token == token && ((m->access & CV_ACC_STATIC) != 0) == (want_static != 0) &&
            !(m->access & CV_ACC_INIT))
            return m;
    }
    return NULL;
}

/* Field of a class descriptor by token (instance) or static offset. */
static const uint8_t *desc_field(const cv_dclass *k, uint8_t token, int want_static)
{
    for (unsigned j = 0; j < k->field_count; j++) {
        const uint8_t *f = k->fields + 7u * j;
        if (f[0] == token && ((f[1] & CV_ACC_STATIC) != 0) == (want_static != 0))
            return f;
    }
    return NULL;
}

/* A field descriptor's type: primitive (high bit) or a type offset. */
static int field_type(const cv_desc *d, const uint8_t *f, cv_sig *out)
{
    uint16_t t = vm_be16(f + 5);
    memset(out, 0, sizeof *out);
    if (t & 0x8000u) {
        unsigned k = t & 0x7FFFu;
        if (k < CVT_BOOL || k > CVT_INT)
            return -1;
        out->ret = (uint8_t)k;
        out->rcls = CV_CLS_ANY;
        return 0;
    }
    if (cv_decode_type(d, t, out) != 0 || out->nparams != 0 || out->ret == CVT_VOID)
        return -1;
    return 0;
}

/* ---- lookups ---- */

static int cmp_method_offset(const void *a, const void *b)
{
    const cv_method *x = *(cv_method *const *)a, *y = *(cv_method *const *)b;
    return (int)x->offset - (int)y->offset;
}

const cv_method *cv_method_at(const cv_ctx *c, uint16_t offset)
{
    size_t lo = 0, hi = c->by_offset_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint16_t o = c->by_offset[mid]->offset;
        if (o == offset)
            return c->by_offset[mid];
        if (o < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const jc_api_package *api_find(const cap_link_env *env, const uint8_t *aid, uint8_t len)
{
    for (unsigned i = 0; env && i < env->api_count; i++)
        if (env->api[i].aid_len == len && memcmp(env->api[i].aid, aid, len) == 0)
            return &env->api[i];
    return NULL;
}

static const jc_api_class *api_class(const jc_api_package *p, uint8_t token)
{
    if (!p || token >= p->class_count || !p->classes[token].name)
        return NULL;
    if (p->classes[token].token != token)
        return NULL;
    return &p->classes[token];
}

static const jc_api_class *api_class_by_name(const cap_link_env *env, const char *name)
{
    for (unsigned i = 0; env && i < env->api_count; i++)
        for (unsigned j = 0; j < env->api[i].class_count; j++) {
            const jc_api_class *k = &env->api[i].classes[j];
            if (k->name && strcmp(k->name, name) == 0)
                return k;
        }
    return NULL;
}

static const jc_api_method *api_method(const jc_api_class *k, uint8_t token, uint8_t kind)
{
    for (unsigned i = 0; k && i < k->method_count; i++)
        if (k->methods[i].token == token && k->methods[i].kind == kind)
            return &k->methods[i];
    return NULL;
}

/* A virtual method by token in an API class or its superclasses (tokens
 * are inherited). */
static const jc_api_method *api_virtual(const cap_link_env *env, const jc_api_class *k, uint8_t token)
{
    for (unsigned depth = 0; k && depth < 32; depth++) {
        const jc_api_method *m = api_method(k, token, JC_VIRTUAL_METHOD);
        if (m)
            return m;
        k = k->super_name ? api_class_by_name(env, k->super_name) : NULL;
    }
    return NULL;
}

static const jc_api_field *api_field(const jc_api_class *k, uint8_t token, uint8_t kind)
{
    for (unsigned i = 0; k && i < k->field_count; i++)
        if (k->fields[i].token == token && k->fields[i].kind == kind)
            return &k->fields[i];
    return NULL;
}

#define API_ACC_INTERFACE 0x0200
#define API_ACC_ABSTRACT  0x0400
#define API_ACC_FINAL     0x0010

/* An external class_ref's target: API class, or user package class. */
typedef struct cv_ext {
    const cv_import *imp;
    const jc_api_class *api;         /* API package */
    const cv_dclass *user;           /* user package: its class descriptor */
    int unresolved;                  /* import not on the card (host flag) */
} cv_ext;

static int ext_resolve(cv_ctx *c, uint8_t pkg_token, uint8_t class_token, cv_ext *out)
{
    memset(out, 0, sizeof *out);
    if (pkg_token >= c->v->import_count)
        return -1;
    const cv_import *imp = &c->imports[pkg_token];
    out->imp = imp;
    if (imp->api) {
        out->api = api_class(imp->api, class_token);
        return out->api ? 0 : -1;
    }
    if (imp->user) {
        out->user = desc_class_by_token(&imp->user_desc, class_token);
        /* Only what the library exports (public classes) links. */
        if (!out->user || !(out->user->access & CV_ACC_PUBLIC))
            return -1;
        return 0;
    }
    out->unresolved = 1;
    return 0;
}

int cv_class_kind(cv_ctx *c, uint16_t ref)
{
    if (!CAP_REF_EXTERNAL(ref)) {
        const cap_class *k = cap_class_at(c->v, ref);
        if (!k)
            return -1;
        return (k->flags & CAP_ACC_INTERFACE) ? 1 : 0;
    }
    cv_ext e;
    if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &e) != 0)
        return -1;
    if (e.unresolved)
        return -2;
    if (e.api)
        return (e.api->flags & API_ACC_INTERFACE) ? 1 : 0;
    return (e.user->access & CV_ACC_CINTERFACE) ? 1 : 0;
}

/* ---- the class hierarchy ---- */

/* A class wherever it lives: in the verified package (ref = class offset),
 * in the API (api), or in an imported library (imp, ref = its offset). */
typedef struct cv_node {
    int kind;                 /* NODE_* */
    uint16_t ref;
    const jc_api_class *api;
    int imp;
} cv_node;
enum { NODE_OURS = 1, NODE_API = 2, NODE_LIB = 3 };

static int node_of(cv_ctx *c, uint16_t ref, cv_node *n)
{
    memset(n, 0, sizeof *n);
    if (ref == CV_CLS_ANY)
        return -1;
    if (!CAP_REF_EXTERNAL(ref)) {
        if (!cap_class_at(c->v, ref))
            return -1;
        n->kind = NODE_OURS;
        n->ref = ref;
        return 0;
    }
    cv_ext x;
    if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &x) != 0 || x.unresolved)
        return -1;
    if (x.api) {
        n->kind = NODE_API;
        n->api = x.api;
        return 0;
    }
    n->kind = NODE_LIB;
    n->imp = (int)(x.imp - c->imports);
    n->ref = x.user->this_ref;
    return 0;
}

/* Our import of the user library with this AID, or -1. */
static int imported_library(const cv_ctx *c, const vm_aid *aid)
{
    for (unsigned i = 0; i < c->v->import_count; i++)
        if (c->imports[i].user && c->v->imports[i].aid.len == aid->len &&
            memcmp(c->v->imports[i].aid.b, aid->b, aid->len) == 0)
            return (int)i;
    return -1;
}

static int node_super(cv_ctx *c, const cv_node *n, cv_node *out)
{
    cv_node r;
    memset(&r, 0, sizeof r);
    if (n->kind == NODE_OURS) {
        const cap_class *k = cap_class_at(c->v, n->ref);
        if (!k || (k->flags & CAP_ACC_INTERFACE) || k->super_ref == 0xFFFF)
            return -1;
        if (node_of(c, k->super_ref, &r) != 0)
            return -1;
    } else if (n->kind == NODE_API) {
        if (!n->api->super_name)
            return -1;
        r.kind = NODE_API;
        r.api = api_class_by_name(c->env, n->api->super_name);
        if (!r.api)
            return -1;
    } else if (n->kind == NODE_LIB) {
        const cap_view *lv = c->imports[n->imp].user;
        const cap_class *k = cap_class_at(lv, n->ref);
        if (!k || (k->flags & CAP_ACC_INTERFACE))
            return -1;
        uint16_t s = k->super_ref;
        if (!CAP_REF_EXTERNAL(s)) {
            r.kind = NODE_LIB;
            r.imp = n->imp;
            r.ref = s;
        } else {
            /* The library's own import: the API, or a library that the
             * verified package imports too (else its classes are out of
             * reach here). */
            uint8_t pt = CAP_REF_PKG_TOKEN(s);
            if (pt >= lv->import_count)
                return -1;
            const vm_aid *la = &lv->imports[pt].aid;
            const jc_api_package *p = api_find(c->env, la->b, la->len);
            if (p) {
                r.kind = NODE_API;
                r.api = api_class(p, CAP_REF_CLASS_TOKEN(s));
                if (!r.api)
                    return -1;
            } else {
                int j = imported_library(c, la);
                const cv_dclass *k =
                    j >= 0 ? desc_class_by_token(&c->imports[j].user_desc, CAP_REF_CLASS_TOKEN(s)) : NULL;
                if (!k)
                    return -1;
                r.kind = NODE_LIB;
                r.imp = j;
                r.ref = k->this_ref;
            }
        }
    } else {
        return -1;
    }
    *out = r;
    return 0;
}

static int node_eq(const cv_node *a, const cv_node *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == NODE_API)
        return a->api == b->api;
    return a->ref == b->ref && (a->kind != NODE_LIB || a->imp == b->imp);
}

static int node_is_interface(cv_ctx *c, const cv_node *n)
{
    if (n->kind == NODE_API)
        return (n->api->flags & API_ACC_INTERFACE) != 0;
    const cap_class *k = cap_class_at(n->kind == NODE_OURS ? c->v : c->imports[n->imp].user, n->ref);
    return k && (k->flags & CAP_ACC_INTERFACE);
}

static int node_is_object(const cv_node *n)
{
    return n->kind == NODE_API && strcmp(n->api->name, "java/lang/Object") == 0;
}

/* The class_ref by which the verified package names an API class: through
 * the import of the API package holding it. CV_CLS_ANY when not imported. */
static uint16_t api_class_ref(cv_ctx *c, const jc_api_class *k)
{
    for (unsigned pi = 0; c->env && pi < c->env->api_count; pi++) {
        const jc_api_package *p = &c->env->api[pi];
        if (k < p->classes || k >= p->classes + p->class_count)
            continue;
        for (unsigned i = 0; i < c->v->import_count; i++)
            if (c->imports[i].api == p)
                return (uint16_t)(0x8000u | i << 8 | k->token);
    }
    return CV_CLS_ANY;
}

static uint16_t node_to_ref(cv_ctx *c, const cv_node *n)
{
    if (n->kind == NODE_OURS)
        return n->ref;
    if (n->kind == NODE_API)
        return api_class_ref(c, n->api);
    if (n->kind == NODE_LIB) {
        const cv_dclass *k = desc_class_by_ref(&c->imports[n->imp].user_desc, n->ref);
        if (k)
            return (uint16_t)(0x8000u | (unsigned)n->imp << 8 | k->token);
    }
    return CV_CLS_ANY;
}

/* An import the card does not have (host flag only): nothing to check. */
static int ref_unresolved(cv_ctx *c, uint16_t ref)
{
    if (ref == CV_CLS_ANY || !CAP_REF_EXTERNAL(ref))
        return 0;
    uint8_t pt = CAP_REF_PKG_TOKEN(ref);
    return pt < c->v->import_count && !c->imports[pt].api && !c->imports[pt].user &&
           (c->flags & CAP_VERIFY_UNRESOLVED_IMPORTS_OK);
}

int cv_assignable_class(cv_ctx *c, uint16_t from, uint16_t to)
{
    if (to == CV_CLS_ANY)
        return 1;
    if (ref_unresolved(c, to) || ref_unresolved(c, from))
        return 1;
    cv_node tn, fn;
    if (to == CV_CLS_THROWABLE)
        return from == CV_CLS_THROWABLE || cv_is_throwable(c, from);
    if (node_of(c, to, &tn) != 0)
        return 0;
    if (node_is_interface(c, &tn) || node_is_object(&tn))
        return 1;
    if (from == CV_CLS_THROWABLE)
        return tn.kind == NODE_API && strcmp(tn.api->name, "java/lang/Throwable") == 0;
    if (from == CV_CLS_ANY || node_of(c, from, &fn) != 0)
        return 0;
    for (unsigned depth = 0; depth < 64; depth++) {
        if (node_eq(&fn, &tn))
            return 1;
        if (node_super(c, &fn, &fn) != 0)
            return 0;
    }
    return 0;
}

uint16_t cv_lub_class(cv_ctx *c, uint16_t a, uint16_t b)
{
    if (a == b)
        return a;
    if (a == CV_CLS_ANY || b == CV_CLS_ANY)
        return CV_CLS_ANY;
    if (cv_assignable_class(c, a, b))
        return b;
    if (cv_assignable_class(c, b, a))
        return a;
    if (a == CV_CLS_THROWABLE || b == CV_CLS_THROWABLE)
        return cv_is_throwable(c, a) && cv_is_throwable(c, b) ? CV_CLS_THROWABLE : CV_CLS_ANY;
    cv_node n;
    if (node_of(c, a, &n) != 0)
        return CV_CLS_ANY;
    for (unsigned depth = 0; depth < 64 && node_super(c, &n, &n) == 0; depth++) {
        uint16_t r = node_to_ref(c, &n);
        if (r != CV_CLS_ANY && cv_assignable_class(c, b, r))
            return r;
    }
    return CV_CLS_ANY;
}

/* A JVM descriptor of the API tables, classes named in our encoding. */
static int jvm_sig(cv_ctx *c, const char *desc, cv_sig *out)
{
    memset(out, 0, sizeof *out);
    if (!desc)
        return -1;
    const char *p = desc, *name;
    size_t nl;
    char buf[128];
#define CLASS_OF(dst)                                                   \
    do {                                                                \
        (dst) = CV_CLS_ANY;                                             \
        if (name && nl < sizeof buf) {                                  \
            memcpy(buf, name, nl);                                      \
            buf[nl] = 0;                                                \
            const jc_api_class *k_ = api_class_by_name(c->env, buf);   \
            if (k_)                                                     \
                (dst) = api_class_ref(c, k_);                           \
        }                                                               \
    } while (0)
    if (*p != '(') {
        int t = jvm_type(&p, &name, &nl);
        if (t < 0 || *p)
            return -1;
        out->ret = (uint8_t)t;
        CLASS_OF(out->rcls);
        return 0;
    }
    p++;
    while (*p && *p != ')') {
        int t = jvm_type(&p, &name, &nl);
        if (t < 0 || t == CVT_VOID || out->nparams >= CV_MAX_PARAMS)
            return -1;
        CLASS_OF(out->pcls[out->nparams]);
        out->params[out->nparams++] = (uint8_t)t;
    }
    if (*p != ')')
        return -1;
    p++;
    int t = jvm_type(&p, &name, &nl);
    if (t < 0 || *p)
        return -1;
    out->ret = (uint8_t)t;
    CLASS_OF(out->rcls);
#undef CLASS_OF
    return 0;
}

/* A library's type (class_refs in the library's encoding) into ours. */
static uint16_t lib_ref_to_ours(cv_ctx *c, int imp, uint16_t lref)
{
    if (lref == CV_CLS_ANY)
        return CV_CLS_ANY;
    cv_node n;
    memset(&n, 0, sizeof n);
    if (!CAP_REF_EXTERNAL(lref)) {
        n.kind = NODE_LIB;
        n.imp = imp;
        n.ref = lref;
        return node_to_ref(c, &n);
    }
    const cap_view *lv = c->imports[imp].user;
    uint8_t pt = CAP_REF_PKG_TOKEN(lref);
    if (pt >= lv->import_count)
        return CV_CLS_ANY;
    const jc_api_package *p = api_find(c->env, lv->imports[pt].aid.b, lv->imports[pt].aid.len);
    const jc_api_class *k = p ? api_class(p, CAP_REF_CLASS_TOKEN(lref)) : NULL;
    return k ? api_class_ref(c, k) : CV_CLS_ANY;
}

static int lib_type(cv_ctx *c, const cv_import *imp, uint16_t type_offset, cv_sig *out)
{
    if (cv_decode_type(&imp->user_desc, type_offset, out) != 0)
        return -1;
    int i = (int)(imp - c->imports);
    for (unsigned k = 0; k < out->nparams; k++)
        out->pcls[k] = lib_ref_to_ours(c, i, out->pcls[k]);
    out->rcls = lib_ref_to_ours(c, i, out->rcls);
    return 0;
}

/* A public virtual method by token in an imported library's class `x` or,
 * inherited (JCVM 3.0.5 6.8.3: the token of an inherited method is the
 * superclass's), a superclass: in the library, in another library we
 * import, or in the API. 0 with its type in our encoding (and in *final
 * whether it is final, when final is given), -1 none. */
static int lib_virtual(cv_ctx *c, const cv_ext *x, uint8_t token, cv_sig *out, int *final)
{
    cv_node n;
    memset(&n, 0, sizeof n);
    n.kind = NODE_LIB;
    n.imp = (int)(x->imp - c->imports);
    n.ref = x->user->this_ref;
    for (unsigned depth = 0; depth < 64; depth++) {
        if (n.kind == NODE_API) {
            const jc_api_method *m = api_virtual(c->env, n.api, token);
            if (m && final)
                *final = (m->flags & API_ACC_FINAL) != 0;
            return m && jvm_sig(c, m->desc, out) == 0 ? 0 : -1;
        }
        if (n.kind != NODE_LIB)
            return -1;
        const cv_import *imp = &c->imports[n.imp];
        const cv_dclass *k = desc_class_by_ref(&imp->user_desc, n.ref);
        const cv_method *m = k ? desc_method(&imp->user_desc, k, token, 0) : NULL;
        if (m) {
            if (final)
                *final = (m->access & CV_ACC_FINAL) != 0;
            return lib_type(c, imp, m->type_offset, out) == 0 ? 0 : -1;
        }
        if (node_super(c, &n, &n) != 0)
            return -1;
    }
    return -1;
}

/* 1 when the class is final. */
static int cv_class_final(cv_ctx *c, uint16_t ref)
{
    if (!CAP_REF_EXTERNAL(ref)) {
        const cv_dclass *k = desc_class_by_ref(&c->d, ref);
        return k && (k->access & CV_ACC_FINAL);
    }
    cv_ext e;
    if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &e) != 0 || e.unresolved)
        return 0;
    if (e.api)
        return (e.api->flags & API_ACC_FINAL) != 0;
    return (e.user->access & CV_ACC_FINAL) != 0;
}

int cv_class_abstract(cv_ctx *c, uint16_t ref)
{
    if (!CAP_REF_EXTERNAL(ref)) {
        const cv_dclass *k = desc_class_by_ref(&c->d, ref);
        return k && (k->access & CV_ACC_CABSTRACT);
    }
    cv_ext e;
    if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &e) != 0 || e.unresolved)
        return 0;
    if (e.api)
        return (e.api->flags & API_ACC_ABSTRACT) != 0;
    return (e.user->access & CV_ACC_CABSTRACT) != 0;
}

int cv_is_throwable(cv_ctx *c, uint16_t ref)
{
    if (ref == CV_CLS_THROWABLE || ref_unresolved(c, ref))
        return 1;
    cv_node n;
    if (node_of(c, ref, &n) != 0)
        return 0;
    for (unsigned depth = 0; depth < 64; depth++) {
        if (n.kind == NODE_API && strcmp(n.api->name, "java/lang/Throwable") == 0)
            return 1;
        if (node_super(c, &n, &n) != 0)
            return 0;
    }
    return 0;
}

int cv_interface_method(cv_ctx *c, uint16_t ref, uint8_t token, cv_sig *out)
{
    if (!CAP_REF_EXTERNAL(ref)) {
        const cv_dclass *k = desc_class_by_ref(&c->d, ref);
        const cv_method *m = k ? desc_method(&c->d, k, token, 0) : NULL;
        if (!m)
            return -1;
        return cv_decode_type(&c->d, m->type_offset, out) == 0 ? 0 : -1;
    }
    cv_ext e;
    if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &e) != 0)
        return -1;
    if (e.unresolved)
        return -2;
    if (e.api) {
        const jc_api_method *m = api_method(e.api, token, JC_VIRTUAL_METHOD);
        if (!m)
            return -1;
        return jvm_sig(c, m->desc, out) == 0 ? 0 : -1;
    }
    const cv_method *m = desc_method(&e.imp->user_desc, e.user, token, 0);
    if (!m)
        return -1;
    return lib_type(c, e.imp, m->type_offset, out) == 0 ? 0 : -1;
}

/* ---- imports ---- */

static int check_imports(cv_ctx *c)
{
    const cap_view *v = c->v;
    unsigned off = 1;
    for (unsigned i = 0; i < v->import_count; i++) {
        const cap_package_ref *r = &v->imports[i];
        cv_import *imp = &c->imports[i];
        if (r->aid.len == v->pkg_aid.len && memcmp(r->aid.b, v->pkg_aid.b, r->aid.len) == 0)
            return cv_fail(c, CAP_Import, off, "the package imports itself");
        for (unsigned j = 0; j < i; j++)
            if (v->imports[j].aid.len == r->aid.len &&
                memcmp(v->imports[j].aid.b, r->aid.b, r->aid.len) == 0)
                return cv_fail(c, CAP_Import, off, "package imported twice");
        imp->api = api_find(c->env, r->aid.b, r->aid.len);
        if (imp->api && imp->api->privileged && !(c->flags & CAP_VERIFY_PRIVILEGED)) {
            cv_fail(c, CAP_Import, off, "imported package %u (%s) is the LOADER's: only the customization "
                    "software may import it", i, imp->api->name);
            return VM_ERR_DEPENDENCY;
        }
        uint8_t have_major, have_minor;
        if (imp->api) {
            have_major = imp->api->major;
            have_minor = imp->api->minor;
        } else {
            imp->user = c->env && c->env->find_user ? c->env->find_user(c->env->ctx, r->aid.b, r->aid.len) : NULL;
            if (!imp->user) {
                if (c->flags & CAP_VERIFY_UNRESOLVED_IMPORTS_OK) {
                    off += 3u + r->aid.len;
                    continue;
                }
                cv_fail(c, CAP_Import, off, "imported package %u (version %u.%u) is not on the card",
                        i, r->major, r->minor);
                return VM_ERR_DEPENDENCY;
            }
            have_major = imp->user->pkg_major;
            have_minor = imp->user->pkg_minor;
            unsigned bad = 0;
            const char *why = "";
            if (!imp->user->info[CAP_Descriptor] ||
                desc_decode(imp->user->info[CAP_Descriptor], imp->user->size[CAP_Descriptor],
                            imp->user->cp_count, &imp->user_desc, &bad, &why) != 0) {
                cv_fail(c, CAP_Import, off, "imported package %u has no usable Descriptor component", i);
                return VM_ERR_DEPENDENCY;
            }
        }
        if (r->major != have_major || r->minor > have_minor) {
            cv_fail(c, CAP_Import, off, "imported package %u wants version %u.%u, the card has %u.%u",
                    i, r->major, r->minor, have_major, have_minor);
            return VM_ERR_DEPENDENCY;
        }
        off += 3u + r->aid.len;
    }
    return 0;
}

/* ---- methods: extents, headers, handlers ---- */

static int check_methods(cv_ctx *c)
{
    const cap_view *v = c->v;
    const cv_desc *d = &c->d;
    uint32_t with_info = 0;
    for (uint32_t i = 0; i < d->method_count; i++) {
        const cv_method *m = &d->methods[i];
        if (m->class_is_interface) {
            if (m->offset != 0 || m->bytecode_count != 0 || m->handler_count != 0)
                return cv_fail(c, CAP_Descriptor, 0, "interface method token %u has code", m->token);
            if ((m->access & CV_ACC_STATIC) || !(m->access & CV_ACC_MABSTRACT))
                return cv_fail(c, CAP_Descriptor, 0, "interface method token %u is not abstract", m->token);
            cv_sig s;
            if (cv_decode_type(d, m->type_offset, &s) != 0)
                return cv_fail(c, CAP_Descriptor, m->type_offset, "bad type of interface method token %u",
                               m->token);
            continue;
        }
        with_info++;
    }
    if (with_info) {
        c->by_offset = calloc(with_info, sizeof *c->by_offset);
        if (!c->by_offset)
            return VM_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < d->method_count; i++)
        if (!d->methods[i].class_is_interface)
            c->by_offset[c->by_offset_count++] = &d->methods[i];
    if (c->by_offset_count > 1)
        qsort(c->by_offset, c->by_offset_count, sizeof *c->by_offset, cmp_method_offset);

    /* The method_infos tile the Method component after the handler table:
     * no gap, no overlap, each as long as the Descriptor says. */
    uint32_t expect = 1u + 8u * v->handler_count;
    uint32_t handlers_seen = 0;
    for (uint32_t i = 0; i < c->by_offset_count; i++) {
        const cv_method *m = c->by_offset[i];
        cap_method_header h;
        if (m->offset != expect)
            return cv_fail(c, CAP_Method, m->offset,
                           "method_info expected at offset %u (the Descriptor's methods must tile the component)",
                           expect);
        if (cap_method_header_at(v, m->offset, &h) != 0)
            return cv_fail(c, CAP_Method, m->offset, "method header runs past the component");
        int abstract_desc = (m->access & CV_ACC_MABSTRACT) != 0;
        int abstract_hdr = (h.flags & CAP_ACC_ABSTRACT) != 0;
        if (abstract_desc != abstract_hdr)
            return cv_fail(c, CAP_Method, m->offset, "ACC_ABSTRACT differs between header and Descriptor");
        if (abstract_hdr && (m->bytecode_count || m->handler_count))
            return cv_fail(c, CAP_Method, m->offset, "abstract method with bytecode");
        if (!abstract_hdr && m->bytecode_count == 0)
            return cv_fail(c, CAP_Method, m->offset, "method without bytecode");
        if ((h.flags & CAP_ACC_EXTENDED) == 0 && (m->offset + 2u + m->bytecode_count > v->methods_size))
            return cv_fail(c, CAP_Method, m->offset, "bytecode runs past the component");
        uint32_t end = (uint32_t)h.code_offset + m->bytecode_count;
        if (end > v->methods_size)
            return cv_fail(c, CAP_Method, m->offset, "bytecode runs past the component");
        if (m->access & CV_ACC_STATIC && m->access & CV_ACC_INIT)
            return cv_fail(c, CAP_Descriptor, 0, "method at offset %u is a static constructor", m->offset);
        /* Arguments: the header's nargs counts words, "this" included. */
        cv_sig s;
        if (cv_decode_type(d, m->type_offset, &s) != 0)
            return cv_fail(c, CAP_Descriptor, m->type_offset, "bad method type (method offset %u)", m->offset);
        unsigned words = (m->access & CV_ACC_STATIC) ? 0 : 1;
        for (unsigned k = 0; k < s.nparams; k++)
            words += s.params[k] == CVT_INT ? 2 : 1;
        if (words != h.nargs)
            return cv_fail(c, CAP_Method, m->offset, "nargs %u, the method's type takes %u words",
                           h.nargs, words);
        if (m->handler_count) {
            if ((uint32_t)m->handler_index + m->handler_count > v->handler_count)
                return cv_fail(c, CAP_Descriptor, 0, "method at offset %u: handlers %u..%u do not exist",
                               m->offset, m->handler_index, m->handler_index + m->handler_count - 1);
            for (unsigned k = 0; k < m->handler_count; k++) {
                const cap_handler *hd = &v->handlers[m->handler_index + k];
                unsigned hoff = 1u + 8u * (m->handler_index + k);
                if (hd->start < h.code_offset || hd->end > end || hd->start >= hd->end)
                    return cv_fail(c, CAP_Method, hoff, "handler range %u..%u is not inside method offset %u",
                                   hd->start, hd->end, m->offset);
                if (hd->handler < h.code_offset || hd->handler >= end)
                    return cv_fail(c, CAP_Method, hoff, "handler entry %u is not inside method offset %u",
                                   hd->handler, m->offset);
                if (hd->catch_type != 0) {
                    if (hd->catch_type >= v->cp_count || v->cp[4u * hd->catch_type] != CAP_CP_CLASSREF)
                        return cv_fail(c, CAP_Method, hoff, "catch type %u is not a class reference",
                                       hd->catch_type);
                    /* A catch type is a CP index too: RefLocation lists it. */
                    c->operand_marks[hoff + 6] = 2;
                }
            }
            /* Try blocks nest (JCVM §6.9.1): two ranges are disjoint or the
             * earlier one lies inside the later one (inner handlers first),
             * and the stop bit says whether a later range contains it. */
            for (unsigned k = 0; k < m->handler_count; k++) {
                const cap_handler *a = &v->handlers[m->handler_index + k];
                unsigned hoff = 1u + 8u * (m->handler_index + k);
                int contained = 0;
                for (unsigned l = k + 1; l < m->handler_count; l++) {
                    const cap_handler *b = &v->handlers[m->handler_index + l];
                    if (a->end <= b->start || b->end <= a->start)
                        continue;
                    if (b->start <= a->start && a->end <= b->end) {
                        contained = 1;
                        continue;
                    }
                    return cv_fail(c, CAP_Method, hoff, "handler %u's range %u..%u %s handler %u's %u..%u",
                                   m->handler_index + k, a->start, a->end,
                                   (a->start <= b->start && b->end <= a->end) ? "encloses the later" : "overlaps",
                                   m->handler_index + l, b->start, b->end);
                }
                if (a->stop == contained)
                    return cv_fail(c, CAP_Method, hoff + 2, "handler %u: stop bit %u, but a later range %s it",
                                   m->handler_index + k, a->stop, contained ? "contains" : "does not contain");
            }
            /* Handlers of one method are consecutive; methods take them in
             * offset order, so the whole table is used exactly once. */
            if (m->handler_index != handlers_seen)
                return cv_fail(c, CAP_Descriptor, 0, "method at offset %u: handlers start at %u, expected %u",
                               m->offset, m->handler_index, handlers_seen);
            handlers_seen += m->handler_count;
        }
        expect = end;
    }
    if (expect != v->methods_size)
        return cv_fail(c, CAP_Method, expect, "%u bytes no method accounts for",
                       (unsigned)(v->methods_size - expect));
    if (handlers_seen != v->handler_count)
        return cv_fail(c, CAP_Method, 0, "%u handlers, methods claim %u", v->handler_count, handlers_seen);
    return 0;
}

/* ---- Class component against the Descriptor ---- */

/* The virtual method of this token in class `ref` or its superclasses:
 * 0 with its type (and in *final whether it is final, when final is
 * given), -1 none, -2 in an import not at hand (host). */
static int virtual_sig(cv_ctx *c, uint16_t ref, uint8_t token, cv_sig *out, int *final)
{
    for (unsigned depth = 0; depth < 64; depth++) {
        if (ref == 0xFFFF)
            return -1;
        if (!CAP_REF_EXTERNAL(ref)) {
            const cv_dclass *k = desc_class_by_ref(&c->d, ref);
            const cv_method *m = k ? desc_method(&c->d, k, token, 0) : NULL;
            if (m) {
                if (final)
                    *final = (m->access & CV_ACC_FINAL) != 0;
                return cv_decode_type(&c->d, m->type_offset, out) == 0 ? 0 : -1;
            }
            const cap_class *ci = cap_class_at(c->v, ref);
            if (!ci || (ci->flags & CAP_ACC_INTERFACE))
                return -1;
            ref = ci->super_ref;
            continue;
        }
        if (token & 0x80)
            return -1;      /* package-visible tokens stay in their package */
        cv_ext x;
        if (ext_resolve(c, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref), &x) != 0)
            return -1;
        if (x.unresolved)
            return -2;
        if (x.api) {
            const jc_api_method *m = api_virtual(c->env, x.api, token);
            if (m && final)
                *final = (m->flags & API_ACC_FINAL) != 0;
            return m && jvm_sig(c, m->desc, out) == 0 ? 0 : -1;
        }
        return lib_virtual(c, &x, token, out, final);
    }
    return -1;
}

/* May `sub` override (or implement) `sup`? Same kinds; a reference result
 * of a subclass of the overridden one's, reference parameters of a
 * superclass of its (the caller is typed by `sup`, the code by `sub`). */
static int override_ok(cv_ctx *c, const cv_sig *sub, const cv_sig *sup)
{
    if (!sig_equal(sub, sup))
        return 0;
    if ((sub->ret == CVT_REF || sub->ret == CVT_AREF) && !cv_assignable_class(c, sub->rcls, sup->rcls))
        return 0;
    for (unsigned i = 0; i < sub->nparams; i++)
        if ((sub->params[i] == CVT_REF || sub->params[i] == CVT_AREF) &&
            !cv_assignable_class(c, sup->pcls[i], sub->pcls[i]))
            return 0;
    return 1;
}

/* Overrides and interface implementations keep the types callers were
 * verified against: the runtime dispatches by token to whatever method
 * the object's class has there. */
static int check_overrides(cv_ctx *c)
{
    const cap_view *v = c->v;
    const cv_desc *d = &c->d;
    for (unsigned i = 0; i < d->class_count; i++) {
        const cv_dclass *k = &d->classes[i];
        const cap_class *ci = cap_class_at(v, k->this_ref);
        if (!ci || (ci->flags & CAP_ACC_INTERFACE))
            continue;
        for (unsigned j = 0; j < k->method_count; j++) {
            const cv_method *m = &d->methods[k->first_method + j];
            if (m->access & (CV_ACC_STATIC | CV_ACC_INIT | CV_ACC_PRIVATE))
                continue;
            cv_sig sub, sup;
            if (cv_decode_type(d, m->type_offset, &sub) != 0)
                return cv_fail(c, CAP_Descriptor, m->type_offset, "bad method type");
            int final = 0;
            int r = virtual_sig(c, ci->super_ref, m->token, &sup, &final);
            if (r == 0 && !override_ok(c, &sub, &sup))
                return cv_fail(c, CAP_Class, ci->offset,
                               "method token %u overrides a method of another type", m->token);
            /* (the VM calls a final API method without looking at the
             * object's class) */
            if (r == 0 && final)
                return cv_fail(c, CAP_Class, ci->offset, "method token %u overrides a final method", m->token);
        }
        const uint8_t *p = ci->interfaces;
        for (unsigned j = 0; j < ci->interface_count; j++) {
            uint16_t ir = vm_be16(p);
            uint8_t n = p[2];
            for (unsigned q = 0; q < n; q++) {
                cv_sig isig, impl;
                int r = cv_interface_method(c, ir, (uint8_t)q, &isig);
                if (r == -2)
                    break;
                if (r != 0)
                    return cv_fail(c, CAP_Class, ci->offset, "interface %04X has no method token %u", ir, q);
                r = virtual_sig(c, k->this_ref, p[3 + q], &impl, NULL);
                if (r == -2)
                    continue;
                if (r != 0 || !override_ok(c, &impl, &isig))
                    return cv_fail(c, CAP_Class, ci->offset,
                                   "interface %04X method %u: token %u does not implement it with its type",
                                   ir, q, p[3 + q]);
            }
            p += 3u + n;
        }
    }
    return 0;
}

/* Is `ref` the class at `offset` or one of its superclasses in this
 * package? (A vtable entry runs with `this` of the class.) */
static int in_own_chain(cv_ctx *c, uint16_t offset, uint16_t ref)
{
    uint16_t r = offset;
    for (unsigned depth = 0; depth <= c->v->class_count && !CAP_REF_EXTERNAL(r); depth++) {
        if (r == ref)
            return 1;
        const cap_class *k = cap_class_at(c->v, r);
        if (!k)
            return 0;
        r = k->super_ref;
    }
    return 0;
}

static int check_classes(cv_ctx *c)
{
    const cap_view *v = c->v;
    const cv_desc *d = &c->d;
    /* One descriptor per class_info and the reverse. */
    if (d->class_count != v->class_count)
        return cv_fail(c, CAP_Descriptor, 0, "%u class descriptors for %u classes and interfaces",
                       d->class_count, v->class_count);
    for (unsigned i = 0; i < d->class_count; i++) {
        const cv_dclass *k = &d->classes[i];
        if (CAP_REF_EXTERNAL(k->this_ref))
            return cv_fail(c, CAP_Descriptor, 0, "class descriptor %u names an external class", i);
        const cap_class *ci = cap_class_at(v, k->this_ref);
        if (!ci)
            return cv_fail(c, CAP_Descriptor, 0, "class descriptor %u: no class_info at offset %u", i,
                           k->this_ref);
        for (unsigned j = 0; j < i; j++)
            if (d->classes[j].this_ref == k->this_ref)
                return cv_fail(c, CAP_Descriptor, 0, "class descriptor %u repeats class %u", i, k->this_ref);
        if (((k->access & CV_ACC_CINTERFACE) != 0) != ((ci->flags & CAP_ACC_INTERFACE) != 0))
            return cv_fail(c, CAP_Class, ci->offset, "interface flag differs from the Descriptor");
        /* Fields: instance tokens inside the declared size, statics inside
         * the image with room for their type. */
        for (unsigned j = 0; j < k->field_count; j++) {
            const uint8_t *f = k->fields + 7u * j;
            cv_sig t;
            if (field_type(d, f, &t) != 0)
                return cv_fail(c, CAP_Descriptor, 0, "class %u field %u: bad type", k->this_ref, j);
            if (t.ret == CVT_INT || t.ret == CVT_AINT)
                return cv_fail(c, CAP_Descriptor, 0, "class %u field %u: int is not supported on this card",
                               k->this_ref, j);
            /* The runtime finds references by position (the first
             * 2 x reference_count bytes of the static image; the
             * reference token range of a class): a field's declared type
             * must agree, or a number could sit where a reference is
             * expected (or a reference escape the collector). */
            int is_ref = t.ret == CVT_REF || t.ret >= CVT_ABOOL;
            if (f[1] & CV_ACC_STATIC) {
                if (f[2] & 0x80)
                    return cv_fail(c, CAP_Descriptor, 0, "class %u static field %u is external", k->this_ref, j);
                uint16_t off = vm_be16(f + 3);
                unsigned sz = (t.ret == CVT_BOOL || t.ret == CVT_BYTE) ? 1 : 2;
                if ((uint32_t)off + sz > v->sf_image_size)
                    return cv_fail(c, CAP_Descriptor, 0, "class %u static field at %u outside the %u-byte image",
                                   k->this_ref, off, v->sf_image_size);
                uint32_t ref_area = 2u * v->sf_reference_count;
                if (is_ref && ((off & 1) || (uint32_t)off + 2 > ref_area))
                    return cv_fail(c, CAP_Descriptor, 0,
                                   "class %u static reference field at %u outside the %u-byte reference area",
                                   k->this_ref, off, (unsigned)ref_area);
                if (!is_ref && off < ref_area)
                    return cv_fail(c, CAP_Descriptor, 0,
                                   "class %u static primitive field at %u inside the reference area",
                                   k->this_ref, off);
            } else {
                if (ci->flags & CAP_ACC_INTERFACE)
                    return cv_fail(c, CAP_Descriptor, 0, "interface %u has an instance field", k->this_ref);
                if (vm_be16(f + 2) != k->this_ref)
                    return cv_fail(c, CAP_Descriptor, 0, "class %u field %u belongs to another class",
                                   k->this_ref, j);
                if (f[4] >= ci->declared_instance_size)
                    return cv_fail(c, CAP_Descriptor, 0, "class %u field token %u outside %u instance words",
                                   k->this_ref, f[4], ci->declared_instance_size);
                int in_refs = ci->first_reference_token != 0xFF && f[4] >= ci->first_reference_token &&
                              f[4] < ci->first_reference_token + ci->reference_count;
                if (is_ref != in_refs)
                    return cv_fail(c, CAP_Class, ci->offset,
                                   "instance field token %u is a %s, the reference tokens are %u..%u",
                                   f[4], is_ref ? "reference" : "primitive", ci->first_reference_token,
                                   ci->first_reference_token + ci->reference_count);
            }
        }
    }
    for (unsigned i = 0; i < v->class_count; i++) {
        const cap_class *ci = &v->classes[i];
        if (ci->flags & CAP_ACC_INTERFACE) {
            for (unsigned j = 0; j < ci->interface_count; j++) {
                uint16_t r = vm_be16(ci->interfaces + 2u * j);
                int kind = cv_class_kind(c, r);
                if (kind == 0 || kind == -1)
                    return cv_fail(c, CAP_Class, ci->offset, "superinterface %04X is not an interface", r);
            }
            continue;
        }
        /* Superclass chain: internal links end at an external class. A
         * final class has no subclasses (the VM relies on it: it calls
         * the methods of a final API class without looking at the
         * object's class). */
        if (cv_class_final(c, ci->super_ref))
            return cv_fail(c, CAP_Class, ci->offset, "superclass %04X is final", ci->super_ref);
        uint16_t r = ci->super_ref;
        for (unsigned depth = 0;; depth++) {
            if (depth > v->class_count)
                return cv_fail(c, CAP_Class, ci->offset, "the superclass chain loops");
            int kind = cv_class_kind(c, r);
            if (kind == -1 || kind == 1)
                return cv_fail(c, CAP_Class, ci->offset, "superclass %04X is not a class", r);
            if (CAP_REF_EXTERNAL(r))
                break;
            r = cap_class_at(v, r)->super_ref;
        }
        if (ci->first_reference_token != 0xFF &&
            (unsigned)ci->first_reference_token + ci->reference_count > ci->declared_instance_size)
            return cv_fail(c, CAP_Class, ci->offset, "reference fields %u..%u outside %u instance words",
                           ci->first_reference_token, ci->first_reference_token + ci->reference_count,
                           ci->declared_instance_size);
        if (ci->first_reference_token == 0xFF && ci->reference_count)
            return cv_fail(c, CAP_Class, ci->offset, "reference_count without first_reference_token");
        /* Virtual method tables: each entry an implementation of that
         * token (inherited ones included), or FFFF for none here. */
        for (unsigned pass = 0; pass < 2; pass++) {
            const uint8_t *tab = pass ? ci->package_vtable : ci->public_vtable;
            unsigned n = pass ? ci->package_count : ci->public_count;
            unsigned b = pass ? ci->package_base : ci->public_base;
            for (unsigned j = 0; j < n; j++) {
                uint16_t mo = vm_be16(tab + 2u * j);
                if (mo == 0xFFFF)
                    continue;
                const cv_method *m = cv_method_at(c, mo);
                unsigned want = pass ? (0x80u | (b + j)) : b + j;
                if (!m || (m->access & CV_ACC_STATIC) || (m->access & CV_ACC_INIT))
                    return cv_fail(c, CAP_Class, ci->offset, "%s vtable entry %u (offset %u) is not a virtual method",
                                   pass ? "package" : "public", b + j, mo);
                if (m->token != want)
                    return cv_fail(c, CAP_Class, ci->offset, "%s vtable entry %u holds the method of token %u",
                                   pass ? "package" : "public", b + j, m->token);
                if (!in_own_chain(c, ci->offset, m->class_ref))
                    return cv_fail(c, CAP_Class, ci->offset,
                                   "%s vtable entry %u holds a method of class %u, not of this class or a superclass",
                                   pass ? "package" : "public", b + j, m->class_ref);
            }
        }
        /* Implemented interfaces. */
        const uint8_t *p = ci->interfaces;
        for (unsigned j = 0; j < ci->interface_count; j++) {
            uint16_t ir = vm_be16(p);
            uint8_t n = p[2];
            int kind = cv_class_kind(c, ir);
            if (kind == 0 || kind == -1)
                return cv_fail(c, CAP_Class, ci->offset, "implemented interface %04X is not an interface", ir);
            for (unsigned q = 0; q < n; q++)
                if (p[3 + q] >= 128)
                    return cv_fail(c, CAP_Class, ci->offset, "interface method maps to package token %u", p[3 + q]);
            p += 3u + n;
        }
    }
    return 0;
}

static int lib_field_type(cv_ctx *c, const cv_import *imp, const uint8_t *f, cv_sig *out)
{
    if (field_type(&imp->user_desc, f, out) != 0)
        return -1;
    out->rcls = lib_ref_to_ours(c, (int)(imp - c->imports), out->rcls);
    return 0;
}

/* ---- constant pool ---- */

/* The authoritative type of a CP member entry (not the one the CAP's own
 * constant_pool_types claims), or -1 when the member does not exist, -2
 * when it lies in an unresolved import. */
static int cp_member(cv_ctx *c, unsigned i, cv_sig *out, const char **why)
{
    const cap_view *v = c->v;
    const uint8_t *e = v->cp + 4u * i;
    uint8_t tag = e[0];
    *why = "";
    if (tag == CAP_CP_INSTANCE_FIELDREF || tag == CAP_CP_VIRTUAL_METHODREF || tag == CAP_CP_SUPER_METHODREF) {
        uint16_t cref = vm_be16(e + 1);
        uint8_t token = e[3];
        int kind = cv_class_kind(c, cref);
        if (kind == -2)
            return -2;
        if (kind != 0) {
            *why = "its class is not a class";
            return -1;
        }
        if (tag == CAP_CP_INSTANCE_FIELDREF) {
            if (!CAP_REF_EXTERNAL(cref)) {
                const cv_dclass *k = desc_class_by_ref(&c->d, cref);
                const uint8_t *f = k ? desc_field(k, token, 0) : NULL;
                if (!f) {
                    *why = "no such instance field";
                    return -1;
                }
                return field_type(&c->d, f, out) == 0 ? 0 : -1;
            }
            cv_ext x;
            if (ext_resolve(c, CAP_REF_PKG_TOKEN(cref), CAP_REF_CLASS_TOKEN(cref), &x) != 0)
                return -1;
            if (x.api) {
                const jc_api_field *f = api_field(x.api, token, JC_INSTANCE_FIELD);
                if (!f) {
                    *why = "no such instance field in the API class";
                    return -1;
                }
                return jvm_sig(c, f->desc, out) == 0 ? 0 : -1;
            }
            const uint8_t *f = desc_field(x.user, token, 0);
            if (!f || !(f[1] & (CV_ACC_PUBLIC | CV_ACC_PROTECTED))) {
                *why = "no such instance field in the library class";
                return -1;
            }
            return lib_field_type(c, x.imp, f, out);
        }
        /* Virtual or super method: the token resolves in the class or,
         * inherited, a superclass. A super call starts at the superclass. */
        if (token & 0x80 && CAP_REF_EXTERNAL(cref)) {
            *why = "package-visible token of another package's class";
            return -1;
        }
        uint16_t r = cref;
        if (tag == CAP_CP_SUPER_METHODREF) {
            if (CAP_REF_EXTERNAL(cref)) {
                *why = "super call names an external class";
                return -1;
            }
            r = cap_class_at(v, cref)->super_ref;
        }
        for (unsigned depth = 0; depth <= v->class_count; depth++) {
            if (!CAP_REF_EXTERNAL(r)) {
                const cv_dclass *k = desc_class_by_ref(&c->d, r);
                const cv_method *m = k ? desc_method(&c->d, k, token, 0) : NULL;
                if (m)
                    return cv_decode_type(&c->d, m->type_offset, out) == 0 ? 0 : -1;
                const cap_class *ci = cap_class_at(v, r);
                if (!ci)
                    return -1;
                r = ci->super_ref;
                continue;
            }
            cv_ext x;
            if (ext_resolve(c, CAP_REF_PKG_TOKEN(r), CAP_REF_CLASS_TOKEN(r), &x) != 0)
                return -1;
            if (x.unresolved)
                return -2;
            if (x.api) {
                const jc_api_method *m = api_virtual(c->env, x.api, token);
                if (!m) {
                    *why = "no such virtual method in the API class";
                    return -1;
                }
                return jvm_sig(c, m->desc, out) == 0 ? 0 : -1;
            }
            if (lib_virtual(c, &x, token, out, NULL) != 0) {
                *why = "no such virtual method in the library class or its superclasses";
                return -1;
            }
            return 0;
        }
        *why = "no such virtual method";
        return -1;
    }
    /* Static field or method. */
    if (!(e[1] & 0x80)) {
        if (e[1] != 0) {
            *why = "internal reference with non-zero padding";
            return -1;
        }
        uint16_t off = vm_be16(e + 2);
        if (tag == CAP_CP_STATIC_METHODREF) {
            const cv_method *m = cv_method_at(c, off);
            if (!m || (m->access & CV_ACC_MABSTRACT)) {
                *why = "no method with code at that offset";
                return -1;
            }
            if (!(m->access & (CV_ACC_STATIC | CV_ACC_INIT | CV_ACC_PRIVATE))) {
                *why = "target is a virtual method";
                return -1;
            }
            c->cp_flags[i] = (m->access & CV_ACC_STATIC) ? CV_CPF_STATIC : (m->access & CV_ACC_INIT) ? CV_CPF_CTOR : 0;
            return cv_decode_type(&c->d, m->type_offset, out) == 0 ? 0 : -1;
        }
        for (unsigned k = 0; k < c->d.class_count; k++) {
            const cv_dclass *dk = &c->d.classes[k];
            for (unsigned j = 0; j < dk->field_count; j++) {
                const uint8_t *f = dk->fields + 7u * j;
                if ((f[1] & CV_ACC_STATIC) && vm_be16(f + 3) == off)
                    return field_type(&c->d, f, out) == 0 ? 0 : -1;
            }
        }
        *why = "no static field at that offset";
        return -1;
    }
    cv_ext x;
    uint8_t pt = e[1] & 0x7F, ct = e[2], token = e[3];
    if (ext_resolve(c, pt, ct, &x) != 0) {
        *why = "no such external class";
        return -1;
    }
    if (x.unresolved)
        return -2;
    if (x.api) {
        if (tag == CAP_CP_STATIC_FIELDREF) {
            const jc_api_field *f = api_field(x.api, token, JC_STATIC_FIELD);
            if (!f) {
                *why = "no such static field in the API class";
                return -1;
            }
            return jvm_sig(c, f->desc, out) == 0 ? 0 : -1;
        }
        const jc_api_method *m = api_method(x.api, token, JC_STATIC_METHOD);
        c->cp_flags[i] = CV_CPF_STATIC;
        if (!m) {
            m = api_method(x.api, token, JC_CONSTRUCTOR);
            c->cp_flags[i] = CV_CPF_CTOR;
        }
        if (!m) {
            *why = "no such static method or constructor in the API class";
            return -1;
        }
        return jvm_sig(c, m->desc, out) == 0 ? 0 : -1;
    }
    const cv_desc *ud = &x.imp->user_desc;
    if (tag == CAP_CP_STATIC_FIELDREF) {
        const uint8_t *f = desc_field(x.user, token, 1);
        if (!f || !(f[1] & (CV_ACC_PUBLIC | CV_ACC_PROTECTED))) {
            *why = "no such static field in the library class";
            return -1;
        }
        return lib_field_type(c, x.imp, f, out);
    }
    for (unsigned j = 0; j < x.user->method_count; j++) {
        const cv_method *m = &ud->methods[x.user->first_method + j];
        if (m->token == token && (m->access & (CV_ACC_STATIC | CV_ACC_INIT)) &&
            (m->access & (CV_ACC_PUBLIC | CV_ACC_PROTECTED))) {
            c->cp_flags[i] = (m->access & CV_ACC_STATIC) ? CV_CPF_STATIC : CV_CPF_CTOR;
            return lib_type(c, x.imp, m->type_offset, out) == 0 ? 0 : -1;
        }
    }
    *why = "no such static method in the library class";
    return -1;
}

static int check_constant_pool(cv_ctx *c)
{
    const cap_view *v = c->v;
    if (v->cp_count) {
        c->cp_sigs = calloc(v->cp_count, sizeof *c->cp_sigs);
        c->cp_known = calloc(v->cp_count, 1);
        c->cp_flags = calloc(v->cp_count, 1);
        if (!c->cp_sigs || !c->cp_known || !c->cp_flags)
            return VM_ERR_NOMEM;
    }
    const uint8_t *cpt = c->d.types + 2;
    for (unsigned i = 0; i < v->cp_count; i++) {
        const uint8_t *e = v->cp + 4u * i;
        unsigned off = 2u + 4u * i;
        uint16_t claimed = vm_be16(cpt + 2u * i);
        if (e[0] == CAP_CP_CLASSREF) {
            uint16_t r = vm_be16(e + 1);
            if (e[3] != 0)
                return cv_fail(c, CAP_ConstantPool, off, "entry %u: class reference padding not 0", i);
            if (cv_class_kind(c, r) == -1)
                return cv_fail(c, CAP_ConstantPool, off, "entry %u: class %04X does not exist", i, r);
            if (claimed != 0xFFFF)
                return cv_fail(c, CAP_Descriptor, 2u + 2u * i, "entry %u: a class reference has a type", i);
            continue;
        }
        cv_sig have, want;
        const char *why;
        int r = cp_member(c, i, &want, &why);
        if (r == -1)
            return cv_fail(c, CAP_ConstantPool, off, "entry %u (tag %u): %s", i, e[0],
                           *why ? why : "names nothing on the card");
        int is_method = e[0] == CAP_CP_VIRTUAL_METHODREF || e[0] == CAP_CP_SUPER_METHODREF ||
                        e[0] == CAP_CP_STATIC_METHODREF;
        if (claimed == 0xFFFF || cv_decode_type(&c->d, claimed, &have) != 0)
            return cv_fail(c, CAP_Descriptor, 2u + 2u * i, "entry %u: no valid type", i);
        if (is_method ? (0) : (have.nparams != 0 || have.ret == CVT_VOID))
            return cv_fail(c, CAP_Descriptor, 2u + 2u * i, "entry %u: a field's type is a method type", i);
        /* The CAP's own claim must agree with the member it names: the
         * bytecode is checked against the claim. */
        if (r == 0 && !sig_equal(&have, &want))
            return cv_fail(c, CAP_ConstantPool, off, "entry %u: type differs from the member it names", i);
        /* The bytecode is typed by the member itself (its classes in our
         * encoding), the CAP's own claim only for unresolved imports. */
        c->cp_sigs[i] = r == 0 ? want : have;
        c->cp_known[i] = 1;
    }
    return 0;
}

/* ---- Applet, Export, StaticField, RefLocation ---- */

static int check_applets(cv_ctx *c)
{
    const cap_view *v = c->v;
    unsigned off = 1;
    for (unsigned i = 0; i < v->applet_count; i++) {
        const cap_applet *a = &v->applets[i];
        const cv_method *m = cv_method_at(c, a->install_offset);
        unsigned field = off + 1u + a->aid.len;
        cv_sig s;
        if (!m || !(m->access & CV_ACC_STATIC) || (m->access & CV_ACC_MABSTRACT))
            return cv_fail(c, CAP_Applet, field, "install_method_offset %u is not a static method",
                           a->install_offset);
        if (cv_decode_type(&c->d, m->type_offset, &s) != 0 || s.nparams != 3 || s.params[0] != CVT_ABYTE ||
            s.params[1] != CVT_SHORT || s.params[2] != CVT_BYTE || s.ret != CVT_VOID)
            return cv_fail(c, CAP_Applet, field, "install method is not install(byte[], short, byte)");
        if (a->aid.len < 5)
            return cv_fail(c, CAP_Applet, off, "applet AID of %u bytes (5..16)", a->aid.len);
        for (unsigned j = 0; j < i; j++)
            if (v->applets[j].aid.len == a->aid.len && !memcmp(v->applets[j].aid.b, a->aid.b, a->aid.len))
                return cv_fail(c, CAP_Applet, off, "applet AID listed twice");
        off += 3u + a->aid.len;
    }
    return 0;
}

static int check_export(cv_ctx *c)
{
    const cap_view *v = c->v;
    const uint8_t *p = v->info[CAP_Export];
    if (!p)
        return 0;
    unsigned n = p[0], pos = 1;
    for (unsigned i = 0; i < n; i++) {
        uint16_t co = vm_be16(p + pos);
        uint8_t nf = p[pos + 2], nm = p[pos + 3];
        const cap_class *k = cap_class_at(v, co);
        const cv_dclass *dk = desc_class_by_ref(&c->d, co);
        if (!k || !dk)
            return cv_fail(c, CAP_Export, pos, "class_offset %u is not a class", co);
        if (dk->token != i || !(dk->access & CV_ACC_PUBLIC))
            return cv_fail(c, CAP_Export, pos, "exported class %u is not public class token %u", co, i);
        pos += 4;
        for (unsigned j = 0; j < nf; j++, pos += 2)
            if (vm_be16(p + pos) >= v->sf_image_size)
                return cv_fail(c, CAP_Export, pos, "static field offset %u outside the image", vm_be16(p + pos));
        for (unsigned j = 0; j < nm; j++, pos += 2) {
            const cv_method *m = cv_method_at(c, vm_be16(p + pos));
            if (!m || !(m->access & (CV_ACC_STATIC | CV_ACC_INIT)))
                return cv_fail(c, CAP_Export, pos, "static method offset %u is not a static method",
                               vm_be16(p + pos));
        }
    }
    return 0;
}

static int check_static_field(cv_ctx *c)
{
    const cap_view *v = c->v;
    const uint8_t *p = v->sf_array_inits;
    unsigned pos = 6;
    uint32_t bytes = 0;
    for (unsigned i = 0; i < v->sf_array_init_count; i++) {
        uint8_t type = p[0];
        uint16_t n = vm_be16(p + 1);
        if (type == 5)
            return cv_fail(c, CAP_StaticField, pos, "int array initialiser: int is not supported on this card");
        p += 3u + n;
        pos += 3u + n;
        bytes += n;
    }
    if (bytes != v->array_init_size)
        return cv_fail(c, CAP_Directory, 2u * (v->cap_minor >= 2 ? 12u : 11u) + 4u,
                       "array_init_size %u, the StaticField initialisers hold %u bytes",
                       v->array_init_size, (unsigned)bytes);
    return 0;
}

static int check_ref_location(cv_ctx *c)
{
    const cap_view *v = c->v;
    uint8_t *listed = calloc(v->methods_size ? v->methods_size : 1, 1);
    if (!listed)
        return VM_ERR_NOMEM;
    int rc = 0;
    for (unsigned list = 0; list < 2 && !rc; list++) {
        const uint8_t *d = list ? v->ref2 : v->ref1;
        unsigned n = list ? v->ref2_count : v->ref1_count;
        unsigned base = list ? 4u + v->ref1_count : 2u;
        uint32_t at = 0;
        for (unsigned i = 0; i < n; i++) {
            at += d[i];
            if (d[i] == 255)
                continue;
            if (at >= v->methods_size || listed[at]) {
                rc = cv_fail(c, CAP_RefLocation, base + i, "offset %u is not a constant-pool operand", at);
                break;
            }
            if (c->operand_marks[at] != list + 1) {
                rc = cv_fail(c, CAP_RefLocation, base + i, "offset %u is not the %s constant-pool operand of an instruction",
                             at, list ? "2-byte" : "1-byte");
                break;
            }
            listed[at] = (uint8_t)(list + 1);
        }
    }
    for (uint32_t at = 0; !rc && at < v->methods_size; at++)
        if (c->operand_marks[at] && !listed[at])
            rc = cv_fail(c, CAP_RefLocation, 0, "constant-pool operand at Method offset %u is not listed", at);
    free(listed);
    return rc;
}

/* ---- entry points ---- */

static void ctx_free(cv_ctx *c)
{
    desc_free(&c->d);
    for (unsigned i = 0; i < CAP_MAX_IMPORTS; i++)
        desc_free(&c->imports[i].user_desc);
    free(c->by_offset);
    free(c->cp_sigs);
    free(c->cp_known);
    free(c->cp_flags);
    free(c->operand_marks);
}

int vm_cap_verify(const cap_view *v, const cap_link_env *env, unsigned flags, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!v)
        return VM_ERR_ARG;
    cv_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return VM_ERR_NOMEM;
    c->v = v;
    c->env = env;
    c->flags = flags;
    c->err = err;
    c->errlen = errlen;
    int rc = 0;
    unsigned bad = 0;
    const char *why = "";

    if (!v->info[CAP_Header] || !v->info[CAP_Method] || !v->info[CAP_Class] || !v->info[CAP_ConstantPool] ||
        !v->info[CAP_StaticField] || !v->info[CAP_RefLocation] || !v->info[CAP_Import]) {
        rc = cv_fail(c, CAP_Header, 0, "a required component is missing");
        goto out;
    }
    if (v->flags & CAP_ACC_INT) {
        rc = cv_fail(c, CAP_Header, 6, "the package uses int (ACC_INT): this card is 16-bit");
        goto out;
    }
    if (((v->flags & CAP_ACC_EXPORT) != 0) != (v->info[CAP_Export] != NULL)) {
        rc = cv_fail(c, CAP_Header, 6, "ACC_EXPORT and the Export component disagree");
        goto out;
    }
    if (((v->flags & CAP_ACC_APPLET) != 0) != (v->info[CAP_Applet] != NULL)) {
        rc = cv_fail(c, CAP_Header, 6, "ACC_APPLET and the Applet component disagree");
        goto out;
    }
    if (!v->info[CAP_Descriptor]) {
        rc = cv_fail(c, CAP_Descriptor, 0, "Descriptor component required for on-card verification");
        goto out;
    }
    rc = desc_decode(v->info[CAP_Descriptor], v->size[CAP_Descriptor], v->cp_count, &c->d, &bad, &why);
    if (rc == -1) {
        rc = cv_fail(c, CAP_Descriptor, bad, "%s", why);
        goto out;
    }
    if (rc)
        goto out;
    c->operand_marks = calloc(v->methods_size ? v->methods_size : 1, 1);
    if (!c->operand_marks) {
        rc = VM_ERR_NOMEM;
        goto out;
    }
    if ((rc = check_imports(c)) != 0)
        goto out;
    if ((rc = check_methods(c)) != 0)
        goto out;
    if ((rc = check_classes(c)) != 0)
        goto out;
    if ((rc = check_overrides(c)) != 0)
        goto out;
    if ((rc = check_constant_pool(c)) != 0)
        goto out;
    if ((rc = check_applets(c)) != 0)
        goto out;
    if ((rc = check_export(c)) != 0)
        goto out;
    if ((rc = check_static_field(c)) != 0)
        goto out;
    for (uint32_t i = 0; i < c->by_offset_count; i++) {
        const cv_method *m = c->by_offset[i];
        if (m->access & CV_ACC_MABSTRACT)
            continue;
        if ((rc = cv_verify_method(c, m)) != 0)
            goto out;
    }
    rc = check_ref_location(c);
out:
    if (rc == VM_ERR_NOMEM && err && errlen && !c->failed)
        snprintf(err, errlen, "out of memory");
    ctx_free(c);
    free(c);
    return rc;
}

int vm_cap_verify_load_file(const uint8_t *bytes, size_t len, const cap_link_env *env, unsigned flags,
                            char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!bytes)
        return VM_ERR_ARG;
    /* The GP wrapper: C4, BER length (short or 81/82 long form). */
    if (len >= 2 && bytes[0] == 0xC4) {
        size_t hl, body;
        if (bytes[1] < 0x80) {
            hl = 2;
            body = bytes[1];
        } else if (bytes[1] == 0x81 && len >= 3) {
            hl = 3;
            body = bytes[2];
        } else if (bytes[1] == 0x82 && len >= 4) {
            hl = 4;
            body = (size_t)bytes[2] << 8 | bytes[3];
        } else {
            if (err && errlen)
                snprintf(err, errlen, "load file offset 1: bad C4 length");
            return VM_ERR_VERIFY;
        }
        if (body != len - hl) {
            if (err && errlen)
                snprintf(err, errlen, "load file offset 1: C4 length %zu, %zu bytes follow", body, len - hl);
            return VM_ERR_VERIFY;
        }
        bytes += hl;
        len -= hl;
    }
    cap_view v;
    int rc = cap_parse(bytes, len, &v, err, errlen);
    if (rc == 0)
        rc = vm_cap_verify(&v, env, flags, err, errlen);
    cap_view_free(&v);
    return rc;
}

void cap_link_env_builtin(cap_link_env *env)
{
    memset(env, 0, sizeof *env);
    env->api = jc_api_packages;
    env->api_count = jc_api_package_count;
}
