/*
 * test_jca_roundtrip.c — the JCA assembler and disassembler against Oracle's
 * converter (tools/jca/jca.h).
 *
 *   test_jca_roundtrip SHARED_DIR [JCA ...]
 *
 * For every JCA/CAP pair the converter wrote under SHARED_DIR/javacard
 * (applets/<applet>/<variant>/X.jca beside X.cap, and the bench corpus):
 *   1. asm(jca) gives the CAP's components byte for byte. Both sides are
 *      parsed with vm/cap_format.h's parser (cap_parse) and compared
 *      component by component; the Debug component (cardvm does not write
 *      one) and, in CAP 2.2, the Directory's Debug size are left aside.
 *   2. asm(disasm(cap)) gives the CAP's components again.
 * and for the public CAP files (SHARED_DIR/javacard/public, made by other
 * converters, with no JCA beside them) check 2 alone.
 * The CAP format version is the converter's: 2.2 for the -debug variants
 * (the CAP's Header says which; JCA does not).
 * Exit 77 (skipped) when SHARED_DIR/javacard is absent.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cap_file.h"
#include "cap_format.h"
#include "jca.h"
#include "testfiles.h"

static int failures, checked;

/* Compare the components of two load files; print the first difference of each. */
static int compare(const char *what, const uint8_t *want, size_t wlen, const uint8_t *got, size_t glen)
{
    cap_view a, b;
    char err[256];
    int bad = 0;
    if (cap_parse(want, wlen, &a, err, sizeof err) != 0) {
        printf("FAIL %s: the converter's CAP does not parse: %s\n", what, err);
        cap_view_free(&a);
        return 1;
    }
    if (cap_parse(got, glen, &b, err, sizeof err) != 0) {
        printf("FAIL %s: the assembled CAP does not parse: %s\n", what, err);
        cap_view_free(&a);
        cap_view_free(&b);
        return 1;
    }
    for (int t = 1; t <= CAP_TAG_MAX; t++) {
        if (t == CAP_Debug)
            continue;
        if (!a.info[t] && !b.info[t])
            continue;
        if (!a.info[t] || !b.info[t]) {
            printf("FAIL %s: %s component %s\n", what, cap_components[t].name,
                   a.info[t] ? "missing" : "not expected");
            bad = 1;
            continue;
        }
        size_t n = a.size[t] < b.size[t] ? a.size[t] : b.size[t];
        size_t first = (size_t)-1;
        for (size_t i = 0; i < n; i++) {
            /* CAP 2.2 Directory: the Debug component's size (u2 at 22) */
            if (t == CAP_Directory && a.cap_minor == 2 && (i == 22 || i == 23))
                continue;
            if (a.info[t][i] != b.info[t][i]) {
                first = i;
                break;
            }
        }
        if (first == (size_t)-1 && a.size[t] == b.size[t])
            continue;
        bad = 1;
        printf("FAIL %s: %s component differs: size %u vs %u", what, cap_components[t].name, a.size[t], b.size[t]);
        if (first != (size_t)-1) {
            printf(", first at info offset %zu:\n  want", first);
            for (size_t i = first; i < first + 16 && i < a.size[t]; i++)
                printf(" %02X", a.info[t][i]);
            printf("\n  got ");
            for (size_t i = first; i < first + 16 && i < b.size[t]; i++)
                printf(" %02X", b.info[t][i]);
        }
        printf("\n");
    }
    cap_view_free(&a);
    cap_view_free(&b);
    return bad;
}

static void check_pair(const char *jca_path, int cap_only)
{
    char cap_path[1024];
    size_t n = strlen(jca_path);
    if (n < 5 || n + 1 > sizeof cap_path)
        return;
    memcpy(cap_path, jca_path, n - 4);
    strcpy(cap_path + n - 4, ".cap");
    capfile cf;
    char err[512];
    if (capfile_read(cap_path, CAPFILE_WITH_DEBUG, &cf, err, sizeof err) != 0) {
        printf("FAIL %s: %s\n", cap_path, err);
        failures++;
        capfile_free(&cf);
        return;
    }
    checked++;
    size_t len;
    char *src = (char *)test_read_file(jca_path, &len);
    jca_options opt = { cf.cap_major, cf.cap_minor };
    jca_cap out;
    int bad = 0;
    if (cap_only) {
        /* no JCA: only the disassembly is checked */
    } else if (!src || jca_assemble(src, len, jca_path, &opt, &out, err, sizeof err) != 0) {
        printf("FAIL %s: %s\n", jca_path, src ? err : "cannot read");
        bad = 1;
    } else {
        uint8_t *lf;
        size_t lfl;
        if (jca_load_file(&out, &lf, &lfl) == 0) {
            bad |= compare(jca_path, cf.load_file, cf.len, lf, lfl);
            free(lf);
        }
        jca_cap_free(&out);
    }
    free(src);
    /* disasm -> asm */
    char *text = NULL;
    if (jca_disassemble(cf.load_file, cf.len, cf.package_path, &text, err, sizeof err) != 0) {
        printf("FAIL %s: disassembly: %s\n", cap_path, err);
        bad = 1;
    } else if (jca_assemble(text, strlen(text), "(disassembly)", NULL, &out, err, sizeof err) != 0) {
        printf("FAIL %s: its disassembly does not assemble: %s\n", cap_path, err);
        bad = 1;
    } else {
        uint8_t *lf;
        size_t lfl;
        if (jca_load_file(&out, &lf, &lfl) == 0) {
            char what[1100];
            snprintf(what, sizeof what, "%s (disasm+asm)", cap_path);
            bad |= compare(what, cf.load_file, cf.len, lf, lfl);
            free(lf);
        }
        jca_cap_free(&out);
    }
    free(text);
    capfile_free(&cf);
    if (bad)
        failures++;
    else
        printf("ok   %s\n", jca_path);
}

static void walk(const char *dir, int depth, const char *ext)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char **names = NULL;
    size_t nn = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char **x = realloc(names, (nn + 1) * sizeof *x);
        if (!x)
            break;
        names = x;
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < nn; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < 8)
            walk(path, depth + 1, ext);
        else if (strlen(names[i]) > 4 && !strcmp(names[i] + strlen(names[i]) - 4, ext))
            check_pair(path, !strcmp(ext, ".cap"));
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_DIR [JCA...]\n", argv[0]);
        return 2;
    }
    if (argc > 2) {
        for (int i = 2; i < argc; i++)
            check_pair(argv[i], 0);
    } else {
        char jc[1024];
        snprintf(jc, sizeof jc, "%s/javacard", argv[1]);
        struct stat st;
        if (stat(jc, &st) != 0) {
            printf("SKIP: %s not found (the shared Java Card test material is not beside this clone)\n", jc);
            return 77;
        }
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/applets", jc);
        walk(sub, 0, ".jca");
        snprintf(sub, sizeof sub, "%s/bench", jc);
        walk(sub, 0, ".jca");
        snprintf(sub, sizeof sub, "%s/public", jc);
        walk(sub, 0, ".cap");
    }
    printf("%d CAP files (JCA/CAP pairs and public CAPs), %d failing\n", checked, failures);
    return failures || !checked ? 1 : 0;
}
