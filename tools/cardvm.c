/*
 * cardvm.c — the `cardvm` command line tool: global options and the table of
 * subcommands. Each subcommand lives in its own tools/cmd_*.c file.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cap_debug.h"
#include "cap_file.h"
#include "cap_format.h"
#include "cli.h"

int cmd_create(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_mask(int argc, char **argv);
#ifdef CARDVM_HAVE_CMD_ASM
int cmd_asm(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_DISASM
int cmd_disasm(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_PCSCD
int cmd_pcscd(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_VICC
int cmd_vicc(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_GP
int cmd_gp(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_SCRIPT
int cmd_script(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_TEAR
int cmd_tear(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_CAMPAIGN
int cmd_campaign(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_CONFORM
int cmd_conform(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_VERIFY
int cmd_verify(int argc, char **argv);
#endif
#ifdef CARDVM_HAVE_CMD_CONVERT
int cmd_convert(int argc, char **argv);
#endif

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"create", cmd_create, "make a USER-mode card through its real lifecycle (or --blank, --issuer)"},
    {"send", cmd_send, "power a card on and send APDUs (hex), one response line each"},
    {"info", cmd_info, "show a card image: lifecycle, keys, vectors, regions, free space, wear"},
    {"personalize", cmd_create, "UNLOCK, customize and enter USER mode (client, on a masked card)"},
    {"seal", cmd_seal, "encrypt customization software with the unlocking key (client)"},
    {"mask", cmd_mask, "build an ISSUER-mode card image from ROM part and sealed software (manufacturer)"},
#ifdef CARDVM_HAVE_CMD_ASM
    {"asm", cmd_asm, "assemble a JCA source into a CAP file (.jca -> .cap)"},
#endif
#ifdef CARDVM_HAVE_CMD_VERIFY
    {"verify", cmd_verify, "run the card's verifier on a CAP file and say why it would refuse it"},
#endif
#ifdef CARDVM_HAVE_CMD_CONVERT
    {"convert", cmd_convert, "convert javac class files of a Java Card package into a CAP file"},
#endif
#ifdef CARDVM_HAVE_CMD_DISASM
    {"disasm", cmd_disasm, "print a CAP file as JCA"},
#endif
#ifdef CARDVM_HAVE_CMD_PCSCD
    {"pcscd", cmd_pcscd, "run a private pcscd with one virtual reader per card image"},
#endif
#ifdef CARDVM_HAVE_CMD_VICC
    {"vicc", cmd_vicc, "connect a card image to vsmartcard's vpcd (127.0.0.1)"},
#endif
#ifdef CARDVM_HAVE_CMD_GP
    {"gp", cmd_gp, "GlobalPlatform content management over SCP03: list, load, install, delete, put-key"},
#endif
#ifdef CARDVM_HAVE_CMD_SCRIPT
    {"script", cmd_script, "run a script: secure channel, load, install, APDUs with expected answers"},
#endif
#ifdef CARDVM_HAVE_CMD_TEAR
    {"tear", cmd_tear, "cut power at every NVM write of a script's commands; report torn applet states"},
#endif
#ifdef CARDVM_HAVE_CMD_CAMPAIGN
    {"campaign", cmd_campaign, "broadcast OS update (seed 004): design, enroll, server, terminal, run, status"},
#endif
#ifdef CARDVM_HAVE_CMD_CONFORM
    {"conform", cmd_conform, "run the conformance scripts (GP/SCP03, lifecycle, broadcast, ISO 7816); text and JUnit reports"},
#endif
};

static FILE *trace_stream;
FILE *cli_trace(void) { return trace_stream; }
void cli_set_trace(FILE *f) { trace_stream = f; }

/* Process-wide like the trace stream: the one table every transport this
 * run opens reports with. */
static cap_debug debug_info;
static char *debug_cap_list;
const struct cap_debug *cli_debug_info(void) { return &debug_info; }
const char *cli_debug_cap_list(void) { return debug_cap_list ? debug_cap_list : ""; }
void cli_debug_add_cap(const char *path)
{
    if (trace_stream && cap_debug_add_file(&debug_info, path) != 0)
        fprintf(trace_stream, "cardvm: %s: no names or source lines from this CAP file\n", path);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cardvm %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

uint8_t *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1u << 16, n = 0;
    uint8_t *b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap || ferror(f)) break;
        uint8_t *nb = cap >= CLI_FILE_MAX ? NULL : realloc(b, 2 * cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    if (b && ferror(f)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = n;
    }
    return b;
}

