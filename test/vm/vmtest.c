/* vmtest.c — see vmtest.h. */
#include "vmtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cap_file.h"
#include "jca.h"

#ifndef VT_EXAMPLES_BIN
#define VT_EXAMPLES_BIN "."
#endif

void vt_image_new(vt_card *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/cardvm-vmtest-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->path, sizeof k->path, "%s/card.img", k->dir);
    chip_geometry g;
    chip_geometry_default(&g);
    assert_int_equal(chip_create(&g, k->path, &k->c), CHIP_OK);
    chip_set_sync(k->c, CHIP_SYNC_OFF);
}

void vt_card_new(vt_card *k, const vm_config *cfg)
{
    vt_image_new(k);
    chip_end_masking(k->c);
    assert_int_equal(chip_commit(k->c), CHIP_OK);
    chip_power_on(k->c);
    assert_int_equal(vm_create(k->c, cfg, &k->rt), VM_OK);
}

void vt_close(vt_card *k)
{
    vm_destroy(k->rt);
    k->rt = NULL;
    if (k->c)
        chip_close(k->c);
    k->c = NULL;
}

void vt_card_free(vt_card *k)
{
    vt_close(k);
    unlink(k->path);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp", k->path);
    unlink(tmp);
    rmdir(k->dir);
}

void vt_commit(vt_card *k)
{
    assert_int_equal(chip_commit(k->c), CHIP_OK);
}

void vt_reset(vt_card *k)
{
    chip_power_on(k->c);
    assert_int_equal(vm_reset(k->rt), VM_OK);
}

void vt_image_open(vt_card *k)
{
    char err[256] = "";
    if (chip_open(k->path, &k->c, err, sizeof err) != CHIP_OK)
        fail_msg("reopen %s: %s", k->path, err);
    chip_set_sync(k->c, CHIP_SYNC_OFF);
    chip_power_on(k->c);
}

void vt_reopen(vt_card *k, const vm_config *cfg)
{
    vt_commit(k);
    vt_close(k);
    vt_image_open(k);
    assert_int_equal(vm_create(k->c, cfg, &k->rt), VM_OK);
}

void vt_jca(const char *src, const char *filename, uint8_t **blob, size_t *len)
{
    jca_options opt = { 0, 0 };
    jca_cap cap;
    char err[512];
    if (jca_assemble(src, strlen(src), filename, &opt, &cap, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (jca_load_file(&cap, blob, len) != 0)
        fail_msg("%s: no load file", filename);
    jca_cap_free(&cap);
}

uint8_t *vt_example(const char *name, size_t *len)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s.cap", VT_EXAMPLES_BIN, name);
    capfile f;
    if (capfile_read(path, 0, &f, err, sizeof err) != 0) {
        capfile_free(&f);
        fail_msg("%s: %s", path, err);
    }
    uint8_t *b = f.load_file;
    *len = f.len;
    f.load_file = NULL;
    capfile_free(&f);
    return b;
}

size_t vt_barray(const uint8_t *instance, uint8_t instance_len, const uint8_t *params, uint8_t params_len,
                 uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_true((size_t)instance_len + params_len + 4 <= cap);
    out[n++] = instance_len;
    memcpy(out + n, instance, instance_len);
    n += instance_len;
    out[n++] = 1;
    out[n++] = 0;
    out[n++] = params_len;
    if (params_len)
        memcpy(out + n, params, params_len);
    return n + params_len;
}

void vt_load(vt_card *k, const uint8_t *blob, size_t len, unsigned flags, const char *what)
{
    char err[256] = "";
    int rc = vm_load_package(k->rt, blob, len, flags, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: load: %s: %s", what, vm_strerror(rc), err);
}

void vt_load_jca(vt_card *k, const char *src, const char *filename, unsigned flags)
{
    uint8_t *blob;
    size_t len;
    vt_jca(src, filename, &blob, &len);
    vt_load(k, blob, len, flags, filename);
    free(blob);
}

void vt_load_example(vt_card *k, const char *name)
{
    size_t len;
    uint8_t *blob = vt_example(name, &len);
    vt_load(k, blob, len, 0, name);
    free(blob);
}

int vt_install(vt_card *k, const uint8_t *pkg, uint8_t pkg_len, const uint8_t *cls, uint8_t cls_len,
               const uint8_t *inst, uint8_t inst_len, const uint8_t *params, uint8_t params_len, uint16_t *sw)
{
    uint8_t barray[300];
    size_t blen = vt_barray(inst, inst_len, params, params_len, barray, sizeof barray);
    return vm_install(k->rt, pkg, pkg_len, cls, cls_len, inst, inst_len, barray, (uint8_t)blen, sw);
}

uint16_t vt_invoke(vt_card *k, const uint8_t *aid, size_t aid_len, uint16_t method, const uint8_t *apdu,
                   size_t len, uint8_t *resp, size_t *rlen, int *rc)
{
    uint16_t sw = 0;
    *rlen = 0;
    int r = vm_invoke(k->rt, aid, aid_len, method, apdu, len, resp, 258, rlen, &sw);
    if (rc)
        *rc = r;
    else if (r != VM_OK)
        fail_msg("vm_invoke %04X: %s", method, vm_strerror(r));
    vt_commit(k);
    return sw;
}

int vt_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9') v = *s - '0';
        else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F') v = *s - 'A' + 10;
        else if (*s == ' ' || *s == '\t') continue;
        else return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (int)n : -1;
}

int vt_transmit(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen, uint16_t *sw)
{
    int rc;
    *sw = 0;
    *rlen = 0;
    if (len >= 5 && apdu[1] == 0xA4 && apdu[2] == 0x04 && apdu[4] + 5u <= len && apdu[4] >= 1)
        rc = vm_select(k->rt, apdu + 5, apdu[4], apdu, len, resp, 258, rlen, sw);
    else
        rc = vm_process(k->rt, apdu, len, resp, 258, rlen, sw);
    if (rc == VM_OK && chip_commit(k->c) != CHIP_OK)
        rc = VM_ERR_POWER;
    return rc;
}

uint16_t vt_send(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen)
{
    uint16_t sw = 0;
    int rc = vt_transmit(k, apdu, len, resp, rlen, &sw);
    if (rc != VM_OK)
        fail_msg("vm call failed: %s", vm_strerror(rc));
    return sw;
}

uint16_t vt_send_hex_or_cut(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen)
{
    uint8_t apdu[300];
    int n = vt_hex(hex, apdu, sizeof apdu);
    uint16_t sw = 0;
    assert_true(n >= 4);
    return vt_transmit(k, apdu, (size_t)n, resp, rlen, &sw) == VM_OK ? sw : 0;
}

uint16_t vt_send_hex(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen)
{
    uint8_t apdu[300];
    int n = vt_hex(hex, apdu, sizeof apdu);
    assert_true(n >= 4);
    return vt_send(k, apdu, (size_t)n, resp, rlen);
}

uint8_t *vt_nvm_snapshot(vt_card *k)
{
    size_t n = chip_get_geometry(k->c)->nvm_size;
    uint8_t *s = malloc(n);
    assert_non_null(s);
    memcpy(s, chip_nvm_view(k->c), n);
    return s;
}

int vt_nvm_same(vt_card *k, const uint8_t *snap)
{
    return memcmp(snap, chip_nvm_view(k->c), chip_get_geometry(k->c)->nvm_size) == 0;
}

void vt_put_statements(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    for (; *s && n + 3 < cap; s++) {
        out[n++] = *s;
        if (*s == ';')
            out[n++] = '\n';
    }
    out[n] = 0;
}
