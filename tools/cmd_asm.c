/*
 * cmd_asm.c — `cardvm asm`: assemble a package from its text form.
 *
 *   cardvm asm [-o OUT.cap] [--verify] [--cap-format 2.1|2.2] IN.jca
 *
 * JCA (tools/jca/jca.h, docs/jca.md) in, a CAP file out; without -o the
 * output is IN with .jca replaced by .cap.
 * Errors are printed as file:line:column: message (exit 1); usage errors
 * exit 2. --verify also runs the on-card verifier over the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_verify.h"
#include "cli.h"
#include "jca.h"

static void asm_usage(FILE *f)
{
    fprintf(f,
            "usage: cardvm asm [-o OUT.cap] [--verify] [--cap-format 2.1|2.2] IN.jca\n"
            "  Assemble a Java Card package from JCA (docs/jca.md) into a CAP file\n"
            "  (docs/cap.md).\n"
            "  -o FILE        output file (default: IN with the extension .cap)\n"
            "  --verify       also run the on-card verifier over the result\n"
            "  --cap-format   the CAP format version (default: the file's\n"
            "                 .capFormat directive, else 2.1)\n");
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcmp(path + n - e, ext) == 0;
}

static int asm_jca(const char *in, const char *out, int verify, const jca_options *opt)
{
    char outbuf[4096];
    if (!out) {
        size_t n = strlen(in);
        if (n + 1 > sizeof outbuf) {
            fprintf(stderr, "cardvm asm: %s: name too long\n", in);
            return 2;
        }
        memcpy(outbuf, in, n - 4);
        strcpy(outbuf + n - 4, ".cap");
        out = outbuf;
    }
    size_t len;
    char *src = (char *)cli_read_file(in, &len);
    if (!src) {
        fprintf(stderr, "cardvm asm: cannot read %s\n", in);
        return 1;
    }
    jca_cap cap;
    char err[512];
    int rc = jca_assemble(src, len, in, opt, &cap, err, sizeof err);
    free(src);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (verify) {
        uint8_t *lf;
        size_t lfl;
        if (jca_load_file(&cap, &lf, &lfl) != 0) {
            jca_cap_free(&cap);
            return 1;
        }
        /* imports other than the card's API cannot be resolved here */
        cap_link_env env;
        cap_link_env_builtin(&env);
        /* the customization software may import cardvm.loader: whether a
         * package may is the card's decision at load, not the assembler's */
        int vr = vm_cap_verify_load_file(lf, lfl, &env, CAP_VERIFY_UNRESOLVED_IMPORTS_OK | CAP_VERIFY_PRIVILEGED,
                                         err, sizeof err);
        free(lf);
        if (vr != 0) {
            int line = jca_source_line(&cap, err);
            if (line)
                fprintf(stderr, "%s:%d: refused by the verifier: %s\n", in, line, err);
            else
                fprintf(stderr, "cardvm asm: %s: refused by the verifier: %s\n", in, err);
            jca_cap_free(&cap);
            return 1;
        }
    }
    rc = jca_write_cap(&cap, out, err, sizeof err);
    jca_cap_free(&cap);
    if (rc != 0) {
        fprintf(stderr, "cardvm asm: %s\n", err);
        return 1;
    }
    return 0;
}

int cmd_asm(int argc, char **argv)
{
    const char *in, *out;
    int verify;
    jca_options opt = { 0, 0 };
    char *args[64];
    int nargs = 0;
    for (int i = 0; i < argc && nargs < 64; i++) {
        if (!strcmp(argv[i], "--cap-format") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "2.1") && strcmp(v, "2.2")) {
                fprintf(stderr, "cardvm asm: --cap-format: expected 2.1 or 2.2\n");
                return 2;
            }
            opt.cap_major = 2;
            opt.cap_minor = (uint8_t)(v[2] - '0');
            continue;
        }
        args[nargs++] = argv[i];
    }
    int done = cli_parse_in_out(nargs, args, asm_usage, &in, &out, &verify);
    if (done >= 0) return done;
    if (!has_ext(in, ".jca")) {
        fprintf(stderr, "cardvm asm: %s: expected a JCA source (FILE.jca, docs/jca.md)\n", in);
        return 2;
    }
    return asm_jca(in, out, verify, &opt);
}
