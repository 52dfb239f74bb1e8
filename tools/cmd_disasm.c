/*
 * cmd_disasm.c — `cardvm disasm`: print a package as assembler text.
 *
 *   cardvm disasm [-o OUT.jca] [--verify] IN.cap
 *
 * A CAP file (a zip) is printed as JCA (tools/jca/jca.h, docs/jca.md),
 * which assembles back to the same components (cardvm asm). --verify also
 * runs the on-card verifier and reports its verdict on stderr (exit 1 when
 * the package is refused; the text is printed either way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_file.h"
#include "cap_verify.h"
#include "cli.h"
#include "jca.h"

static void disasm_usage(FILE *f)
{
    fprintf(f,
            "usage: cardvm disasm [-o OUT.jca] [--verify] IN.cap\n"
            "  Print a CAP file as JCA (docs/jca.md; cardvm asm gives the same\n"
            "  components back).\n"
            "  -o FILE    write the text to FILE instead of standard output\n"
            "  --verify   also run the on-card verifier and report its verdict\n");
}

int cmd_disasm(int argc, char **argv)
{
    const char *in, *out;
    int verify;
    int done = cli_parse_in_out(argc, argv, disasm_usage, &in, &out, &verify);
    if (done >= 0) return done;
    size_t len;
    uint8_t *blob = cli_read_file(in, &len);
    if (!blob) {
        fprintf(stderr, "cardvm disasm: cannot read %s\n", in);
        return 1;
    }
    char *text = NULL, err[512];
    if (!capfile_is_zip(blob, len)) {
        fprintf(stderr, "cardvm disasm: %s: not a CAP file (expected the zip a Java Card converter or cardvm asm writes)\n", in);
        free(blob);
        return 1;
    }
    capfile cf;
    int rc = capfile_read_bytes(blob, len, CAPFILE_WITH_DEBUG, &cf, err, sizeof err);
    free(blob);
    if (rc != 0) {
        fprintf(stderr, "cardvm disasm: %s: %s\n", in, err);
        capfile_free(&cf);
        return 1;
    }
    int status = 0;
    if (jca_disassemble(cf.load_file, cf.len, cf.package_path, &text, err, sizeof err) != 0) {
        fprintf(stderr, "cardvm disasm: %s: %s\n", in, err);
        capfile_free(&cf);
        return 1;
    }
    if (verify) {
        cap_link_env env;
        cap_link_env_builtin(&env);
        if (vm_cap_verify_load_file(cf.load_file, cf.len, &env, CAP_VERIFY_UNRESOLVED_IMPORTS_OK, err,
                                    sizeof err) != 0) {
            fprintf(stderr, "cardvm disasm: %s: refused by the verifier: %s\n", in, err);
            status = 1;
        } else {
            fprintf(stderr, "cardvm disasm: %s: verified\n", in);
        }
    }
    capfile_free(&cf);
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o || fputs(text, o) < 0 || (out && fclose(o) != 0)) {
        fprintf(stderr, "cardvm disasm: cannot write %s\n", out ? out : "standard output");
        status = 1;
    }
    free(text);
    return status;
}
