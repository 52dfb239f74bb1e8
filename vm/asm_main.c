/*
 * asm_main.c — cardvm-asm, the build-time host assembler:
 *   cardvm-asm INPUT.s OUTPUT.cvp
 * (The cardvm command line tool offers the same as `cardvm asm`.)
 */
#include <stdio.h>
#include <stdlib.h>

#include "vm_asm.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUT.s OUTPUT.cvp\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char *src = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *n = realloc(src, cap);
            if (!n) {
                fclose(f);
                free(src);
                return 1;
            }
            src = n;
        }
        size_t k = fread(src + len, 1, cap - len, f);
        if (k == 0)
            break;
        len += k;
    }
    fclose(f);
    uint8_t *blob;
    size_t blen;
    char err[512];
    if (vm_asm(src, len, argv[1], NULL, &blob, &blen, err, sizeof err) != VM_OK) {
        fprintf(stderr, "%s\n", err);
        free(src);
        return 1;
    }
    free(src);
    f = fopen(argv[2], "wb");
    if (!f || fwrite(blob, 1, blen, f) != blen || fclose(f) != 0) {
        perror(argv[2]);
        free(blob);
        return 1;
    }
    free(blob);
    return 0;
}
