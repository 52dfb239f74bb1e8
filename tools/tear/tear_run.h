/*
 * tear_run.h — a tearing campaign over a user's script (`cardvm tear`,
 * docs/tearing.md).
 *
 * Who owns what. The script language is tools/script/script_run.c; this
 * module only adds three lines of its own (`tear`, `end`, `check APDU`),
 * decides where to cut, and observes. The card is the real one (apdu/card.h
 * over an in-memory copy of the user's image, restored before every run);
 * the chip's tear injection (persist/chip.h: power cut after the k-th NVM
 * page write) makes the cut, and the VM's NVM store hook (vm.h,
 * vm_set_nvm_hook) says which bytecode was writing.
 *
 * A run of the campaign:
 *   1. one reference run counts the NVM page writes of every torn command
 *      (a command between `tear` and `end`) and records the store behind
 *      each write;
 *   2. for every writing command, its before-state and after-state: replay
 *      the script up to (resp. through) the command, power-cycle, SELECT the
 *      applet selected at that point, send every `check` APDU; the answers
 *      are the state;
 *   3. for every write index k (all of them, or --max-points evenly spread):
 *      replay up to the command, arm a cut after k writes, send it, power on,
 *      run the checks; a state that is neither the before- nor the
 *      after-state is "torn".
 *   4. optionally (resets): for each boundary between two commands of a
 *      tear block, a cold reset there, then the rest of the block, then the
 *      checks; the state must be the block's before- or after-state.
 *
 * What a cut leaves (the EEPROM model, see docs/tearing.md): a persistent
 * store made outside a transaction is durable once it completed (the hook
 * makes it so: chip_commit before and after every such store), a store cut
 * in the middle is lost whole (JCRE 7.7 single-field atomicity), and every
 * store of an open transaction is rolled back at power-on (JCRE 7.6). The
 * card's own per-APDU commit is kept for everything else.
 *
 * Everything a campaign needs is in its tear_campaign object: no globals.
 */
#ifndef CARDVM_TEAR_RUN_H
#define CARDVM_TEAR_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One line of the script, as the campaign sees it. */
enum tear_line_kind { TEAR_LINE_SCRIPT, TEAR_LINE_CHECK };

typedef struct tear_line {
    unsigned lineno;           /* 1-based, in the script file */
    enum tear_line_kind kind;
    char *text;                /* without comment; never modified */
    int torn;                  /* inside a tear ... end block */
    int block;                 /* which block (1-based), 0 outside */
    int sel;                   /* index of the `select AID` line in effect, -1 none */
} tear_line;

/* Who made the write a cut landed in. */
typedef struct tear_writer {
    int known;                 /* 0: not a bytecode store (allocation, JCRE) */
    uint8_t pkg_aid[16], pkg_aid_len;
    uint16_t method, pc;       /* Method component offset, bytecode offset */
    int source_line;           /* from the CAP's Debug component, -1 unknown */
    const char *source_file;   /* likewise (owned by the campaign), or NULL */
    uint8_t tx_depth;
} tear_writer;

/* A state other than before/after, and the cut points that reached it. */
typedef struct tear_state {
    char *answers;             /* the checks' answers, hex, '|' between */
    uint32_t *points;          /* write indexes */
    tear_writer *writers;      /* per point */
    size_t n_points;
} tear_state;

/* A writing command of a tear block, and what its cuts left. */
typedef struct tear_command {
    size_t line;               /* index into campaign.lines */
    uint32_t writes;           /* NVM page writes of the uncut command */
    char *before, *after;      /* states (answers) */
    uint32_t n_before, n_after, n_other, n_points;
    tear_state *states;        /* the other states */
    size_t n_states;
    int reset_point;           /* 1: a reset after this command (resets mode) */
} tear_command;

typedef struct tear_options {
    uint32_t max_points;       /* 0: every write index */
    int resets;                /* also reset between the commands of a block */
    const char *paths[8];      /* -I: where load files are looked up */
    int npaths;
} tear_options;

typedef struct tear_campaign {
    const char *script_file;
    const char *image_file;
    tear_options opt;
    tear_line *lines;
    size_t n_lines;
    size_t n_checks;
    tear_command *cmds;        /* writing commands, then reset points */
    size_t n_cmds;
    uint64_t runs;             /* card runs made (each replays the script) */
    uint64_t points;           /* cut points tried */
    double seconds;
    void *priv;                /* the image copy and the CAP debug tables */
} tear_campaign;

/* Parse the script (and its load files' Debug components). 0, or -1 with a
 * FILE:LINE message on `err` (a usage error: exit status 2). */
int tear_campaign_init(tear_campaign *tc, const char *script_file, const char *image_file,
                       const tear_options *opt, FILE *err);
/* Run it. 0 when the campaign ran (torn or not), -1 when the script itself
 * fails uncut (message on `err`). */
int tear_campaign_run(tear_campaign *tc, FILE *err);
void tear_campaign_free(tear_campaign *tc);

/* Number of torn states over all commands (the exit status is 1 when > 0). */
size_t tear_campaign_torn(const tear_campaign *tc);

/* Reports (tear_report.c). */
void tear_report_text(const tear_campaign *tc, FILE *f);
int tear_report_json(const tear_campaign *tc, FILE *f);
int tear_report_junit(const tear_campaign *tc, FILE *f);

#endif
