/* gpcard.c — see gpcard.h. */
#include "gpcard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "card.h"
#include "testfiles.h"

int gpcard_make_template(const char *cardvm_bin, const char *tag, char *dir, size_t dirlen)
{
    if (test_make_dir(tag, dir, dirlen))
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' create '%s/template.img' --quiet", cardvm_bin, dir);
    return system(cmd) == 0 ? 0 : -1;
}

void gpcard_reopen(gpcard *f)
{
    char err[256];
    if (f->t)
        transport_close(f->t);
    f->t = NULL;
    if (transport_open_image(f->path, &f->t, err, sizeof err))
        fail_msg("%s", err);
    gp_init(&f->gp, f->t, NULL);
}

void gpcard_open(gpcard *f, const char *dir, const char *name)
{
    char tmpl[512];
    memset(f, 0, sizeof *f);
    snprintf(tmpl, sizeof tmpl, "%s/template.img", dir);
    snprintf(f->path, sizeof f->path, "%s/%s", dir, name);
    assert_int_equal(test_copy_file(tmpl, f->path), 0);
    gpcard_reopen(f);
}

void gpcard_close(gpcard *f)
{
    gp_close(&f->gp);
    if (f->t)
        transport_close(f->t);
    f->t = NULL;
}

chip *gpcard_chip(gpcard *f)
{
    return card_chip(transport_card(f->t));
}

void gpcard_status_list(gpcard *f, uint8_t p1, char *out, size_t cap)
{
    static gp_entry e[64];
    size_t n;
    uint16_t sw;
    assert_int_equal(gp_get_status(&f->gp, p1, e, 64, &n, &sw), 0);
    assert_int_equal(sw, 0x9000);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char a[40];
        for (size_t k = 0; k < e[i].aid_len; k++)
            sprintf(a + 2 * k, "%02X", e[i].aid[k]);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", a);
    }
}
