/*
 * cmd_verify.c — `cardvm verify FILE.cap [--lib LIB.cap]...`: the card's own
 * verifier (vm/cap_verify.h) run on the host, so a developer learns before
 * loading why a card would answer 6A80 (or 6985 for a missing import).
 *
 * Libraries given with --lib are verified first, in order, and then serve
 * as imports (their Export and Descriptor components), as loaded packages
 * do on the card. An import that is neither a built-in API package nor a
 * --lib is an error, as on the card, unless --allow-unresolved (then
 * references into it are checked for shape only).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cap_debug.h"
#include "cap_file.h"
#include "cap_verify.h"
#include "cli.h"
#include "vm.h"

#define MAX_LIBS 16

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm verify FILE [--lib LIB.cap]... [--allow-unresolved] [--no-descriptor]\n"
            "                          [--customization]\n\n"
            "Run the card's verifier on a package without a card: a CAP file (the\n"
            "zip of a Java Card converter or cardvm asm). Prints OK, or why the\n"
            "card would refuse it: the component and offset, or the method (Method\n"
            "component offset, class and method index) and pc; with the CAP's Debug\n"
            "component also the method's name and the source line.\n"
            "Exit status 0 when the card would accept it, 1 when it would refuse it.\n\n"
            "  --lib LIB.cap        a user library FILE imports (verified first, in\n"
            "                       the order given); repeatable\n"
            "  --allow-unresolved   accept imports that are neither API packages nor\n"
            "                       --lib (their tokens and types are not checked)\n"
            "  --no-descriptor      verify without the Descriptor component (the card\n"
            "                       refuses that: it needs the types)\n"
            "  --customization      FILE is customization software, which UNLOCK loads\n"
            "                       privileged: it may import cardvm.loader\n"
            "                       (docs/loader.md); any other package may not\n");
}

typedef struct lib_set {
    capfile files[MAX_LIBS];
    cap_view views[MAX_LIBS];
    int parsed[MAX_LIBS];
    unsigned n;
} lib_set;

static const cap_view *find_lib(void *ctx, const uint8_t *aid, uint8_t aid_len)
{
    lib_set *l = ctx;
    for (unsigned i = 0; i < l->n; i++)
        if (l->parsed[i] && l->views[i].pkg_aid.len == aid_len && !memcmp(l->views[i].pkg_aid.b, aid, aid_len))
            return &l->views[i];
    return NULL;
}

static void describe(const capfile *f)
{
    printf(" (package ");
    for (unsigned k = 0; k < f->pkg_aid_len; k++) printf("%02X", f->pkg_aid[k]);
    printf(" v%u.%u, CAP %u.%u, %u applet%s)", f->pkg_major, f->pkg_minor, f->cap_major, f->cap_minor, f->n_applets,
           f->n_applets == 1 ? "" : "s");
}

/* A refusal in the code ("Method offset M (class C method T) pc P: ...")
 * in source terms, from the CAP's own Debug component when it has one:
 * "  in capwork/counter/CounterApplet.process(Ljavacard/framework/APDU;)V
 * pc 21 (CounterApplet.java:46)". */
static void explain_in_source(const char *path, const char *msg)
{
    const char *at = strstr(msg, "Method offset ");
    unsigned m, cls, tok, pc;
    if (!at || sscanf(at, "Method offset %u (class %u method %u) pc %u", &m, &cls, &tok, &pc) != 4)
        return;
    cap_debug d = { 0 };
    capfile f;
    char err[300];
    if (capfile_read(path, 0, &f, err, sizeof err) == 0 && cap_debug_add_file(&d, path) == 0) {
        const cap_debug_method *dm = cap_debug_method_at(&d, f.pkg_aid, f.pkg_aid_len, (uint16_t)m);
        if (dm) {
            printf("  in %s.%s%s pc %u", dm->class_name ? dm->class_name : "?", dm->name ? dm->name : "?",
                   dm->descriptor ? dm->descriptor : "", pc);
            unsigned line = cap_debug_line_at(dm, (uint16_t)pc);
            if (line && dm->source)
                printf(" (%s:%u)", dm->source, line);
            printf("\n");
        }
    }
    capfile_free(&f);
    cap_debug_free(&d);
}