uint8_t *cli_read_package(const char *path, size_t *len, char *err, size_t errlen)
{
    uint8_t *b = cli_read_file(path, len);
    if (!b) {
        snprintf(err, errlen, "%s: cannot read it", path);
        return NULL;
    }
    if (!capfile_is_zip(b, *len)) {
        if (cap_is_load_file(b, *len))
            return b;
        snprintf(err, errlen, "%s: not a CAP file (expected the zip a Java Card converter or cardvm asm writes)",
                 path);
        free(b);
        *len = 0;
        return NULL;
    }
    capfile cf;
    int rc = capfile_read_bytes(b, *len, 0, &cf, err, errlen);
    free(b);
    b = rc == 0 ? cf.load_file : NULL;
    *len = rc == 0 ? cf.len : 0;
    cf.load_file = NULL;
    capfile_free(&cf);
    return b;
}

int cli_parse_in_out(int argc, char **argv, void (*usage)(FILE *), const char **in, const char **out,
                     int *verify)
{
    *in = *out = NULL;
    *verify = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            *out = argv[++i];
        } else if (!strcmp(argv[i], "--verify")) {
            *verify = 1;
        } else if (argv[i][0] == '-' || *in) {
            usage(stderr);
            return 2;
        } else {
            *in = argv[i];
        }
    }
    if (!*in) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int cli_parse_size(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (end == s) return -1;
    if (*end == 'K' || *end == 'k') { v *= 1024ul; end++; }
    else if (*end == 'M' || *end == 'm') { v *= 1024ul * 1024ul; end++; }
    if (*end) return -1;
    *out = v;
    return 0;
}

transport *cli_open_card(const char *image, const char *reader)
{
    char err[512] = "";
    transport *t = NULL;
    int rc = reader ? transport_open_reader(reader, &t, err, sizeof err)
                    : transport_open_image(image, &t, err, sizeof err);
    if (rc) {
        fprintf(stderr, "cardvm: %s\n", err[0] ? err : "cannot open the card");
        return NULL;
    }
    transport_set_trace(t, trace_stream);
    transport_set_debug(t, &debug_info);
    if (trace_stream) {
        uint8_t atr[33];
        size_t n;
        if (transport_atr(t, atr, &n) == 0) {
            fprintf(trace_stream, "ATR ");
            for (size_t i = 0; i < n; i++) fprintf(trace_stream, "%02X", atr[i]);
            fputc('\n', trace_stream);
        }
    }
    return t;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cardvm [--trace] COMMAND [ARGS...]\n"
               "       cardvm COMMAND --help\n\n"
               "A simulated secure element and its host tools.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nGlobal options:\n"
               "  --trace   print every APDU sent and received, with its time, on stderr,\n"
               "            and explain a failed applet call (uncaught exception, budget\n"
               "            overrun, failed install) after its response\n"
               "  --debug-cap FILE.cap  names and source lines for those explanations from\n"
               "            the CAP's Debug component (repeatable; `gp --load` and a\n"
               "            script's `load` add theirs)\n"
               "  --help    this text\n"
               "  --version print the version\n");
}

int main(int argc, char **argv)
{
    /* --trace and --debug-cap may come anywhere; take them out so
     * subcommands never see them. */
    int n = 0, n_debug_caps = 0;
    const char **debug_caps = calloc((size_t)argc + 1, sizeof *debug_caps);
    if (!debug_caps) return 1;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--trace")) {
            trace_stream = stderr;
            continue;
        }
        if (i > 0 && !strcmp(argv[i], "--debug-cap") && i + 1 < argc) {
            debug_caps[n_debug_caps++] = argv[++i];
            continue;
        }
        argv[n++] = argv[i];
    }
    argc = n;
    argv[argc] = NULL;
    size_t list_len = 0;
    for (int i = 0; i < n_debug_caps; i++) {
        if (cap_debug_add_file(&debug_info, debug_caps[i]) != 0) {
            fprintf(stderr, "cardvm: --debug-cap %s: not a readable CAP file\n", debug_caps[i]);
            continue;
        }
        /* absolute, for the pcscd driver (cmd_pcscd passes the list on) */
        char *abs = realpath(debug_caps[i], NULL);
        size_t n_abs = abs ? strlen(abs) : 0;
        char *nl = abs ? realloc(debug_cap_list, list_len + n_abs + 2) : NULL;
        if (nl) {
            debug_cap_list = nl;
            if (list_len) debug_cap_list[list_len++] = ':';
            memcpy(debug_cap_list + list_len, abs, n_abs + 1);
            list_len += n_abs;
        }
        free(abs);
    }
    free(debug_caps);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cardvm 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cardvm: unknown command '%s' (see cardvm --help)\n", argv[1]);
    return 2;
}
