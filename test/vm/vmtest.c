/* vmtest.c — see vmtest.h. */
#include "vmtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm_asm.h"

#ifndef VT_EXAMPLES_BIN
#define VT_EXAMPLES_BIN "."
#endif
#ifndef VT_EXAMPLES_SRC
#define VT_EXAMPLES_SRC "."
#endif

void vt_card_new(vt_card *k, const vm_config *cfg)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/cardvm-vmtest-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->path, sizeof k->path, "%s/card.img", k->dir);
    chip_geometry g;
    chip_geometry_default(&g);
    assert_int_equal(chip_create(&g, k->path, &k->c), CHIP_OK);
    chip_set_sync(k->c, CHIP_SYNC_OFF);
    chip_end_masking(k->c);
    assert_int_equal(chip_commit(k->c), CHIP_OK);
    chip_power_on(k->c);
    assert_int_equal(vm_create(k->c, cfg, &k->rt), VM_OK);
}

void vt_card_free(vt_card *k)
{
    vm_destroy(k->rt);
    chip_close(k->c);
    unlink(k->path);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp", k->path);
    unlink(tmp);
    rmdir(k->dir);
    k->rt = NULL;
    k->c = NULL;
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

void vt_reopen(vt_card *k, const vm_config *cfg)
{
    char err[256] = "";
    vt_commit(k);
    vm_destroy(k->rt);
    chip_close(k->c);
    int rc = chip_open(k->path, &k->c, err, sizeof err);
    if (rc != CHIP_OK)
        fail_msg("reopen %s: %s", k->path, err);
    chip_set_sync(k->c, CHIP_SYNC_OFF);
    chip_power_on(k->c);
    assert_int_equal(vm_create(k->c, cfg, &k->rt), VM_OK);
}

uint8_t *vt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

void vt_asm(const char *src, uint8_t **blob, size_t *len)
{
    char err[512];
    if (vm_asm(src, strlen(src), "<test>", NULL, blob, len, err, sizeof err) != VM_OK)
        fail_msg("assembly failed: %s", err);
}

uint8_t *vt_example(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.cvp", VT_EXAMPLES_BIN, name);
    uint8_t *b = vt_read_file(path, len);
    if (b)
        return b;
    snprintf(path, sizeof path, "%s/%s.s", VT_EXAMPLES_SRC, name);
    size_t slen;
    char *src = (char *)vt_read_file(path, &slen);
    if (!src)
        fail_msg("cannot read %s", path);
    char err[512];
    if (vm_asm(src, slen, path, NULL, &b, len, err, sizeof err) != VM_OK)
        fail_msg("%s", err);
    free(src);
    return b;
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

uint16_t vt_send(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen)
{
    uint16_t sw = 0;
    int rc;
    *rlen = 0;
    if (len >= 5 && apdu[1] == 0xA4 && apdu[2] == 0x04 && apdu[4] + 5u <= len && apdu[4] >= 1)
        rc = vm_select(k->rt, apdu + 5, apdu[4], apdu, len, resp, 258, rlen, &sw);
    else
        rc = vm_process(k->rt, apdu, len, resp, 258, rlen, &sw);
    if (rc != VM_OK)
        fail_msg("vm call failed: %s", vm_strerror(rc));
    vt_commit(k);
    return sw;
}

uint16_t vt_send_hex(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen)
{
    uint8_t apdu[300];
    int n = vt_hex(hex, apdu, sizeof apdu);
    assert_true(n >= 4);
    return vt_send(k, apdu, (size_t)n, resp, rlen);
}

static int install_any(vt_card *k, const uint8_t *aid, uint8_t alen, const uint8_t *iaid, uint8_t ilen,
                       const uint8_t *params, uint8_t plen, uint16_t *sw)
{
    vm_package_info pi;
    for (unsigned i = 0; vm_package_info_at(k->rt, i, &pi) == VM_OK; i++) {
        int rc = vm_install(k->rt, pi.aid, pi.aid_len, aid, alen, iaid, ilen, params, plen, sw);
        if (rc != VM_ERR_NOTFOUND)
            return rc;
    }
    return VM_ERR_NOTFOUND;
}

void vt_run_script(vt_card *k, const char *path)
{
    size_t len;
    char *text = (char *)vt_read_file(path, &len);
    if (!text)
        fail_msg("cannot read script %s", path);
    int lineno = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '\r') {
            line = next;
            continue;
        }
        if (!strncmp(line, "@install", 8)) {
            char a1[64] = "", a2[64] = "", a3[600] = "";
            uint8_t aid[16], iaid[16], params[255];
            int n = sscanf(line + 8, "%63s %63s %599s", a1, a2, a3);
            int alen = vt_hex(a1, aid, sizeof aid), ilen = 0, plen = 0;
            if (n >= 2 && strcmp(a2, "-"))
                ilen = vt_hex(a2, iaid, sizeof iaid);
            if (n >= 3 && strcmp(a3, "-"))
                plen = vt_hex(a3, params, sizeof params);
            if (alen < 5 || ilen < 0 || plen < 0)
                fail_msg("%s:%d: bad @install", path, lineno);
            uint16_t sw = 0;
            int rc = install_any(k, aid, (uint8_t)alen, iaid, (uint8_t)ilen, params, (uint8_t)plen, &sw);
            if (rc != VM_OK || sw != 0x9000)
                fail_msg("%s:%d: install failed: %s, SW %04X", path, lineno, vm_strerror(rc), sw);
            vt_commit(k);
        } else if (!strncmp(line, "@reset", 6)) {
            vt_reset(k);
        } else if (!strncmp(line, "@reopen", 7)) {
            vt_reopen(k, NULL);
        } else {
            char *arrow = strstr(line, "->");
            if (!arrow)
                fail_msg("%s:%d: expected 'COMMAND -> RESPONSE'", path, lineno);
            *arrow = 0;
            uint8_t apdu[300], resp[300];
            int n = vt_hex(line, apdu, sizeof apdu);
            if (n < 4)
                fail_msg("%s:%d: bad command hex", path, lineno);
            size_t rlen;
            uint16_t sw = vt_send(k, apdu, (size_t)n, resp, &rlen);
            resp[rlen] = (uint8_t)(sw >> 8);
            resp[rlen + 1] = (uint8_t)sw;
            rlen += 2;
            /* expected: hex with ?? wildcards */
            char *e = arrow + 2;
            size_t got = 0;
            int ok = 1;
            char want_txt[700] = "";
            size_t wl = 0;
            for (; *e; e++) {
                if (*e == ' ' || *e == '\t' || *e == '\r')
                    continue;
                if (!e[1])
                    fail_msg("%s:%d: odd expected hex", path, lineno);
                if (wl + 3 < sizeof want_txt) {
                    want_txt[wl++] = e[0];
                    want_txt[wl++] = e[1];
                    want_txt[wl] = 0;
                }
                if (e[0] == '?' && e[1] == '?') {
                    got++;
                } else {
                    char b[3] = { e[0], e[1], 0 };
                    uint8_t v;
                    if (vt_hex(b, &v, 1) != 1)
                        fail_msg("%s:%d: bad expected hex", path, lineno);
                    if (got >= rlen || resp[got] != v)
                        ok = 0;
                    got++;
                }
                e++;
            }
            if (got != rlen)
                ok = 0;
            if (!ok) {
                char have[700] = "";
                for (size_t i = 0; i < rlen && 2 * i + 3 < sizeof have; i++)
                    snprintf(have + 2 * i, 3, "%02X", resp[i]);
                fail_msg("%s:%d: expected %s, got %s", path, lineno, want_txt, have);
            }
        }
        line = next;
    }
    free(text);
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
