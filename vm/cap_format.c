/*
 * cap_format.c — structural parse of a CAP load file (see cap_format.h).
 *
 * Every read goes through a cursor bounded by its component, so a count or
 * length that promises more than the component holds is refused here and
 * nothing later has to re-check the bounds of what the view decodes.
 */
#include "cap_format.h"
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cap_component_info cap_components[CAP_TAG_MAX + 1] = {
#define CAP_TABLE_ROW(nm, tg, fl, rq, od) [tg] = { #nm, tg, fl, rq, od },
    CAP_COMPONENTS(CAP_TABLE_ROW)
#undef CAP_TABLE_ROW
};

/* A bounded reader over one component's info. */
typedef struct cap_cursor {
    const uint8_t *base;   /* info start: error offsets are relative to it */
    size_t pos, end;
    int failed;
    const char *component;
    char *err;
    size_t errlen;
} cap_cursor;

static void cap_fail(cap_cursor *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s offset %zu: ", c->component, c->pos);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
}

static int cap_need(cap_cursor *c, size_t n, const char *what)
{
    if (c->failed)
        return 0;
    if (c->end - c->pos < n) {
        cap_fail(c, "%s runs past the end of the component (%zu bytes needed, %zu left)",
                 what, n, c->end - c->pos);
        return 0;
    }
    return 1;
}

static uint8_t cap_u1(cap_cursor *c, const char *what)
{
    if (!cap_need(c, 1, what))
        return 0;
    return c->base[c->pos++];
}

static uint16_t cap_u2(cap_cursor *c, const char *what)
{
    if (!cap_need(c, 2, what))
        return 0;
    uint16_t v = vm_be16(c->base + c->pos);
    c->pos += 2;
    return v;
}

static const uint8_t *cap_bytes(cap_cursor *c, size_t n, const char *what)
{
    if (!cap_need(c, n, what))
        return NULL;
    const uint8_t *p = c->base + c->pos;
    c->pos += n;
    return p;
}

static void cap_expect_end(cap_cursor *c)
{
    if (!c->failed && c->pos != c->end)
        cap_fail(c, "%zu bytes left over after the component's declared content",
                 c->end - c->pos);
}

static void cap_cursor_init(cap_cursor *c, const cap_view *v, uint8_t tag, char *err, size_t errlen)
{
    c->base = v->info[tag];
    c->pos = 0;
    c->end = v->size[tag];
    c->failed = 0;
    c->component = cap_components[tag].name;
    c->err = err;
    c->errlen = errlen;
}

static void cap_read_aid(cap_cursor *c, vm_aid *aid, const char *what)
{
    uint8_t len = cap_u1(c, what);
    if (c->failed)
        return;
    if (len < 5 || len > VM_AID_MAX) {
        cap_fail(c, "%s length %u outside 5..16", what, len);
        return;
    }
    const uint8_t *b = cap_bytes(c, len, what);
    if (!b)
        return;
    aid->len = len;
    memcpy(aid->b, b, len);
}

static void parse_header(cap_view *v, cap_cursor *c)
{
    uint16_t m0 = cap_u2(c, "magic"), m1 = cap_u2(c, "magic");
    if (c->failed)
        return;
    if (((uint32_t)m0 << 16 | m1) != CAP_MAGIC) {
        c->pos = 0;
        cap_fail(c, "magic %04X%04X is not DECAFFED", m0, m1);
        return;
    }
    v->cap_minor = cap_u1(c, "minor_version");
    v->cap_major = cap_u1(c, "major_version");
    if (!c->failed && (v->cap_major != 2 || (v->cap_minor != 1 && v->cap_minor != 2))) {
        cap_fail(c, "CAP format %u.%u unsupported (2.1 and 2.2 are)", v->cap_major, v->cap_minor);
        return;
    }
    v->flags = cap_u1(c, "flags");
    if (!c->failed && (v->flags & ~(CAP_ACC_INT | CAP_ACC_EXPORT | CAP_ACC_APPLET))) {
        cap_fail(c, "unknown flags %02X", v->flags);
        return;
    }
    v->pkg_minor = cap_u1(c, "package minor_version");
    v->pkg_major = cap_u1(c, "package major_version");
    cap_read_aid(c, &v->pkg_aid, "package AID");
    if (v->cap_minor >= 2 && c->pos < c->end) {
        v->pkg_name_len = cap_u1(c, "package name length");
        v->pkg_name = cap_bytes(c, v->pkg_name_len, "package name");
    }
    cap_expect_end(c);
}

