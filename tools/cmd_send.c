/* cmd_send.c — `cardvm send`: one power session, APDUs in order. Like the
 * script runner (tools/gp_host.c), it settles the transport's answers: 61xx
 * is fetched with GET RESPONSE and 6Cxx re-sends the command with Le = xx,
 * so one line is the whole response; --raw prints each answer as it came. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu.h"
#include "card.h"
#include "cli.h"
#include "sw_text.h"
#include "transport.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm send IMAGE APDU...\n"
            "       cardvm send --reader NAME APDU...\n\n"
            "Power the card on, send each APDU (hex, spaces allowed inside one\n"
            "argument) in order within that one power session, and print one line\n"
            "per response: the response data in uppercase hex followed by SW1SW2\n"
            "(e.g. 9000, or 6F10...9000). Every APDU's changes are committed to the\n"
            "image as it is answered. All APDUs are checked before the card is\n"
            "opened: malformed hex changes nothing. As in scripts, 61xx is fetched\n"
            "with GET RESPONSE and 6Cxx re-sends the command with Le = xx.\n\n"
            "Options:\n"
            "  --reader NAME  send through pcscd to this PC/SC reader (name or unique prefix)\n"
            "  --raw          print each answer as the card gives it (61xx, 6Cxx too)\n"
            "  --expect SW    fail (exit 4) at the first answer whose status word does not\n"
            "                 match SW: four hex digits, X for any digit (9000, 61XX);\n"
            "                 repeat the option to accept several\n"
            "  --json         print one JSON object per exchange instead (docs/cli.md)\n"
            "  --trace        print each APDU with its time on stderr\n"
            "  --lab          lab durability: the card is kept in memory and saved to\n"
            "                 the image once, at exit (no fsync per APDU)\n"
            "The image is locked for the run: a second writer waits (up to\n"
            "$CARDVM_LOCK_WAIT_MS, default 30000 ms), then fails naming the holder.\n"
            "Exit status: 0 success, 2 usage, 3 image I/O, 4 status word not\n"
            "expected, 5 card or reader unreachable (docs/cli.md).\n");
}

/* One command and, unless raw, the exchanges that settle 61xx and 6Cxx
 * (ISO/IEC 7816-4 5.3.4): rsp gets data || SW. */
static int exchange(transport *t, const uint8_t *cmd, size_t len, int raw, uint8_t *rsp, size_t cap,
                    size_t *rlen)
{
    if (transport_transmit(t, cmd, len, rsp, cap, rlen) != 0 || *rlen < 2) return -1;
    if (raw) return 0;
    apdu_command a;
    if (rsp[*rlen - 2] == 0x6C && apdu_parse(cmd, len, &a) == SW_OK && !a.extended && a.ne != 0) {
        uint8_t again[APDU_MAX_COMMAND];
        memcpy(again, cmd, len);
        again[len - 1] = rsp[*rlen - 1];   /* the short Le is the last byte */
        if (transport_transmit(t, again, len, rsp, cap, rlen) != 0 || *rlen < 2) return -1;
    }
    while (rsp[*rlen - 2] == 0x61) {
        uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, rsp[*rlen - 1]};
        size_t n = *rlen - 2, m;
        if (cap - n < 258) return 0;        /* no room: leave the 61xx as it is */
        if (transport_transmit(t, gr, 5, rsp + n, cap - n, &m) != 0 || m < 2) return -1;
        *rlen = n + m;
    }
    return 0;
}

static int sw_expected(uint16_t sw, const char *const *expect, int n)
{
    for (int i = 0; i < n; i++)
        if (sw_matches(sw, expect[i]) == 1) return 1;
    return 0;
}

/* One line of JSON per exchange (docs/cli.md, "send --json"); `scratch`
 * holds at least 2 * max(len, rlen) + 1 characters. */
static int print_exchange_json(int index, const uint8_t *cmd, size_t len, const uint8_t *rsp, size_t rlen,
                               uint16_t sw, double ms, char *scratch)
{
    char swhex[5];
    json_t *o = json_object();
    if (!o) return -1;
    json_object_set_new(o, "index", json_integer(index));
    hex_encode(cmd, len, scratch);
    json_object_set_new(o, "command", json_string(scratch));
    hex_encode(rsp, rlen - 2, scratch);
    json_object_set_new(o, "response", json_string(scratch));
    snprintf(swhex, sizeof swhex, "%04X", sw);
    json_object_set_new(o, "sw", json_string(swhex));
    json_object_set_new(o, "sw_meaning", json_string(sw_meaning(sw)));
    json_object_set_new(o, "time_ms", json_real(ms));
    int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : -1;
    if (rc == 0) putchar('\n');
    json_decref(o);
    return rc;
}

