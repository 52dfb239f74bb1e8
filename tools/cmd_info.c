/* cmd_info.c — `cardvm info IMAGE [--json]`: what a card image holds.
 * Read-only. The text view and the JSON view (keys in docs/cli.md) are
 * filled from the same reads, one line or key per fact. */
#include <jansson.h>
#include <string.h>

#include "apdu.h"
#include "atr.h"
#include "chip.h"
#include "cli.h"
#include "loader.h"
#include "vm.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm info IMAGE [--json]\n\n"
            "Print a card image's lifecycle mode, serial number, OTP trace, UNLOCK\n"
            "tries, security domain, key sets (versions only), vector table, packages\n"
            "and applets, memory regions, free space, wear (page writes) and ATR.\n"
            "The image is only read, never written.\n\n"
            "Options:\n"
            "  --json   print the same facts as one JSON object (keys in docs/cli.md)\n");
}

static void kib(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= 1024 && bytes % 1024 == 0) snprintf(buf, n, "%llu KiB", (unsigned long long)(bytes / 1024));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    if (n > 64) n = 64;
    hex_encode(b, n, hex);
    return json_string(hex);
}

static const char *const trace_bits[] = {"issuer", "serial", "customization", "user", "terminated"};

/* The loader's view (mode, keys, vectors) and the VM's (packages, applets);
 * `j` gets the same facts as keys. Text goes to stdout unless `text` is 0. */
static void loader_view(chip *c, int text, json_t *j)
{
    char hex[67];
    loader_info li;
    json_t *packages = json_array(), *applets = json_array(), *kvns = json_array(), *flags = json_array();
    int have = loader_read_info(c, &li) == 0;
    int personalised = have && li.mode != LOADER_MODE_NONE;
    json_object_set_new(j, "mode", have ? json_string(loader_mode_name(li.mode)) : json_null());
    json_object_set_new(j, "otp_trace", have ? json_integer(li.otp_trace) : json_null());
    if (have)
        for (unsigned b = 0; b < 5; b++)
            if (li.otp_trace & (1u << b)) json_array_append_new(flags, json_string(trace_bits[b]));
    json_object_set_new(j, "otp_trace_flags", flags);
    json_object_set_new(j, "serial", have && li.serial_written ? hex_json(li.serial, 8) : json_null());
    json_object_set_new(j, "unlock_tries_left", personalised ? json_integer(li.tries_left) : json_null());
    json_object_set_new(j, "unlock_tries_max", personalised ? json_integer(li.tries_max) : json_null());
    json_object_set_new(j, "security_domain_aid", personalised ? hex_json(li.isd_aid, li.isd_aid_len) : json_null());
    json_object_set_new(j, "scp03_i", personalised ? json_integer(li.scp_i) : json_null());
    if (personalised)
        for (unsigned k = 0; k < li.n_keysets; k++) json_array_append_new(kvns, json_integer(li.kvns[k]));
    json_object_set_new(j, "key_set_versions", kvns);
    json_object_set_new(j, "has_kos", json_boolean(personalised && li.has_kos));
    json_object_set_new(j, "has_kmac", json_boolean(personalised && li.has_kmac));
    json_object_set_new(j, "customization_software",
                        personalised ? json_string(li.has_sealed ? "sealed" : "erased") : json_null());
    json_object_set_new(j, "vector_slots_set", personalised ? json_integer(li.vectors_set) : json_null());
    json_object_set_new(j, "vectored_commands", personalised ? json_integer(li.n_vectored) : json_null());
    json_object_set_new(j, "packages", packages);
    json_object_set_new(j, "applets", applets);
    if (!have) return;

    if (text) {
        printf("mode:         %s\n", loader_mode_name(li.mode));
        printf("OTP trace:    %02X (%s%s%s%s%s)\n", li.otp_trace, li.otp_trace & 1 ? "issuer " : "",
               li.otp_trace & 2 ? "serial " : "", li.otp_trace & 4 ? "customization " : "",
               li.otp_trace & 8 ? "user " : "", li.otp_trace & 16 ? "terminated" : "");
        hex_encode(li.serial, 8, hex);
        printf("serial:       %s\n", li.serial_written ? hex : "(not written)");
    }
    if (!personalised) return;
    if (text) {
        printf("UNLOCK tries: %u of %u left\n", li.tries_left, li.tries_max);
        hex_encode(li.isd_aid, li.isd_aid_len, hex);
        printf("security domain: %s, SCP03 i=%02X\n", hex, li.scp_i);
        printf("key sets:     ");
        for (unsigned k = 0; k < li.n_keysets; k++) printf("%sKVN %02X", k ? ", " : "", li.kvns[k]);
        printf("%s%s%s\n", li.n_keysets ? "" : "none", li.has_kos ? ", Kos" : "", li.has_kmac ? ", K-MAC" : "");
        printf("customization software: %s\n", li.has_sealed ? "sealed copy present (201)" : "erased");
        printf("vector table: %d slot(s) set, %u vectored command(s) in ROM\n", li.vectors_set, li.n_vectored);
    }
    /* vm_create hands the runtime back even when it fails (a tampered
     * image): it is destroyed in every case. */
    vm_runtime *vm = NULL;
    if (vm_create(c, NULL, &vm) == VM_OK) {
        static const char *kinds[] = {"?", "applet", "library", "customization", "update"};
        vm_package_info pi;
        for (unsigned i = 0; vm_package_info_at(vm, i, &pi) == VM_OK; i++) {
            const char *kind = pi.kind <= 4 ? kinds[pi.kind] : "?";
            json_t *p = json_object();
            json_object_set_new(p, "aid", hex_json(pi.aid, pi.aid_len));
            json_object_set_new(p, "major", json_integer(pi.major));
            json_object_set_new(p, "minor", json_integer(pi.minor));
            json_object_set_new(p, "kind", json_string(kind));
            json_object_set_new(p, "size_bytes", json_integer(pi.blob_size));
            json_object_set_new(p, "masked", json_boolean(pi.masked));
            json_object_set_new(p, "nvm_bytes", json_integer(pi.nvm_used));
            json_array_append_new(packages, p);
            if (text) {
                hex_encode(pi.aid, pi.aid_len, hex);
                printf("package:      %s v%u.%u %s, %u bytes%s, %u bytes of NVM\n", hex, pi.major, pi.minor, kind,
                       pi.blob_size, pi.masked ? " masked (ROM)" : "", pi.nvm_used);
            }
        }
        vm_applet_info ai;
        for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK; i++) {
            json_t *a = json_object();
            json_object_set_new(a, "aid", hex_json(ai.aid, ai.aid_len));
            json_object_set_new(a, "package_aid", hex_json(ai.pkg_aid, ai.pkg_aid_len));
            json_array_append_new(applets, a);
            if (text) {
                char pkg[33];
                hex_encode(ai.aid, ai.aid_len, hex);
                hex_encode(ai.pkg_aid, ai.pkg_aid_len, pkg);
                printf("applet:       %s of package %s\n", hex, pkg);
            }
        }
    }
    vm_destroy(vm);
}

