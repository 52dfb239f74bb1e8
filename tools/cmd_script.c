/*
 * cmd_script.c — `cardvm script FILE [IMAGE | --reader NAME]`: scripted
 * applet loading. The language is described in docs/scripts.md and run by
 * tools/script/script_run.c: one command per line, `#` comments, an optional
 * expectation after `->`; the first unmet expectation stops the script with
 * FILE:LINE, what was sent, what came back and what was expected, and exit
 * status 1.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "script_run.h"
#include "script_syntax.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm script FILE IMAGE [options]\n"
            "       cardvm script FILE --reader NAME [options]\n\n"
            "Run a line-oriented script against a card (docs/scripts.md): open an SCP03\n"
            "channel, select, load and install packages, send APDUs and check their\n"
            "answers. Stops at the first unmet expectation (FILE:LINE, sent, got,\n"
            "expected) with exit status 1.\n\n"
            "Commands: echo TEXT | reset [warm] | isd AID | open KVN KEY LEVEL |\n"
            "  open KVN ENC MAC DEK LEVEL | close | select [AID] | send APDU | send-raw BYTES |\n"
            "  load FILE.cap|FILE.jca [nohash] | install PKG APPLET [INSTANCE|-] [PARAMS|-] [PRIVS] |\n"
            "  delete AID [related] | lock AID | unlock AID | put-key OLD NEW KEY |\n"
            "  put-key OLD NEW ENC MAC DEK | list | present AID | absent AID\n"
            "  Each may end with '-> PATTERN': hex, ?? = any byte, * = any bytes\n"
            "  (send/select: data and SW, default *9000; others: the SW, default 9000;\n"
            "  open: '-> fail' expects the channel to be refused).\n\n"
            "Options:\n"
            "  --reader NAME   a PC/SC reader instead of IMAGE\n"
            "  -I, --path DIR  look for load files in DIR too; repeatable\n"
            "  -v, --verbose   print each command, and the plain APDUs\n"
            "  --trace         print the APDUs on the wire\n"
            "  --keep-going    after a failure, go on with the next check (the next\n"
            "                  echo line); exit status 1 if any line failed\n");
}

int cmd_script(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {{"reader", required_argument, 0, 'r'},
                                         {"path", required_argument, 0, 'I'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"keep-going", no_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    const char *reader = NULL;
    const char *paths[SCRIPT_MAX_PATHS];
    int npaths = 0, verbose = 0, keep_going = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "I:v", opts, NULL)) != -1) {
        if (c == 'r') reader = optarg;
        else if (c == 'I' && npaths < SCRIPT_MAX_PATHS) paths[npaths++] = optarg;
        else if (c == 'v') verbose = 1;
        else if (c == 'k') keep_going = 1;
        else { help(stderr); return 2; }
    }
    if (optind >= argc) { help(stderr); return 2; }
    const char *file = argv[optind++];
    const char *image = NULL;
    if (!reader) {
        if (optind >= argc) { help(stderr); return 2; }
        image = argv[optind++];
    }
    if (optind != argc) { cli_error("script", "unexpected argument '%s'", argv[optind]); return 2; }
    size_t len;
    char *text = (char *)cli_read_file(file, &len);
    if (!text) { cli_error("script", "cannot read %s", file); return 1; }
    /* The whole file is checked before anything reaches the card. */
    if (script_syntax_check(file, text, stderr)) {
        free(text);
        return 2;
    }
    transport *t = cli_open_card(image, reader);
    script_runner *s = malloc(sizeof *s);
    if (!t || !s || script_runner_init(s, file, t, verbose, stderr)) {
        if (t) transport_close(t);
        free(s);
        free(text);
        return 1;
    }
    for (int i = 0; i < npaths; i++) s->paths[s->npaths++] = paths[i];
    int status = 0, skipping = 0;
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        s->line++;
        char *hash = strchr(p, '#');
        if (hash) *hash = 0;
        /* --keep-going: after a failure, go on with the next check (the
         * next `echo` line), as `cardvm conform` reports every check. */
        const char *w = p;
        while (*w == ' ' || *w == '\t') w++;
        if (skipping && !strncmp(w, "echo", 4) && (w[4] == 0 || w[4] == ' ' || w[4] == '\t')) skipping = 0;
        int failed = !skipping && script_run_line(s, p);
        /* A commit the card could not write (6581, rolled back): nothing
         * after it would mean anything, --keep-going or not. */
        if (transport_commit_error(t)[0]) {
            fflush(stdout);
            cli_error("script", "%s:%u: card image not written: %s", file, s->line, transport_commit_error(t));
            status = CLI_EXIT_IO;
            break;
        }
        if (failed) {
            status = 1;
            if (!keep_going) break;
            skipping = 1;
            fflush(stderr);
        }
        p = nl ? nl + 1 : NULL;
    }
    fflush(stdout);
    script_runner_free(s);
    free(s);
    transport_close(t);
    free(text);
    return status;
}
