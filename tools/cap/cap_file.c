/* cap_file.c — CAP zip to GP load file (see cap_file.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "cap_file.h"
#include "cap_format.h"

/* The component table of vm/cap_format.h, expanded here so that the host
 * library needs only the header, not the card's parser. */
typedef struct comp_def {
    const char *name;
    uint8_t tag;
    const char *file;
    uint8_t required, order;
} comp_def;

static const comp_def comp_defs[] = {
#define CAP_DEF(name, tag, file, req, order) {#name, tag, file, req, order},
    CAP_COMPONENTS(CAP_DEF)
#undef CAP_DEF
};
#define N_DEFS (sizeof comp_defs / sizeof comp_defs[0])

/* A component's file is at most this big: its size field is a u2. */
#define COMPONENT_MAX (3u + 0xFFFFu)

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int capfile_is_zip(const uint8_t *bytes, size_t len)
{
    return len >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
}

void capfile_free(capfile *f)
{
    if (!f) return;
    free(f->load_file);
    memset(f, 0, sizeof *f);
}

const capfile_component *capfile_component_of(const capfile *f, uint8_t tag)
{
    for (unsigned i = 0; i < f->n_components; i++)
        if (f->components[i].tag == tag) return &f->components[i];
    return NULL;
}

/* Splits "a/b/javacard/Header.cap" into the package path "a/b" and the
 * component file "Header.cap". 0, or -1 when the entry is not under a
 * javacard/ folder. */
static int split_entry(const char *entry, char *pkg, size_t pkg_cap, const char **file)
{
    static const char marker[] = "javacard/";
    const char *slash = strrchr(entry, '/');
    if (!slash || slash[1] == 0) return -1;
    size_t dir_len = (size_t)(slash + 1 - entry);
    if (dir_len < sizeof marker - 1 || memcmp(slash + 1 - (sizeof marker - 1), marker, sizeof marker - 1) != 0)
        return -1;
    size_t pkg_len = dir_len - (sizeof marker - 1);
    if (pkg_len > 0) {
        if (entry[pkg_len - 1] != '/') return -1;   /* "xjavacard/" is not the folder */
        pkg_len--;
    }
    if (pkg_len >= pkg_cap) return -1;
    memcpy(pkg, entry, pkg_len);
    pkg[pkg_len] = 0;
    *file = slash + 1;
    return 0;
}

static const comp_def *def_of_file(const char *file)
{
    for (size_t i = 0; i < N_DEFS; i++)
        if (strcmp(comp_defs[i].file, file) == 0) return &comp_defs[i];
    return NULL;
}