static void parse_directory(cap_view *v, cap_cursor *c)
{
    /* CAP 2.1 lists the sizes of tags 1..11, 2.2 adds Debug (12). */
    unsigned n = v->cap_minor >= 2 ? 12 : 11;
    for (unsigned t = 1; t <= n; t++)
        v->component_sizes[t] = cap_u2(c, "component_sizes");
    v->static_image_size = cap_u2(c, "static field image_size");
    v->array_init_count = cap_u2(c, "array_init_count");
    v->array_init_size = cap_u2(c, "array_init_size");
    uint8_t import_count = cap_u1(c, "import_count");
    uint8_t applet_count = cap_u1(c, "applet_count");
    v->custom_count = cap_u1(c, "custom_count");
    for (unsigned i = 0; i < v->custom_count && !c->failed; i++) {
        uint8_t tag = cap_u1(c, "custom component tag");
        (void)cap_u2(c, "custom component size");
        vm_aid aid;
        cap_read_aid(c, &aid, "custom component AID");
        if (!c->failed && tag < 128)
            cap_fail(c, "custom component tag %u below 128", tag);
    }
    cap_expect_end(c);
    if (c->failed)
        return;
    /* Counts repeated in other components must agree (checked once those
     * are parsed); keep them in the fields until then. */
    v->import_count = import_count;
    v->applet_count = applet_count;
}

static void parse_import(cap_view *v, cap_cursor *c)
{
    uint8_t n = cap_u1(c, "count");
    if (!c->failed && n > CAP_MAX_IMPORTS) {
        cap_fail(c, "%u imports (at most %u)", n, CAP_MAX_IMPORTS);
        return;
    }
    if (!c->failed && n != v->import_count) {
        cap_fail(c, "%u imports, the Directory says %u", n, v->import_count);
        return;
    }
    for (unsigned i = 0; i < n && !c->failed; i++) {
        v->imports[i].minor = cap_u1(c, "import minor_version");
        v->imports[i].major = cap_u1(c, "import major_version");
        cap_read_aid(c, &v->imports[i].aid, "import AID");
    }
    cap_expect_end(c);
}

static void parse_applet(cap_view *v, cap_cursor *c)
{
    uint8_t n = cap_u1(c, "count");
    if (c->failed)
        return;
    if (n == 0 || n > CAP_MAX_APPLETS) {
        cap_fail(c, "%u applets (1..%u)", n, CAP_MAX_APPLETS);
        return;
    }
    if (n != v->applet_count) {
        cap_fail(c, "%u applets, the Directory says %u", n, v->applet_count);
        return;
    }
    for (unsigned i = 0; i < n && !c->failed; i++) {
        cap_read_aid(c, &v->applets[i].aid, "applet AID");
        v->applets[i].install_offset = cap_u2(c, "install_method_offset");
    }
    cap_expect_end(c);
}

static void parse_constant_pool(cap_view *v, cap_cursor *c)
{
    v->cp_count = cap_u2(c, "count");
    v->cp = cap_bytes(c, 4u * v->cp_count, "constant pool entries");
    for (unsigned i = 0; i < v->cp_count && !c->failed; i++) {
        uint8_t tag = v->cp[4 * i];
        if (tag < CAP_CP_CLASSREF || tag > CAP_CP_STATIC_METHODREF) {
            c->pos = 2 + 4u * i;
            cap_fail(c, "entry %u has unknown tag %u", i, tag);
        }
    }
    cap_expect_end(c);
}

/* Interfaces' and classes' records in component order. Two passes: count,
 * then decode, so the table is one allocation. */
