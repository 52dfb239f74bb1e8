/*
 * load_file_main.c — `cardvm-jca-load-file IN.jca OUT`: the build's JCA
 * assembler. Writes the load file (the CAP components concatenated in load
 * order, what the card's vm_load_package takes) of IN.jca.
 *
 * Why not `cardvm asm`: the cardvm CLI links the example packages this
 * step produces (cmake/embed.cmake), so the build needs an assembler that
 * does not depend on them. Same library (tools/jca), same output as
 * `cardvm asm` + the CAP's components; errors as file:line:column.
 */
#include <stdio.h>
#include <stdlib.h>

#include "jca.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(b, cap *= 2);
        if (!nb) {
            free(b);
            b = NULL;
        }
        b = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cardvm-jca-load-file IN.jca OUT\n");
        return 2;
    }
    size_t len;
    char *src = slurp(argv[1], &len);
    if (!src) {
        fprintf(stderr, "cardvm-jca-load-file: cannot read %s\n", argv[1]);
        return 1;
    }
    jca_options opt = { 0, 0 };
    jca_cap cap;
    char err[512];
    int rc = jca_assemble(src, len, argv[1], &opt, &cap, err, sizeof err);
    free(src);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint8_t *lf = NULL;
    size_t lfl = 0;
    rc = jca_load_file(&cap, &lf, &lfl);
    jca_cap_free(&cap);
    FILE *f = rc == 0 ? fopen(argv[2], "wb") : NULL;
    int ok = f && fwrite(lf, 1, lfl, f) == lfl;
    if (f && fclose(f) != 0)
        ok = 0;
    free(lf);
    if (!ok) {
        fprintf(stderr, "cardvm-jca-load-file: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