static int read_entry(zip_t *z, zip_uint64_t index, uint8_t **out, size_t *len, char *err, size_t errlen,
                      const char *name)
{
    zip_stat_t st;
    if (zip_stat_index(z, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return fail(err, errlen, "%s: cannot read its size: %s", name, zip_strerror(z));
    if (st.size > COMPONENT_MAX) return fail(err, errlen, "%s: %llu bytes, more than a component can hold", name,
                                              (unsigned long long)st.size);
    uint8_t *b = malloc(st.size ? (size_t)st.size : 1);
    if (!b) return fail(err, errlen, "out of memory");
    zip_file_t *zf = zip_fopen_index(z, index, 0);
    if (!zf) {
        free(b);
        return fail(err, errlen, "%s: %s", name, zip_strerror(z));
    }
    zip_int64_t got = zip_fread(zf, b, st.size);
    zip_fclose(zf);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(b);
        return fail(err, errlen, "%s: truncated or corrupt in the zip", name);
    }
    *out = b;
    *len = (size_t)st.size;
    return 0;
}

/* Header: magic, CAP version, flags, package version and AID. */
static int decode_header(capfile *f, const uint8_t *c, size_t n, char *err, size_t errlen)
{
    const uint8_t *i = c + 3;
    size_t il = n - 3;
    if (il < 10) return fail(err, errlen, "Header.cap: %zu bytes of info, too short", il);
    uint32_t magic = (uint32_t)i[0] << 24 | (uint32_t)i[1] << 16 | (uint32_t)i[2] << 8 | i[3];
    if (magic != CAP_MAGIC) return fail(err, errlen, "Header.cap: magic %08X, expected DECAFFED", magic);
    f->cap_minor = i[4];
    f->cap_major = i[5];
    f->flags = i[6];
    f->pkg_minor = i[7];
    f->pkg_major = i[8];
    uint8_t al = i[9];
    if (al < 5 || al > 16 || il < 10u + al)
        return fail(err, errlen, "Header.cap: package AID length %u (5..16, inside the component)", al);
    memcpy(f->pkg_aid, i + 10, al);
    f->pkg_aid_len = al;
    return 0;
}

static int decode_applets(capfile *f, const uint8_t *c, size_t n, char *err, size_t errlen)
{
    const uint8_t *p = c + 3, *end = c + n;
    if (p >= end) return fail(err, errlen, "Applet.cap: no applet count");
    unsigned count = *p++;
    if (count == 0 || count > CAPFILE_MAX_APPLETS)
        return fail(err, errlen, "Applet.cap: %u applets (1..%u)", count, CAPFILE_MAX_APPLETS);
    for (unsigned k = 0; k < count; k++) {
        if (p >= end || p[0] < 5 || p[0] > 16 || (size_t)(end - p) < 3u + p[0])
            return fail(err, errlen, "Applet.cap: applet %u runs past the component or has a bad AID length", k);
        capfile_applet *a = &f->applets[k];
        a->aid_len = p[0];
        memcpy(a->aid, p + 1, p[0]);
        a->install_offset = (uint16_t)(p[1 + p[0]] << 8 | p[2 + p[0]]);
        p += 3 + p[0];
    }
    f->n_applets = count;
    return 0;
}

int capfile_read_bytes(const uint8_t *zip, size_t len, unsigned flags, capfile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return fail(err, errlen, "out of memory");
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        int rc = fail(err, errlen, "not a CAP file: %s", zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);

    uint8_t *parts[N_DEFS + 1] = {0};
    size_t part_len[N_DEFS + 1] = {0};
    int rc = 0, have_pkg = 0;
    zip_int64_t entries = zip_get_num_entries(z, 0);
    for (zip_int64_t e = 0; e < entries && rc == 0; e++) {
        const char *name = zip_get_name(z, (zip_uint64_t)e, 0);
        char pkg[256];
        const char *file;
        if (!name || split_entry(name, pkg, sizeof pkg, &file) != 0) continue;
        size_t fl = strlen(file);
        if (fl < 5 || strcmp(file + fl - 4, ".cap") != 0) continue;
        if (!have_pkg) {
            snprintf(out->package_path, sizeof out->package_path, "%s", pkg);
            have_pkg = 1;
        } else if (strcmp(pkg, out->package_path) != 0) {
            rc = fail(err, errlen, "two packages in one CAP file: '%s' and '%s'", out->package_path, pkg);
            break;
        }
        const comp_def *d = def_of_file(file);
        if (!d) continue;   /* a custom component: not for this card */
        size_t k = (size_t)(d - comp_defs);
        if (parts[k]) { rc = fail(err, errlen, "%s twice", name); break; }
        rc = read_entry(z, (zip_uint64_t)e, &parts[k], &part_len[k], err, errlen, d->file);
        if (rc) break;
        const uint8_t *c = parts[k];
        size_t n = part_len[k];
        if (n < 3) rc = fail(err, errlen, "%s: %zu bytes, shorter than a component header", d->file, n);
        else if (c[0] != d->tag) rc = fail(err, errlen, "%s: tag %u, expected %u", d->file, c[0], d->tag);
        else if ((size_t)(c[1] << 8 | c[2]) != n - 3)
            rc = fail(err, errlen, "%s: size field %u, but %zu bytes follow it", d->file, c[1] << 8 | c[2], n - 3);
    }
    zip_discard(z);   /* also frees src */

    if (rc == 0 && !have_pkg) rc = fail(err, errlen, "no */javacard/*.cap component in the zip");
    for (size_t k = 0; rc == 0 && k < N_DEFS; k++)
        if (comp_defs[k].required && !parts[k]) rc = fail(err, errlen, "required component %s missing", comp_defs[k].file);
    if (rc == 0) rc = decode_header(out, parts[0], part_len[0], err, errlen);

    /* load order, then the ones the caller wants */
    size_t total = 0;
    const comp_def *order[N_DEFS] = {0};
    for (size_t k = 0; k < N_DEFS; k++) order[comp_defs[k].order] = &comp_defs[k];
    int want[N_DEFS];
    for (size_t o = 0; o < N_DEFS; o++) {
        const comp_def *d = order[o];
        size_t k = (size_t)(d - comp_defs);
        want[o] = parts[k] != NULL;
        if (d->tag == CAP_Debug && !(flags & CAPFILE_WITH_DEBUG)) want[o] = 0;
        if (d->tag == CAP_Descriptor && (flags & CAPFILE_NO_DESCRIPTOR)) want[o] = 0;
        if (want[o]) total += part_len[k];
    }
    if (rc == 0 && total > 0xFFFF) rc = fail(err, errlen, "load file of %zu bytes: more than 64 KiB - 1", total);
    if (rc == 0 && !(out->load_file = malloc(total))) rc = fail(err, errlen, "out of memory");
    for (size_t o = 0; rc == 0 && o < N_DEFS; o++) {
        if (!want[o]) continue;
        const comp_def *d = order[o];
        size_t k = (size_t)(d - comp_defs);
        capfile_component *cc = &out->components[out->n_components++];
        cc->tag = d->tag;
        cc->name = d->name;
        cc->offset = out->len;
        cc->size = part_len[k];
        memcpy(out->load_file + out->len, parts[k], part_len[k]);
        out->len += part_len[k];
        if (d->tag == CAP_Applet) rc = decode_applets(out, parts[k], part_len[k], err, errlen);
    }
    for (size_t k = 0; k < N_DEFS; k++) free(parts[k]);
    return rc;
}

int capfile_read(const char *path, unsigned flags, capfile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return fail(err, errlen, "%s: cannot open", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            if (nc > 64u * 1024u * 1024u) { free(buf); fclose(fp); return fail(err, errlen, "%s: too large", path); }
            uint8_t *nb = realloc(buf, nc);
            if (!nb) { free(buf); fclose(fp); return fail(err, errlen, "out of memory"); }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) { free(buf); return fail(err, errlen, "%s: read error", path); }
    char inner[200] = "";
    int rc = capfile_read_bytes(buf, n, flags, out, inner, sizeof inner);
    free(buf);
    if (rc) fail(err, errlen, "%s: %s", path, inner);
    return rc;
}