/* Verifies one CAP file against the API and the libraries so far. 0 ok. */
static int verify_cap(const char *path, unsigned cflags, unsigned vflags, lib_set *libs, capfile *f)
{
    char err[512];
    if (capfile_read(path, cflags, f, err, sizeof err)) {
        printf("%s: not a CAP file: %s\n", path, err);
        return 1;
    }
    cap_link_env env;
    cap_link_env_builtin(&env);
    env.find_user = find_lib;
    env.ctx = libs;
    err[0] = 0;
    int rc = vm_cap_verify_load_file(f->load_file, f->len, &env, vflags, err, sizeof err);
    if (rc == VM_OK) {
        printf("%s: OK", path);
        describe(f);
        printf("\n");
        return 0;
    }
    printf("%s: refused%s: %s\n", path,
           rc == VM_ERR_DEPENDENCY ? " (missing or incompatible import, 6985)" :
           rc == VM_ERR_VERIFY ? " (6A80)" : "",
           err[0] ? err : vm_strerror(rc));
    explain_in_source(path, err);
    if (rc == VM_ERR_DEPENDENCY && strstr(err, "cardvm/loader"))
        printf("  (customization software? verify it with --customization)\n");
    else if (rc == VM_ERR_DEPENDENCY && !(vflags & CAP_VERIFY_UNRESOLVED_IMPORTS_OK))
        printf("  (a user library it imports? give it with --lib LIB.cap, or --allow-unresolved)\n");
    return 1;
}

int cmd_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {{"lib", required_argument, 0, 'L'},
                                         {"allow-unresolved", no_argument, 0, 'U'},
                                         {"customization", no_argument, 0, 'P'},
                                         {"no-descriptor", no_argument, 0, 'D'},
                                         {0, 0, 0, 0}};
    const char *lib_paths[MAX_LIBS];
    unsigned nlib = 0, cflags = 0, vflags = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'L':
            if (nlib >= MAX_LIBS) { cli_error("verify", "at most %d --lib", MAX_LIBS); return 2; }
            lib_paths[nlib++] = optarg;
            break;
        case 'U': vflags |= CAP_VERIFY_UNRESOLVED_IMPORTS_OK; break;
        case 'P': vflags |= CAP_VERIFY_PRIVILEGED; break;
        case 'D': cflags |= CAPFILE_NO_DESCRIPTOR; break;
        default: help(stderr); return 2;
        }
    }
    if (optind != argc - 1) { help(stderr); return 2; }
    const char *path = argv[optind];
    size_t len;
    uint8_t *bytes = cli_read_file(path, &len);
    if (!bytes) { cli_error("verify", "cannot read %s", path); return 1; }
    if (!capfile_is_zip(bytes, len)) {
        free(bytes);
        printf("%s: not a CAP file (expected the zip a Java Card converter or cardvm asm writes)\n", path);
        return 1;
    }
    free(bytes);

    lib_set *libs = calloc(1, sizeof *libs);
    if (!libs) { cli_error("verify", "out of memory"); return 1; }
    int status = 0;
    for (unsigned i = 0; i < nlib && !status; i++) {
        if (verify_cap(lib_paths[i], cflags, vflags, libs, &libs->files[i])) {
            status = 1;
            capfile_free(&libs->files[i]);
            break;
        }
        char err[256];
        libs->n = i + 1;
        if (cap_parse(libs->files[i].load_file, libs->files[i].len, &libs->views[i], err, sizeof err) == 0)
            libs->parsed[i] = 1;
    }
    if (!status) {
        capfile f;
        status = verify_cap(path, cflags, vflags, libs, &f);
        capfile_free(&f);
    }
    for (unsigned i = 0; i < libs->n; i++) {
        cap_view_free(&libs->views[i]);
        capfile_free(&libs->files[i]);
    }
    free(libs);
    return status;
}