static int parse_class_records(cap_view *v, cap_cursor *c, cap_class *out)
{
    unsigned count = 0;
    c->pos = 0;
    if (v->cap_minor >= 2) {
        uint16_t sig_len = cap_u2(c, "signature_pool_length");
        (void)cap_bytes(c, sig_len, "signature_pool");
    }
    while (!c->failed && c->pos < c->end) {
        if (count >= CAP_MAX_CLASSES) {
            cap_fail(c, "more than %u classes and interfaces", CAP_MAX_CLASSES);
            break;
        }
        cap_class k;
        memset(&k, 0, sizeof k);
        k.offset = (uint16_t)c->pos;
        uint8_t bits = cap_u1(c, "class bitfield");
        k.flags = bits >> 4;
        k.interface_count = bits & 0x0F;
        if (k.flags & CAP_ACC_INTERFACE) {
            k.super_ref = 0xFFFF;
            k.interfaces = cap_bytes(c, 2u * k.interface_count, "superinterfaces");
            if (k.flags & CAP_ACC_REMOTE) {
                uint8_t nl = cap_u1(c, "interface_name_length");
                (void)cap_bytes(c, nl, "interface_name");
            }
        } else {
            k.super_ref = cap_u2(c, "super_class_ref");
            k.declared_instance_size = cap_u1(c, "declared_instance_size");
            k.first_reference_token = cap_u1(c, "first_reference_token");
            k.reference_count = cap_u1(c, "reference_count");
            k.public_base = cap_u1(c, "public_method_table_base");
            k.public_count = cap_u1(c, "public_method_table_count");
            k.package_base = cap_u1(c, "package_method_table_base");
            k.package_count = cap_u1(c, "package_method_table_count");
            k.public_vtable = cap_bytes(c, 2u * k.public_count, "public_virtual_method_table");
            k.package_vtable = cap_bytes(c, 2u * k.package_count, "package_virtual_method_table");
            k.interfaces = c->base + c->pos;
            for (unsigned i = 0; i < k.interface_count && !c->failed; i++) {
                (void)cap_u2(c, "implemented interface");
                uint8_t n = cap_u1(c, "implemented interface count");
                (void)cap_bytes(c, n, "implemented interface index");
            }
            if (!c->failed && (k.flags & CAP_ACC_REMOTE)) {
                /* remote_interface_info: methods, hash modifier, class name,
                 * remote interfaces. Parsed only to skip it. */
                uint8_t nm = cap_u1(c, "remote_methods_count");
                (void)cap_bytes(c, 5u * nm, "remote_methods");
                uint8_t hl = cap_u1(c, "hash_modifier_length");
                (void)cap_bytes(c, hl, "hash_modifier");
                uint8_t cl = cap_u1(c, "class_name_length");
                (void)cap_bytes(c, cl, "class_name");
                uint8_t ri = cap_u1(c, "remote_interfaces_count");
                (void)cap_bytes(c, 2u * ri, "remote_interfaces");
            }
            if (!c->failed && k.first_reference_token != 0xFF &&
                (unsigned)k.first_reference_token + k.reference_count > 255u)
                cap_fail(c, "reference field tokens run past 255");
            if (!c->failed && (unsigned)k.public_base + k.public_count > 256u)
                cap_fail(c, "public method table runs past token 255");
            if (!c->failed && (unsigned)k.package_base + k.package_count > 128u)
                cap_fail(c, "package method table runs past token 127");
        }
        if (out && !c->failed)
            out[count] = k;
        count++;
    }
    cap_expect_end(c);
    return c->failed ? -1 : (int)count;
}

static void parse_class(cap_view *v, cap_cursor *c)
{
    int n = parse_class_records(v, c, NULL);
    if (n < 0)
        return;
    if (n == 0) {
        cap_fail(c, "no class or interface");
        return;
    }
    v->classes = calloc((size_t)n, sizeof *v->classes);
    if (!v->classes) {
        cap_fail(c, "out of memory");
        return;
    }
    v->class_count = (uint16_t)parse_class_records(v, c, v->classes);
}

static void parse_method(cap_view *v, cap_cursor *c)
{
    v->methods = c->base;
    v->methods_size = (uint16_t)c->end;
    v->handler_count = cap_u1(c, "handler_count");
    if (c->failed)
        return;
    if (v->handler_count) {
        v->handlers = calloc(v->handler_count, sizeof *v->handlers);
        if (!v->handlers) {
            cap_fail(c, "out of memory");
            return;
        }
    }
    for (unsigned i = 0; i < v->handler_count && !c->failed; i++) {
        cap_handler *h = &v->handlers[i];
        h->start = cap_u2(c, "handler start_offset");
        uint16_t bits = cap_u2(c, "handler active_length");
        h->stop = (uint8_t)(bits >> 15);
        h->end = (uint16_t)(h->start + (bits & 0x7FFFu));
        h->handler = cap_u2(c, "handler_offset");
        h->catch_type = cap_u2(c, "catch_type_index");
        if (c->failed)
            break;
        if ((unsigned)h->start + (bits & 0x7FFFu) > c->end)
            cap_fail(c, "handler %u's range runs past the component", i);
        else if (h->handler >= c->end)
            cap_fail(c, "handler %u's entry is past the component", i);
    }
    /* An interface-only library has no method: the component may end here. */
}

