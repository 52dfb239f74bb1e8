/*
 * transcript.h — the shared APDU transcripts (../shared/javacard/applets/
 * NAME/NAME.apdu, format in ../shared/javacard/README.md), parsed for the
 * tests that replay them.
 *
 *   # comment
 *   # @install INSTANCE-AID CLASS package=PKG-AID  (install parameters HEX)
 *   # @protocol T=1
 *   # reset
 *   => COMMAND                       hex, blanks allowed
 *   <= RESPONSE  # spec: ...         data then SW; ? = any one hex digit
 *
 * A `# spec:` comment on a response marks the specification's answer where
 * the simulator the transcripts were recorded on differs; the expected
 * response is the one on the line either way.
 *
 * The parser only reads; what a test does with a step (which card, which
 * channel, how the ISD answers before the first SELECT) is the test's.
 */
#ifndef CARDVM_TEST_TRANSCRIPT_H
#define CARDVM_TEST_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#define TR_MAX_INSTALLS 8

typedef struct tr_install {
    uint8_t instance[16], instance_len;
    char class_name[128];             /* "capwork.counter.CounterApplet" */
    uint8_t pkg[16], pkg_len;
    uint8_t barray[128];              /* the install bArray the JCRE passes */
    size_t barray_len;
} tr_install;

enum tr_kind { TR_RESET, TR_APDU };

typedef struct tr_step {
    enum tr_kind kind;
    unsigned line;                    /* of the "=>" line (or "# reset") */
    uint8_t *cmd;                     /* TR_APDU: the command */
    size_t cmd_len;
    char *expect;                     /* uppercase hex digits and '?', no blanks */
    int spec;                         /* the answer carries a "# spec:" note */
} tr_step;

typedef struct transcript {
    tr_install installs[TR_MAX_INSTALLS];
    unsigned n_installs;
    tr_step *steps;
    size_t n_steps;
    char protocol[8];                 /* "T=1", or "" */
} transcript;

/* 0, or -1 with "FILE:LINE: reason" in err. Free with transcript_free. */
int transcript_load(const char *path, transcript *t, char *err, size_t errlen);
void transcript_free(transcript *t);

/* 1 when the response bytes match the expected pattern (each '?' matches
 * any one hex digit), else 0. */
int transcript_match(const char *expect, const uint8_t *rsp, size_t len);

/* A command's class byte says SELECT by DF name (00 A4 04 xx on any
 * logical channel). */
int transcript_is_select(const uint8_t *cmd, size_t len);

#endif
