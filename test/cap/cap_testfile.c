/* cap_testfile.c — see cap_testfile.h. */
#define _XOPEN_SOURCE 700
#include "cap_testfile.h"
#include "cap_format.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

uint8_t *cap_test_load_file(const char *cap_path, size_t *len)
{
    int zerr = 0;
    zip_t *z = zip_open(cap_path, ZIP_RDONLY, &zerr);
    if (!z)
        return NULL;
    uint8_t *out = NULL;
    size_t n = 0;
    zip_int64_t entries = zip_get_num_entries(z, 0);
    for (unsigned order = 0; order < CAP_TAG_MAX; order++) {
        const cap_component_info *ci = NULL;
        for (unsigned t = 1; t <= CAP_TAG_MAX; t++)
            if (cap_components[t].order == order)
                ci = &cap_components[t];
        if (!ci || ci->tag == CAP_Debug)
            continue;
        char suffix[64];
        snprintf(suffix, sizeof suffix, "/javacard/%s", ci->file);
        for (zip_int64_t i = 0; i < entries; i++) {
            const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
            zip_stat_t st;
            if (!name || !ends_with(name, suffix) || zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0)
                continue;
            uint8_t *grown = realloc(out, n + (size_t)st.size + 1);
            zip_file_t *f = grown ? zip_fopen_index(z, (zip_uint64_t)i, 0) : NULL;
            if (!f) {
                free(grown ? grown : out);
                zip_close(z);
                return NULL;
            }
            out = grown;
            zip_int64_t got = zip_fread(f, out + n, st.size);
            zip_fclose(f);
            if (got != (zip_int64_t)st.size) {
                free(out);
                zip_close(z);
                return NULL;
            }
            n += (size_t)st.size;
            break;
        }
    }
    zip_close(z);
    *len = n;
    return out;
}

const char *cap_test_shared_dir(void)
{
    static const char dir[] = CAP_TEST_SHARED_DIR;
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

/* nftw has no user pointer: the walk collects into a list it is handed
 * through this per-call holder, set and cleared around the walk. */
typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;
static _Thread_local path_list *collecting;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F && ends_with(path, ".cap")) {
        path_list *l = collecting;
        if (l->n == l->cap) {
            size_t nc = l->cap ? 2 * l->cap : 32;
            char **g = realloc(l->v, nc * sizeof *g);
            if (!g)
                return 1;
            l->v = g;
            l->cap = nc;
        }
        l->v[l->n] = strdup(path);
        if (!l->v[l->n])
            return 1;
        l->n++;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t cap_test_find_caps(const char *dir, char ***paths)
{
    path_list l = { 0 };
    collecting = &l;
    nftw(dir, collect, 16, FTW_PHYS);
    collecting = NULL;
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_name);
    *paths = l.v;
    return l.n;
}

void cap_test_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