static void parse_static_field(cap_view *v, cap_cursor *c)
{
    v->sf_image_size = cap_u2(c, "image_size");
    v->sf_reference_count = cap_u2(c, "reference_count");
    v->sf_array_init_count = cap_u2(c, "array_init_count");
    v->sf_array_inits = c->base + c->pos;
    for (unsigned i = 0; i < v->sf_array_init_count && !c->failed; i++) {
        uint8_t type = cap_u1(c, "array_init type");
        uint16_t count = cap_u2(c, "array_init count");
        if (c->failed)
            break;
        if (type < 2 || type > 5) {
            cap_fail(c, "array_init %u has element type %u (2..5)", i, type);
            break;
        }
        unsigned esize = type == 4 ? 2 : type == 5 ? 4 : 1;
        if (count % esize) {
            cap_fail(c, "array_init %u: %u bytes is not a whole number of elements", i, count);
            break;
        }
        (void)cap_bytes(c, count, "array_init values");
    }
    v->sf_default_count = cap_u2(c, "default_value_count");
    v->sf_nondefault_count = cap_u2(c, "non_default_value_count");
    v->sf_nondefault = cap_bytes(c, v->sf_nondefault_count, "non_default_values");
    cap_expect_end(c);
    if (c->failed)
        return;
    if (v->sf_array_init_count > v->sf_reference_count)
        cap_fail(c, "%u array initialisers for %u reference fields",
                 v->sf_array_init_count, v->sf_reference_count);
    else if (2u * v->sf_reference_count + v->sf_default_count + v->sf_nondefault_count
             != v->sf_image_size)
        cap_fail(c, "image_size %u is not 2 x %u references + %u default + %u non-default bytes",
                 v->sf_image_size, v->sf_reference_count, v->sf_default_count,
                 v->sf_nondefault_count);
    else if (v->sf_image_size != v->static_image_size)
        cap_fail(c, "image_size %u, the Directory says %u", v->sf_image_size, v->static_image_size);
    else if (v->sf_array_init_count != v->array_init_count)
        cap_fail(c, "%u array initialisers, the Directory says %u",
                 v->sf_array_init_count, v->array_init_count);
}

static void parse_ref_location(cap_view *v, cap_cursor *c)
{
    v->ref1_count = cap_u2(c, "byte_index_count");
    v->ref1 = cap_bytes(c, v->ref1_count, "offsets_to_byte_indices");
    v->ref2_count = cap_u2(c, "byte2_index_count");
    v->ref2 = cap_bytes(c, v->ref2_count, "offsets_to_byte2_indices");
    cap_expect_end(c);
}

static void parse_export(cap_view *v, cap_cursor *c)
{
    (void)v;
    uint8_t n = cap_u1(c, "class_count");
    for (unsigned i = 0; i < n && !c->failed; i++) {
        (void)cap_u2(c, "class_offset");
        uint8_t nf = cap_u1(c, "static_field_count");
        uint8_t nm = cap_u1(c, "static_method_count");
        (void)cap_bytes(c, 2u * nf, "static_field_offsets");
        (void)cap_bytes(c, 2u * nm, "static_method_offsets");
    }
    cap_expect_end(c);
}

int cap_is_load_file(const uint8_t *bytes, size_t len)
{
    /* Header: tag 1, u2 size, DECAFFED. */
    return bytes && len >= 7 && bytes[0] == CAP_Header &&
           bytes[3] == 0xDE && bytes[4] == 0xCA && bytes[5] == 0xFF && bytes[6] == 0xED;
}

static int fail_at(char *err, size_t errlen, size_t off, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "load file offset %zu: ", off);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return VM_ERR_VERIFY;
}

