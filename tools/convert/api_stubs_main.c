/*
 * api_stubs_main.c — `cardvm-api-stubs DIR`: the build's step that writes the
 * API's Java declarations (api_stubs.h) for javac.
 */
#include <stdio.h>

#include "api_stubs.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cardvm-api-stubs DIR\n");
        return 2;
    }
    char err[512];
    if (api_stubs_write(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "cardvm-api-stubs: %s\n", err);
        return 1;
    }
    return 0;
}
