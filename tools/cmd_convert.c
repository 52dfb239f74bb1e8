/*
 * cmd_convert.c — `cardvm convert`: javac class files -> CAP (+ JCA, export
 * file), the open converter of tools/convert/convert.h, with options after
 * Oracle's converter (docs/convert.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"
#include "jca.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm convert --classes DIR|JAR --package NAME --aid AID --version X.Y\n"
            "                      [--applet AID CLASS]... [--export-path DIR]... [--export-map OLD.exp]\n"
            "                      [--debug] [--int]\n"
            "                      -o OUT.cap [--jca OUT.jca] [--exp OUT.exp]\n\n"
            "Convert a package's class files (javac -g --release 8 -cp cardvm-api.jar) into a\n"
            "CAP file for Java Card 3.0.5 classic cards. The built-in API packages need no\n"
            "export files; user libraries are found on --export-path as\n"
            "DIR/<package path>/javacard/<name>.exp or DIR/<name>.exp, else as their CAP\n"
            "file (.cap at the same places) when it has a Debug component.\n\n"
            "  --classes DIR|JAR   the compiled classes (DIR/<package path>/*.class, or a jar)\n"
            "  --package NAME      the package (capwork.counter)\n"
            "  --aid AID           the package AID, hex (F0434150574B01 or F0:43:...)\n"
            "  --version X.Y       the package version\n"
            "  --applet AID CLASS  an applet: its AID and class (repeatable)\n"
            "  --export-path DIR   where export (or CAP) files of imported libraries are (repeatable)\n"
            "  --export-map OLD.exp  keep the public tokens of this package's previous export\n"
            "                      file (binary compatibility); new members get the next ones\n"
            "  --debug             CAP format 2.2 with a Debug component (source files, line\n"
            "                      tables from the classes' LineNumberTable; compile with javac -g)\n"
            "  --int               int support (Oracle's -i): refused, this card has no int\n"
            "  -o OUT.cap          the CAP file\n"
            "  --jca OUT.jca       also write the JCA text (what the assembler read)\n"
            "  --exp OUT.exp       the export file (default: OUT with .exp)\n");
}

static int write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int cmd_convert(int argc, char **argv)
{
    convert_options o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *jca_out = NULL, *exp_out = NULL, *version = NULL;
    int have_aid = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--classes") && more) {
            o.classes = argv[++i];
        } else if (!strcmp(a, "--package") && more) {
            o.package = argv[++i];
        } else if (!strcmp(a, "--aid") && more) {
            if (convert_parse_aid(argv[++i], o.aid, &o.aid_len)) {
                fprintf(stderr, "cardvm convert: --aid: expected 5 to 16 hex bytes\n");
                return CLI_EXIT_USAGE;
            }
            have_aid = 1;
        } else if (!strcmp(a, "--version") && more) {
            version = argv[++i];
        } else if (!strcmp(a, "--applet") && i + 2 < argc) {
            if (o.n_applets >= CONVERT_MAX_APPLETS) {
                fprintf(stderr, "cardvm convert: too many applets\n");
                return CLI_EXIT_USAGE;
            }
            convert_applet *ap = &o.applets[o.n_applets++];
            if (convert_parse_aid(argv[++i], ap->aid, &ap->aid_len)) {
                fprintf(stderr, "cardvm convert: --applet: expected an AID of 5 to 16 hex bytes\n");
                return CLI_EXIT_USAGE;
            }
            ap->class_name = argv[++i];
        } else if (!strcmp(a, "--export-path") && more) {
            if (o.n_export_path >= CONVERT_MAX_EXPORT_PATH) {
                fprintf(stderr, "cardvm convert: too many --export-path\n");
                return CLI_EXIT_USAGE;
            }
            o.export_path[o.n_export_path++] = argv[++i];
        } else if (!strcmp(a, "--export-map") && more) {
            o.export_map = argv[++i];
        } else if (!strcmp(a, "--int")) {
            /* Oracle's -i: accepted so that its users learn why it cannot be honoured */
            fprintf(stderr, "cardvm convert: --int: the target card has no int support. The int type is optional "
                            "in Java Card (JCVM 3.0.5, chapter 2) and cardvm implements none of its bytecodes; its "
                            "verifier refuses a package that uses int (Header flag ACC_INT). Use short or byte, "
                            "and cast int arithmetic back: (short) (a + b).\n");
            return CLI_EXIT_FAILURE;
        } else if (!strcmp(a, "--debug")) {
            o.cap22 = 1;
            o.debug_info = 1;
        } else if (!strcmp(a, "-o") && more) {
            out = argv[++i];
        } else if (!strcmp(a, "--jca") && more) {
            jca_out = argv[++i];
        } else if (!strcmp(a, "--exp") && more) {
            exp_out = argv[++i];
        } else {
            fprintf(stderr, "cardvm convert: unexpected '%s'\n", a);
            help(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    unsigned major = 0, minor = 0;
    char tail;
    if (!o.classes || !o.package || !have_aid || !version || !out ||
        sscanf(version, "%u.%u%c", &major, &minor, &tail) != 2 || major > 127 || minor > 255) {
        fprintf(stderr, "cardvm convert: --classes, --package, --aid, --version X.Y and -o are required\n");
        help(stderr);
        return CLI_EXIT_USAGE;
    }
    o.major = (uint8_t)major;
    o.minor = (uint8_t)minor;

    convert_result r;
    char err[2048] = "";
    if (convert_package(&o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_OK;
    if (jca_out && write_bytes(jca_out, r.jca, strlen(r.jca)) != 0) {
        fprintf(stderr, "cardvm convert: cannot write %s\n", jca_out);
        rc = CLI_EXIT_IO;
    }
    jca_options jo = {2, (uint8_t)(o.cap22 ? 2 : 1)};
    jca_cap cap;
    if (rc == CLI_EXIT_OK) {
        if (jca_assemble(r.jca, strlen(r.jca), jca_out ? jca_out : "(converted).jca", &jo, &cap, err, sizeof err) != 0) {
            fprintf(stderr, "cardvm convert: internal error, the JCA it wrote does not assemble: %s%s\n", err,
                    jca_out ? "" : " (--jca FILE writes it)");
            rc = CLI_EXIT_FAILURE;
        } else {
            if (jca_write_cap(&cap, out, err, sizeof err) != 0) {
                fprintf(stderr, "cardvm convert: %s\n", err);
                rc = CLI_EXIT_IO;
            }
            jca_cap_free(&cap);
        }
    }
    if (rc == CLI_EXIT_OK) {
        char expbuf[4096];
        if (!exp_out) {
            size_t n = strlen(out);
            const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
            size_t base = (dot && (!slash || dot > slash)) ? (size_t)(dot - out) : n;
            snprintf(expbuf, sizeof expbuf, "%.*s.exp", (int)base, out);
            exp_out = expbuf;
        }
        uint8_t *eb;
        size_t el;
        if (ex_write(&r.exp, &eb, &el) != 0 || write_bytes(exp_out, eb, el) != 0) {
            fprintf(stderr, "cardvm convert: cannot write %s\n", exp_out);
            rc = CLI_EXIT_IO;
        } else {
            free(eb);
        }
    }
    convert_result_free(&r);
    return rc;
}
