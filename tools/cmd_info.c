/* cmd_info.c — `cardvm info IMAGE`: what a card image holds. Read-only. */
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
            "usage: cardvm info IMAGE\n\n"
            "Print a card image's lifecycle mode, serial number, OTP trace, UNLOCK\n"
            "tries, security domain, key sets (versions only), vector table, packages\n"
            "and applets, memory regions, free space, wear (page writes) and ATR.\n"
            "The image is only read, never written.\n");
}

static void kib(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= 1024 && bytes % 1024 == 0) snprintf(buf, n, "%llu KiB", (unsigned long long)(bytes / 1024));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

int cmd_info(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    if (argc != 2) {
        help(stderr);
        return 2;
    }
    chip *c;
    char err[512];
    /* A reader: no lock, the last committed state even while a writer works. */
    if (chip_open_ex(argv[1], CHIP_OPEN_READ_ONLY, NULL, &c, err, sizeof err) != CHIP_OK) {
        fprintf(stderr, "cardvm info: %s\n", err);
        return 1;
    }
    chip_power_on(c);
    const chip_geometry *g = chip_get_geometry(c);
    chip_stats st;
    chip_get_stats(c, &st);
    char a[32], b[32];
    printf("image:        %s\n", argv[1]);
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
    printf("page writes:  NVM %llu (most-written page %u), OTP %llu\n",
           (unsigned long long)st.nvm_page_writes, st.nvm_max_page_writes,
           (unsigned long long)st.otp_writes);
    printf("commits:      %llu\n", (unsigned long long)st.commits);
    uint8_t atr[33];
    size_t n;
    rom_identity_atr(c, atr, &n);
    char hex[67];
    hex_encode(atr, n, hex);
    printf("ATR:          %s\n", hex);

    loader_info li;
    if (loader_read_info(c, &li) == 0) {
        printf("mode:         %s\n", loader_mode_name(li.mode));
        printf("OTP trace:    %02X (%s%s%s%s%s)\n", li.otp_trace,
               li.otp_trace & 1 ? "issuer " : "", li.otp_trace & 2 ? "serial " : "",
               li.otp_trace & 4 ? "customization " : "", li.otp_trace & 8 ? "user " : "",
               li.otp_trace & 16 ? "terminated" : "");
        hex_encode(li.serial, 8, hex);
        printf("serial:       %s\n", li.serial_written ? hex : "(not written)");
        if (li.mode != LOADER_MODE_NONE) {
            printf("UNLOCK tries: %u of %u left\n", li.tries_left, li.tries_max);
            hex_encode(li.isd_aid, li.isd_aid_len, hex);
            printf("security domain: %s, SCP03 i=%02X\n", hex, li.scp_i);
            printf("key sets:     ");
            for (unsigned k = 0; k < li.n_keysets; k++) printf("%sKVN %02X", k ? ", " : "", li.kvns[k]);
            printf("%s%s%s\n", li.n_keysets ? "" : "none", li.has_kos ? ", Kos" : "", li.has_kmac ? ", K-MAC" : "");
            printf("customization software: %s\n", li.has_sealed ? "sealed copy present (201)" : "erased");
            printf("vector table: %d slot(s) set, %u vectored command(s) in ROM\n", li.vectors_set, li.n_vectored);
            /* vm_create hands the runtime back even when it fails (a tampered
             * image): it is destroyed in every case. */
            vm_runtime *vm = NULL;
            if (vm_create(c, NULL, &vm) == VM_OK) {
                static const char *kinds[] = {"?", "applet", "library", "customization", "update"};
                vm_package_info pi;
                for (unsigned i = 0; vm_package_info_at(vm, i, &pi) == VM_OK; i++) {
                    hex_encode(pi.aid, pi.aid_len, hex);
                    printf("package:      %s v%u.%u %s, %u bytes%s, %u bytes of NVM\n", hex, pi.major, pi.minor,
                           pi.kind <= 4 ? kinds[pi.kind] : "?", pi.blob_size, pi.masked ? " masked (ROM)" : "", pi.nvm_used);
                }
                vm_applet_info ai;
                for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK; i++) {
                    char pkg[33];
                    hex_encode(ai.aid, ai.aid_len, hex);
                    hex_encode(ai.pkg_aid, ai.pkg_aid_len, pkg);
                    printf("applet:       %s of package %s\n", hex, pkg);
                }
            }
            vm_destroy(vm);
        }
    }
    chip_close(c);
    return 0;
}
