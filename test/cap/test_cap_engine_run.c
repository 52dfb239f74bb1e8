/* test_cap_engine_run.c — the engine milestones, in process: every shared
 * test applet's CAP (four converter variants) loaded with vm_load_package,
 * installed with the transcript's bArray and replayed against its
 * transcript through vm_select / vm_process (no ISD: commands before the
 * first SELECT get the VM's 6999, as the transcripts expect). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_format.h"
#include "cap_testfile.h"
#include "testfiles.h"
#include "transcript.h"
#include "vm.h"
#include "vmtest.h"

static const char *const variants[] = { "jc305u3", "jc305u3-nodebug", "jc222", "jc222-nodebug" };

/* The applet AID the JCA gives to class `simple` ("CounterApplet"). */
static int jca_applet_aid(const char *jca_path, const char *simple, uint8_t *aid, uint8_t *aid_len)
{
    size_t len;
    char *text = (char *)test_read_file(jca_path, &len);
    if (!text)
        return -1;
    int found = -1, in_applet = 0;
    for (char *line = strtok(text, "\n"); line && found < 0; line = strtok(NULL, "\n")) {
        const char *s = line + strspn(line, " \t");
        if (!strncmp(s, ".applet {", 9))
            in_applet = 1;
        else if (*s == '}')
            in_applet = 0;
        else if (in_applet && s[0] == '0') {
            uint8_t n = 0;
            const char *p = s;
            while (p[0] == '0' && p[1] == 'x' && n < 16) {
                char *end;
                aid[n++] = (uint8_t)strtoul(p + 2, &end, 16);
                p = end + (*end == ':');
            }
            while (*p == ' ' || *p == '\t')
                p++;
            size_t sl = strlen(simple);
            if (!strncmp(p, simple, sl) && (p[sl] == ';' || p[sl] == ' ')) {
                *aid_len = n;
                found = 0;
            }
        }
    }
    free(text);
    return found;
}

/* One command the way the card routes it (SELECT by AID to vm_select),
 * with room for extended-length responses; commits afterwards. */
static uint16_t send(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap, size_t *rlen)
{
    uint16_t sw = 0;
    int rc;
    *rlen = 0;
    /* the JCRE's part of the card: the logical channel a CLA names
     * (ISO 7816-4 first and further interindustry classes), MANAGE CHANNEL
     * and SELECT by AID */
    uint8_t cla = apdu[0];
    uint8_t ch = (cla & 0x40) ? (uint8_t)(4 + (cla & 0x0F)) : (uint8_t)(cla & 0x03);
    int interindustry = (cla & 0x80) == 0;
    if (interindustry && len >= 4 && apdu[1] == 0x70)
        rc = vm_manage_channel(k->rt, ch, apdu[2], apdu[3], resp, cap, rlen, &sw);
    else if (interindustry && len >= 5 && apdu[1] == 0xA4 && apdu[2] == 0x04 && apdu[4] + 5u <= len && apdu[4] >= 1)
        rc = vm_select_on(k->rt, ch, apdu + 5, apdu[4], apdu, len, resp, cap, rlen, &sw);
    else
        rc = vm_process_on(k->rt, ch, apdu, len, resp, cap, rlen, &sw);
    if (rc != VM_OK)
        fail_msg("vm call failed: %s", vm_strerror(rc));
    vt_commit(k);
    return sw;
}

