/*
 * api_decls_main.c — `cardvm-api-decls DIR`: the build's step that writes the
 * API's Java declarations (api_decls.h) for javac.
 */
#include <stdio.h>

#include "api_decls.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cardvm-api-decls DIR\n");
        return 2;
    }
    char err[512];
    if (api_decls_write(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "cardvm-api-decls: %s\n", err);
        return 1;
    }
    return 0;
}
