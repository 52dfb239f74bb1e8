/*
 * jca_zip.c — an assembled package written as a CAP file (tools/jca/jca.h):
 * a zip with one file per component under <package path>/javacard/ and a
 * minimal manifest, written with libzip.
 */
#include "jca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "cap_format.h"

static const char manifest[] = "Manifest-Version: 1.0\r\nCreated-By: cardvm asm\r\n\r\n";

int jca_write_cap(const jca_cap *c, const char *path, char *err, size_t errlen)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) {
        snprintf(err, errlen, "%s: cannot create the zip (libzip error %d)", path, zerr);
        return -1;
    }
    zip_source_t *s = zip_source_buffer(z, manifest, sizeof manifest - 1, 0);
    if (!s || zip_file_add(z, "META-INF/MANIFEST.MF", s, ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(s);
        goto zfail;
    }
    for (int order = 0; order <= JCA_MAX_TAG; order++)
        for (int t = 1; t <= JCA_MAX_TAG; t++) {
            if (!c->component[t] || cap_components[t].order != order)
                continue;
            char name[512];
            snprintf(name, sizeof name, "%s/javacard/%s", c->package_path, cap_components[t].file);
            s = zip_source_buffer(z, c->component[t], c->component_len[t], 0);
            if (!s || zip_file_add(z, name, s, ZIP_FL_ENC_UTF_8) < 0) {
                zip_source_free(s);
                goto zfail;
            }
        }
    if (zip_close(z) != 0) {
        snprintf(err, errlen, "%s: %s", path, zip_strerror(z));
        zip_discard(z);
        return -1;
    }
    return 0;
zfail:
    snprintf(err, errlen, "%s: %s", path, zip_strerror(z));
    zip_discard(z);
    return -1;
}