static void load_cap(vt_card *k, const char *path)
{
    size_t len;
    uint8_t *lf = cap_test_load_file(path, &len);
    if (!lf)
        fail_msg("cannot read %s", path);
    char err[256] = "";
    int rc = vm_load_package(k->rt, lf, len, 0, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: load refused: %s (%s)", path, vm_strerror(rc), err);
    vt_commit(k);
    free(lf);
}

/* Load `caps` (NULL-terminated names in load order) of applet folder
 * `applet`, variant `variant`, install per the transcript and replay it. */
static void replay(const char *applet, const char *variant, const char *const *caps, const char *apdu_name)
{
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        skip();
    }
    char path[1024];
    transcript tr;
    char err[256];
    snprintf(path, sizeof path, "%s/applets/%s/%s", shared, applet, apdu_name);
    if (transcript_load(path, &tr, err, sizeof err) != 0)
        fail_msg("%s", err);

    vt_card k;
    vt_card_new(&k, NULL);
    for (unsigned i = 0; caps[i]; i++) {
        snprintf(path, sizeof path, "%s/applets/%s/%s/%s.cap", shared, applet, variant, caps[i]);
        load_cap(&k, path);
    }
    for (unsigned i = 0; i < tr.n_installs; i++) {
        const tr_install *in = &tr.installs[i];
        const char *simple = strrchr(in->class_name, '.');
        simple = simple ? simple + 1 : in->class_name;
        uint8_t aid[16], aid_len = 0;
        int got = -1;
        for (unsigned c = 0; caps[c] && got < 0; c++) {
            snprintf(path, sizeof path, "%s/applets/%s/%s/%s.jca", shared, applet, variant, caps[c]);
            got = jca_applet_aid(path, simple, aid, &aid_len);
        }
        if (got < 0)
            fail_msg("no applet AID for %s", in->class_name);
        uint16_t sw = 0;
        int rc = vm_install(k.rt, in->pkg, in->pkg_len, aid, aid_len, in->instance, in->instance_len,
                            in->barray, (uint8_t)in->barray_len, &sw);
        if (rc != VM_OK || sw != 0x9000)
            fail_msg("%s %s: install of %s: %s, SW %04X", applet, variant, in->class_name, vm_strerror(rc), sw);
        vt_commit(&k);
    }
    unsigned failures = 0;
    for (size_t i = 0; i < tr.n_steps; i++) {
        const tr_step *st = &tr.steps[i];
        if (st->kind == TR_RESET) {
            vt_reset(&k);
            continue;
        }
        static uint8_t resp[65538];
        size_t rlen = 0;
        uint16_t sw = send(&k, st->cmd, st->cmd_len, resp, sizeof resp - 2, &rlen);
        resp[rlen] = (uint8_t)(sw >> 8);
        resp[rlen + 1] = (uint8_t)sw;
        if (!transcript_match(st->expect, resp, rlen + 2)) {
            char got[96];
            size_t shown = rlen + 2 < 40 ? rlen + 2 : 40;
            for (size_t j = 0; j < shown; j++)
                snprintf(got + 2 * j, 3, "%02X", resp[j]);
            if (shown < rlen + 2)
                strcat(got, "...");
            print_error("%s %s line %u: expected %.80s%s (%zu digits), got %s (%zu bytes)\n", applet, variant,
                        st->line, st->expect, strlen(st->expect) > 80 ? "..." : "", strlen(st->expect), got,
                        rlen + 2);
            failures++;
        }
    }
    transcript_free(&tr);
    vt_card_free(&k);
    if (failures)
        fail_msg("%s %s: %u answers differ from the transcript", applet, variant, failures);
}

#define ONE(applet, ...)                                                      \
    static void test_##applet(void **state)                                   \
    {                                                                         \
        (void)state;                                                          \
        static const char *const caps[] = { __VA_ARGS__, NULL };              \
        for (unsigned v = 0; v < sizeof variants / sizeof variants[0]; v++)   \
            replay(#applet, variants[v], caps, #applet ".apdu");              \
    }

ONE(counter, "counter")
ONE(objects, "objects")
ONE(pinaes, "pinaes")
ONE(libshare, "loyalty", "loyaltysrv", "shop")
ONE(apdukit, "apdukit")

static void test_apdukit_channels(void **state)
{
    (void)state;
    static const char *const caps[] = { "apdukit", NULL };
    for (unsigned v = 0; v < sizeof variants / sizeof variants[0]; v++)
        replay("apdukit", variants[v], caps, "apdukit-channels.apdu");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_pinaes),
        cmocka_unit_test(test_libshare),
        cmocka_unit_test(test_apdukit),
        cmocka_unit_test(test_apdukit_channels),
    };
    /* `test_cap_engine_run counter` runs one applet */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
