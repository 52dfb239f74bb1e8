/*
 * gpcard.h — a card for the GlobalPlatform tests (test_isd, test_isd_cap):
 * a copy of a template image made by `cardvm create`, opened through the
 * transport and GP host session the tools use (tools/transport.h,
 * tools/gp_host.h), so the tests drive the card as `cardvm gp` does.
 *
 * The template lives in a temp dir of the test's own; each test copies it
 * under a name of its own there and works on the copy. Compiled into the
 * test programs that use it (it needs the tools' host sources, which
 * cardvm_test_support does not link).
 */
#ifndef CARDVM_TEST_GPCARD_H
#define CARDVM_TEST_GPCARD_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "gp_host.h"
#include "transport.h"

typedef struct gpcard {
    char path[512];
    transport *t;
    gp_session gp;
} gpcard;

/* A new temp dir (/tmp/cardvm-test-TAG-XXXXXX) into dir, holding
 * template.img made by `CARDVM create --quiet`. 0, or -1. */
int gpcard_make_template(const char *cardvm_bin, const char *tag, char *dir, size_t dirlen);
/* dir/name, a fresh copy of dir's template, opened; fails the test when
 * it cannot be. */
void gpcard_open(gpcard *f, const char *dir, const char *name);
/* Close and open the image again (what a power cycle of the reader and a
 * new process see). */
void gpcard_reopen(gpcard *f);
/* Close the session and the image, keeping its file. */
void gpcard_close(gpcard *f);
chip *gpcard_chip(gpcard *f);
/* The AIDs GET STATUS lists for category p1 (40 applications, 20
 * packages...), as "AID AID ..." in hex; the command must answer 9000. */
void gpcard_status_list(gpcard *f, uint8_t p1, char *out, size_t cap);

#endif
