/*
 * cmd_asm.c — `cardvm asm`: assemble a package from its text form.
 *
 *   cardvm asm [-o OUT.cvp] [--verify] IN.s
 *
 * Without -o the output is IN with its extension replaced by .cvp. Errors
 * are printed as file:line:column: message (exit 1); usage errors exit 2.
 * --verify also runs the on-card verifier over the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vm_asm.h"

static void asm_usage(FILE *f)
{
    fprintf(f,
            "usage: cardvm asm [-o OUT.cvp] [--verify] IN.s\n"
            "  Assemble a cardvm package (text form: docs/vm.md) into a .cvp blob\n"
            "  (format: docs/package-format.md).\n"
            "  -o FILE    output file (default: IN with the extension .cvp)\n"
            "  --verify   also run the on-card verifier over the result\n");
}

int cmd_asm(int argc, char **argv)
{
    const char *in, *out;
    int verify;
    int done = cli_parse_in_out(argc, argv, asm_usage, &in, &out, &verify);
    if (done >= 0) return done;
    char outbuf[4096];
    if (!out) {
        const char *dot = strrchr(in, '.'), *slash = strrchr(in, '/');
        size_t base = dot && (!slash || dot > slash) ? (size_t)(dot - in) : strlen(in);
        if (base + 5 > sizeof outbuf) {
            fprintf(stderr, "cardvm asm: %s: name too long\n", in);
            return 2;
        }
        memcpy(outbuf, in, base);
        strcpy(outbuf + base, ".cvp");
        out = outbuf;
    }
    size_t len;
    char *src = (char *)cli_read_file(in, &len);
    if (!src) {
        fprintf(stderr, "cardvm asm: cannot read %s\n", in);
        return 1;
    }
    uint8_t *blob;
    size_t blen;
    char err[512];
    int rc = vm_asm(src, len, in, NULL, &blob, &blen, err, sizeof err);
    free(src);
    if (rc != VM_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (verify && vm_verify(blob, blen, NULL, 0, err, sizeof err) != VM_OK) {
        fprintf(stderr, "cardvm asm: %s: refused by the verifier: %s\n", in, err);
        free(blob);
        return 1;
    }
    FILE *f = fopen(out, "wb");
    int ok = f && fwrite(blob, 1, blen, f) == blen;
    if (f && fclose(f) != 0)
        ok = 0;
    free(blob);
    if (!ok) {
        fprintf(stderr, "cardvm asm: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