int cap_parse(const uint8_t *bytes, size_t len, cap_view *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (err && errlen)
        err[0] = 0;
    if (!bytes)
        return fail_at(err, errlen, 0, "no bytes");
    v->bytes = bytes;
    v->len = len;

    /* Split into components. */
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 3)
            return fail_at(err, errlen, pos, "component header cut short");
        uint8_t tag = bytes[pos];
        uint16_t size = vm_be16(bytes + pos + 1);
        if (len - pos - 3 < size)
            return fail_at(err, errlen, pos, "component tag %u of %u bytes runs past the end",
                           tag, size);
        if (tag >= 1 && tag <= CAP_TAG_MAX) {
            if (v->info[tag])
                return fail_at(err, errlen, pos, "second %s component", cap_components[tag].name);
            v->info[tag] = bytes + pos + 3;
            v->size[tag] = size;
        } else if (tag < 128) {
            return fail_at(err, errlen, pos, "unknown component tag %u", tag);
        }
        pos += 3u + size;
    }
    for (unsigned t = 1; t <= CAP_TAG_MAX; t++)
        if (cap_components[t].required && !v->info[t])
            return fail_at(err, errlen, len, "no %s component", cap_components[t].name);

    cap_cursor c;
    /* Header and Directory first: the CAP version and the counts the other
     * components repeat come from them. */
    static const uint8_t order[] = {
        CAP_Header, CAP_Directory, CAP_Import, CAP_Applet, CAP_ConstantPool,
        CAP_Class, CAP_Method, CAP_StaticField, CAP_RefLocation, CAP_Export,
    };
    for (unsigned i = 0; i < sizeof order; i++) {
        uint8_t t = order[i];
        if (!v->info[t]) {
            if (t == CAP_Applet && v->applet_count)
                return fail_at(err, errlen, len, "the Directory lists %u applets, no Applet component",
                               v->applet_count);
            continue;
        }
        cap_cursor_init(&c, v, t, err, errlen);
        switch (t) {
        case CAP_Header: parse_header(v, &c); break;
        case CAP_Directory: parse_directory(v, &c); break;
        case CAP_Import: parse_import(v, &c); break;
        case CAP_Applet: parse_applet(v, &c); break;
        case CAP_ConstantPool: parse_constant_pool(v, &c); break;
        case CAP_Class: parse_class(v, &c); break;
        case CAP_Method: parse_method(v, &c); break;
        case CAP_StaticField: parse_static_field(v, &c); break;
        case CAP_RefLocation: parse_ref_location(v, &c); break;
        case CAP_Export: parse_export(v, &c); break;
        default: break;
        }
        if (c.failed)
            return VM_ERR_VERIFY;
    }
    if (!v->info[CAP_Applet])
        v->applet_count = 0;
    if ((v->flags & CAP_ACC_APPLET) != 0 && !v->info[CAP_Applet])
        return fail_at(err, errlen, len, "Header flags an applet package, no Applet component");
    if ((v->flags & CAP_ACC_EXPORT) != 0 && !v->info[CAP_Export])
        return fail_at(err, errlen, len, "Header flags an Export component, none present");
    /* The Directory's size table must describe the components present. */
    for (unsigned t = 1; t <= CAP_TAG_MAX; t++) {
        if (t == CAP_Debug && v->cap_minor < 2)
            continue;
        /* The Descriptor is optional on the card and Debug never goes
         * there: a host that drops them leaves the Directory as it was. */
        if ((t == CAP_Descriptor || t == CAP_Debug) && !v->info[t])
            continue;
        uint16_t have = v->info[t] ? v->size[t] : 0;
        if (v->component_sizes[t] != have)
            return fail_at(err, errlen, (size_t)(v->info[CAP_Directory] - bytes) + 2u * (t - 1),
                           "the Directory gives %s %u bytes, it has %u",
                           cap_components[t].name, v->component_sizes[t], have);
    }
    return 0;
}

void cap_view_free(cap_view *v)
{
    if (!v)
        return;
    free(v->classes);
    free(v->handlers);
    v->classes = NULL;
    v->handlers = NULL;
    v->class_count = 0;
    v->handler_count = 0;
}

int cap_method_header_at(const cap_view *v, uint16_t method_offset, cap_method_header *h)
{
    if (!v->methods || method_offset >= v->methods_size)
        return -1;
    const uint8_t *m = v->methods + method_offset;
    size_t left = v->methods_size - method_offset;
    if (left < 2)
        return -1;
    h->flags = m[0] >> 4;
    if (h->flags & CAP_ACC_EXTENDED) {
        if (left < 4)
            return -1;
        h->max_stack = m[1];
        h->nargs = m[2];
        h->max_locals = m[3];
        h->code_offset = (uint16_t)(method_offset + 4);
    } else {
        h->max_stack = m[0] & 0x0F;
        h->nargs = m[1] >> 4;
        h->max_locals = m[1] & 0x0F;
        h->code_offset = (uint16_t)(method_offset + 2);
    }
    return 0;
}

const cap_class *cap_class_at(const cap_view *v, uint16_t class_offset)
{
    /* Records are in offset order: binary search. */
    size_t lo = 0, hi = v->class_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint16_t off = v->classes[mid].offset;
        if (off == class_offset)
            return &v->classes[mid];
        if (off < class_offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
