/*
 * fuzz_cap_seeds.c — the seed corpus of fuzz_cap: the load file of every
 * CAP of the shared test material (applets in all converter variants,
 * public CAPs, the benchmark corpus), one DIR/NNN.bin each. Made at test
 * time from ../shared, so no third-party file is copied into the project.
 * Without ../shared it writes nothing and says so (the smoke run then
 * mutates a minimal input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cap_testfile.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_cap_seeds OUTDIR\n");
        return 2;
    }
    mkdir(argv[1], 0777);
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        printf("fuzz_cap_seeds: ../shared/javacard is absent, no seeds written\n");
        return 0;
    }
    char **paths;
    size_t n = cap_test_find_caps(shared, &paths);
    unsigned written = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *b = cap_test_load_file(paths[i], &len);
        if (!b)
            continue;
        char out[1024];
        snprintf(out, sizeof out, "%s/%03zu.bin", argv[1], i);
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(b, 1, len, f) != len) {
            fprintf(stderr, "fuzz_cap_seeds: cannot write %s\n", out);
            free(b);
            if (f)
                fclose(f);
            cap_test_free_paths(paths, n);
            return 1;
        }
        fclose(f);
        free(b);
        written++;
    }
    cap_test_free_paths(paths, n);
    printf("fuzz_cap_seeds: %u load files from %s\n", written, shared);
    return written ? 0 : 1;
}
