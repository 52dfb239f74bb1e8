/*
 * fuzz_cap.c — CAP load files against the card's parser, verifier and load
 * path.
 *
 * Input: a GP load file (components concatenated, as tools/cap makes it).
 * Every input goes through cap_parse + vm_cap_verify (built-in API packages
 * only, as on a fresh card), then vm_load_package on a fresh in-memory card.
 * Checked: no crash, no hang, results within the documented set; a refused
 * load leaves NVM byte-identical; the load path never accepts a CAP that the
 * verifier refuses.
 *
 * Two drivers, as fuzz_card.c: built with clang and -DCARDVM_FUZZ=ON this is
 * a libFuzzer target (`fuzz_cap_libfuzzer -max_total_time=600 corpus/`);
 * otherwise main() either replays files, writes a seed corpus made from the
 * shared CAPs (`--seeds DIR SHARED_JAVACARD_DIR`), or runs N mutations of
 * those seeds (`--random N SHARED_JAVACARD_DIR`, the ctest smoke run; with
 * no shared folder it mutates a minimal header-only input).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cap_format.h"
#include "cap_verify.h"
#include "chip.h"
#include "vm.h"

typedef struct fuzz_card {
    chip *c;
    vm_runtime *rt;
    size_t nvm_size;
    uint8_t *before;
} fuzz_card;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_cap: %s\n", what);
    abort();
}

static fuzz_card *card(void)
{
    static fuzz_card k;
    if (k.c)
        return &k;
    chip_geometry g;
    chip_geometry_default(&g);
    /* Small NVM: every input compares the whole of it. */
    g.nvm_size = 32768;
    if (chip_create(&g, NULL, &k.c) != CHIP_OK)
        die("chip_create");
    chip_end_masking(k.c);
    if (chip_commit(k.c) != CHIP_OK)
        die("chip_commit");
    chip_power_on(k.c);
    if (vm_create(k.c, NULL, &k.rt) != VM_OK)
        die("vm_create");
    if (chip_commit(k.c) != CHIP_OK)
        die("chip_commit");
    k.nvm_size = g.nvm_size;
    k.before = malloc(k.nvm_size);
    if (!k.before)
        die("malloc");
    return &k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cap_link_env env;
    cap_link_env_builtin(&env);
    int vrc = vm_cap_verify_load_file(data, size, &env, 0, err, sizeof err);
    if (vrc != 0 && vrc != VM_ERR_VERIFY && vrc != VM_ERR_DEPENDENCY)
        die("verifier result outside its contract");
    if (vrc != 0 && !err[0])
        die("refusal without a reason");

    fuzz_card *k = card();
    memcpy(k->before, chip_nvm_view(k->c), k->nvm_size);
    int lrc = vm_load_package(k->rt, data, size, 0, err, sizeof err);
    if (lrc == VM_ERR_POWER)
        die("power cut without a tear armed");
    if (lrc != VM_OK && memcmp(k->before, chip_nvm_view(k->c), k->nvm_size) != 0) {
        fprintf(stderr, "fuzz_cap: load refused (%d: %s) but NVM changed\n", lrc, err);
        abort();
    }
    if (lrc == VM_OK && vrc != 0 && cap_is_load_file(data, size)) {
        fprintf(stderr, "fuzz_cap: the load path accepted a CAP the verifier refuses\n");
        abort();
    }
    /* Back to the fresh card for the next input. */
    chip_rollback(k->c);
    vm_reset(k->rt);
    return 0;
}

#ifndef CARDVM_LIBFUZZER

/* ---- seeds: load files of the shared CAPs ---- */

/* A CAP is a zip; without a zip library here, seeds are made by the tests'
 * reader ahead of time: `cardvm` writes load files (tools/cap). This driver
 * takes already-extracted load files (*.bin) or builds its own from the
 * component files of an unzipped CAP directory. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

typedef struct seedset {
    uint8_t *b[256];
    size_t len[256];
    unsigned n;
} seedset;

static void load_seeds(const char *dir, seedset *s)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && s->n < 256) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".bin") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *b = read_file(path, &len);
        if (b) {
            s->b[s->n] = b;
            s->len[s->n++] = len;
        }
    }
    closedir(d);
}

static uint32_t rng_state = 20261202u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* One structure-aware mutation: flip, set a byte, +-1 a u2, cut, or
 * duplicate a span. */
static size_t mutate(uint8_t *b, size_t len, size_t cap)
{
    if (len == 0)
        return 0;
    size_t at = rnd() % len;
    switch (rnd() % 6) {
    case 0: b[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
    case 1: b[at] = (uint8_t)rnd(); break;
    case 2:
        if (at + 1 < len) {
            unsigned v = (unsigned)(b[at] << 8 | b[at + 1]) + (rnd() % 2 ? 1u : 0xFFFFu);
            b[at] = (uint8_t)(v >> 8);
            b[at + 1] = (uint8_t)v;
        }
        break;
    case 3: len = at; break;
    case 4: {
        size_t n = 1 + rnd() % 8;
        if (len + n <= cap && at + n <= len) {
            memmove(b + at + n, b + at, len - at);
            len += n;
        }
        break;
    }
    default: b[at] = (uint8_t)(b[at] + (rnd() % 2 ? 1 : -1)); break;
    }
    return len;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--random") == 0) {
        long runs = argc > 2 ? atol(argv[2]) : 2000;
        seedset s = { 0 };
        if (argc > 3)
            load_seeds(argv[3], &s);
        static const uint8_t minimal[] = { 0x01, 0x00, 0x0A, 0xDE, 0xCA, 0xFF, 0xED, 0x01, 0x02, 0x04,
                                           0x00, 0x01, 0x00 };
        static uint8_t buf[1 << 17];
        unsigned accepted = 0;
        for (long r = 0; r < runs; r++) {
            size_t len;
            if (s.n) {
                unsigned i = (unsigned)(r % s.n);
                len = s.len[i] < sizeof buf / 2 ? s.len[i] : sizeof buf / 2;
                memcpy(buf, s.b[i], len);
            } else {
                len = sizeof minimal;
                memcpy(buf, minimal, len);
            }
            unsigned muts = 1 + rnd() % 4;
            for (unsigned m = 0; m < muts; m++)
                len = mutate(buf, len, sizeof buf);
            char err[256];
            cap_link_env env;
            cap_link_env_builtin(&env);
            if (vm_cap_verify_load_file(buf, len, &env, 0, err, sizeof err) == 0)
                accepted++;
            LLVMFuzzerTestOneInput(buf, len);
        }
        /* The seeds themselves once each. */
        for (unsigned i = 0; i < s.n; i++)
            LLVMFuzzerTestOneInput(s.b[i], s.len[i]);
        printf("fuzz_cap: %ld mutated inputs from %u seeds (%u still verified), no crash, "
               "every refused load left NVM unchanged\n", runs, s.n, accepted);
        for (unsigned i = 0; i < s.n; i++)
            free(s.b[i]);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        size_t len;
        uint8_t *b = read_file(argv[i], &len);
        if (!b)
            die(argv[i]);
        LLVMFuzzerTestOneInput(b, len);
        free(b);
    }
    return 0;
}
#endif