int cmd_send(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    static const struct option opts[] = {{"reader", required_argument, 0, 'r'},
                                         {"raw", no_argument, 0, 'R'},
                                         {"lab", no_argument, 0, 'L'},
                                         {"expect", required_argument, 0, 'e'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    enum { MAX_EXPECT = 16 };
    const char *expect[MAX_EXPECT];
    int n_expect = 0;
    const char *reader = NULL;
    int c, raw = 0, lab = 0, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'r') reader = optarg;
        else if (c == 'R') raw = 1;
        else if (c == 'L') lab = 1;
        else if (c == 'j') json = 1;
        else if (c == 'e') {
            if (sw_matches(0x9000, optarg) < 0) {
                cli_error("send", "--expect '%s': not a status word pattern (four hex digits, X for any)", optarg);
                return CLI_EXIT_USAGE;
            }
            if (n_expect == MAX_EXPECT) {
                cli_error("send", "--expect: at most %d patterns", MAX_EXPECT);
                return CLI_EXIT_USAGE;
            }
            expect[n_expect++] = optarg;
        } else { help(stderr); return CLI_EXIT_USAGE; }
    }
    const char *image = NULL;
    if (!reader) {
        if (optind >= argc) { help(stderr); return CLI_EXIT_USAGE; }
        image = argv[optind++];
    }
    int count = argc - optind;
    if (count < 1) {
        cli_error("send", "no APDU given");
        return CLI_EXIT_USAGE;
    }
    uint8_t **cmds = calloc((size_t)count, sizeof *cmds);
    size_t *lens = calloc((size_t)count, sizeof *lens);
    uint8_t *rsp = malloc(CARD_MAX_RESPONSE);
    char *line = malloc(2 * CARD_MAX_RESPONSE + 1);
    int status = 0;
    if (!cmds || !lens || !rsp || !line) { cli_error("send", "out of memory"); status = 1; goto out; }
    for (int i = 0; i < count; i++) {
        size_t cap = strlen(argv[optind + i]) / 2 + 1;
        cmds[i] = malloc(cap);
        long n = cmds[i] ? hex_decode(argv[optind + i], cmds[i], cap) : -1;
        if (n < 1) {
            cli_error("send", "APDU %d is not hex: '%s'", i + 1, argv[optind + i]);
            status = CLI_EXIT_USAGE;
            goto out;
        }
        lens[i] = (size_t)n;
        if (lens[i] > CARD_MAX_RESPONSE) {   /* the JSON view prints commands through `line` too */
            char *bigger = realloc(line, 2 * lens[i] + 1);
            if (!bigger) { cli_error("send", "out of memory"); status = CLI_EXIT_FAILURE; goto out; }
            line = bigger;
        }
    }
    transport *t = cli_open_card(image, reader);
    if (!t) { status = reader ? CLI_EXIT_READER : CLI_EXIT_IO; goto out; }
    if (lab && transport_card(t)) chip_set_durability(card_chip(transport_card(t)), CHIP_DURABLE_LAB);
    for (int i = 0; i < count; i++) {
        size_t rlen;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (exchange(t, cmds[i], lens[i], raw, rsp, CARD_MAX_RESPONSE, &rlen) != 0) {
            cli_error("send", "APDU %d: no response (%s)", i + 1, transport_error(t));
            status = CLI_EXIT_READER;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        uint16_t sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
        if (json) {
            if (print_exchange_json(i + 1, cmds[i], lens[i], rsp, rlen, sw,
                                    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                                    line) != 0) {
                cli_error("send", "out of memory");
                status = CLI_EXIT_FAILURE;
                break;
            }
        } else {
            hex_encode(rsp, rlen, line);
            printf("%s\n", line);
        }
        /* 6581 from our own card: its commit failed (disk full, I/O error).
         * The card rolled the command back; say why, and stop. */
        struct card *cd = transport_card(t);
        if (cd && rlen >= 2 && rsp[rlen - 2] == 0x65 && rsp[rlen - 1] == 0x81 && chip_error(card_chip(cd))[0]) {
            cli_error("send", "APDU %d not committed: %s", i + 1, chip_error(card_chip(cd)));
            status = CLI_EXIT_IO;
            break;
        }
        if (n_expect && !sw_expected(sw, expect, n_expect)) {
            char what[96];
            cli_error("send", "APDU %d: card answered %s, expected %s%s", i + 1, sw_describe(sw, what, sizeof what),
                      expect[0], n_expect > 1 ? " (or another --expect)" : "");
            status = CLI_EXIT_CARD;
            break;
        }
    }
    fflush(stdout);
    if (status == 0 && transport_card(t)) {
        /* Lab mode saves here; a failed save is a failed run. */
        chip *ch = card_chip(transport_card(t));
        if (chip_save(ch) != CHIP_OK) {
            cli_error("send", "%s", chip_error(ch));
            status = CLI_EXIT_IO;
        }
    }
    transport_close(t);
out:
    if (cmds) for (int i = 0; i < count; i++) free(cmds[i]);
    free(cmds);
    free(lens);
    free(rsp);
    free(line);
    return status;
}