int cmd_info(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return CLI_EXIT_OK;
    }
    const char *image = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("info", "unknown option '%s' (see cardvm info --help)", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (image) {
            cli_error("info", "one IMAGE only ('%s' and '%s' given)", image, argv[i]);
            return CLI_EXIT_USAGE;
        } else image = argv[i];
    }
    if (!image) {
        help(stderr);
        return CLI_EXIT_USAGE;
    }
    chip *c;
    char err[512];
    /* A reader: no lock, the last committed state even while a writer works. */
    if (chip_open_ex(image, CHIP_OPEN_READ_ONLY, NULL, &c, err, sizeof err) != CHIP_OK) {
        fprintf(stderr, "cardvm info: %s\n", err);
        return CLI_EXIT_IO;
    }
    chip_power_on(c);
    const chip_geometry *g = chip_get_geometry(c);
    chip_stats st;
    chip_get_stats(c, &st);
    uint8_t atr[33];
    size_t n;
    rom_identity_atr(c, atr, &n);
    json_t *j = json_object();
    if (!j) {
        chip_close(c);
        cli_error("info", "out of memory");
        return CLI_EXIT_FAILURE;
    }
    json_object_set_new(j, "image", json_string(image));
    json_object_set_new(j, "rom_bytes", json_integer((json_int_t)g->rom_size));
    json_object_set_new(j, "rom_writable", json_boolean(chip_is_masking(c)));
    json_object_set_new(j, "nvm_bytes", json_integer((json_int_t)g->nvm_size));
    json_object_set_new(j, "nvm_page_bytes", json_integer(g->nvm_page_size));
    json_object_set_new(j, "ram_bytes", json_integer((json_int_t)g->ram_size));
    json_object_set_new(j, "otp_bytes", json_integer((json_int_t)g->otp_size));
    json_object_set_new(j, "otp_bits_burnt", json_integer(st.otp_bits_burnt));
    json_object_set_new(j, "nvm_free_bytes", json_integer((json_int_t)st.nvm_heap_free));
    json_object_set_new(j, "nvm_largest_free_block_bytes", json_integer(st.nvm_heap_largest));
    json_object_set_new(j, "nvm_used_bytes", json_integer((json_int_t)st.nvm_heap_used));
    json_object_set_new(j, "nvm_page_writes", json_integer((json_int_t)st.nvm_page_writes));
    json_object_set_new(j, "nvm_max_page_writes", json_integer(st.nvm_max_page_writes));
    json_object_set_new(j, "otp_writes", json_integer((json_int_t)st.otp_writes));
    json_object_set_new(j, "commits", json_integer((json_int_t)st.commits));
    json_object_set_new(j, "atr", hex_json(atr, n));
    if (!json) {
        char a[32], b[32], hex[67];
        printf("image:        %s\n", image);
        kib(a, sizeof a, g->rom_size);
        printf("ROM:          %s%s\n", a, chip_is_masking(c) ? " (masking, writable)" : " (masked, read-only)");
        kib(a, sizeof a, g->nvm_size);
        printf("NVM:          %s in %u-byte pages\n", a, g->nvm_page_size);
        kib(a, sizeof a, g->ram_size);
        printf("RAM:          %s\n", a);
        kib(a, sizeof a, g->otp_size);
        printf("OTP:          %s, %u bits burnt\n", a, st.otp_bits_burnt);
        kib(a, sizeof a, st.nvm_heap_free);
        kib(b, sizeof b, st.nvm_heap_used);
        printf("NVM free:     %s (largest block %u bytes), %s in use\n", a, st.nvm_heap_largest, b);
        printf("page writes:  NVM %llu (most-written page %u), OTP %llu\n", (unsigned long long)st.nvm_page_writes,
               st.nvm_max_page_writes, (unsigned long long)st.otp_writes);
        printf("commits:      %llu\n", (unsigned long long)st.commits);
        hex_encode(atr, n, hex);
        printf("ATR:          %s\n", hex);
    }
    loader_view(c, !json, j);
    chip_close(c);
    int status = CLI_EXIT_OK;
    if (json) {
        if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) status = CLI_EXIT_FAILURE;
        else putchar('\n');
    }
    json_decref(j);
    if (fflush(stdout) != 0) status = CLI_EXIT_IO;
    return status;
}
