/*
 * script_run.h — the `cardvm script` language (docs/scripts.md), one line at
 * a time, against a transport. Shared by `cardvm script` and `cardvm tear`
 * (which adds its own `tear`, `end` and `check` lines around these).
 *
 * The caller owns the runner: script_runner_init, then for each line set
 * `line` (for messages) and call script_run_line, then script_runner_free.
 * A line that fails (unmet expectation, card error) returns -1 after a
 * FILE:LINE message on `err`.
 */
#ifndef CARDVM_SCRIPT_RUN_H
#define CARDVM_SCRIPT_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gp_host.h"
#include "transport.h"

#define SCRIPT_MAX_PATHS 8

typedef struct script_runner {
    const char *file;
    char dir[1024];
    const char *paths[SCRIPT_MAX_PATHS];
    int npaths;
    unsigned line;
    gp_session gp;
    transport *t;
    int verbose;
    uint8_t isd[16];
    size_t isd_len;
    uint8_t *rsp;            /* 65536 + 4 bytes */
    FILE *err;               /* failures are printed here; NULL: silent */
} script_runner;

/* Bind a runner to a transport. `file` names the script (messages, and the
 * directory load files are looked up in). 0, or -1 out of memory. */
int script_runner_init(script_runner *s, const char *file, transport *t, int verbose, FILE *err);
void script_runner_free(script_runner *s);
/* Run one line (the text is modified: comments and words are cut in place). */
int script_run_line(script_runner *s, char *line);

#endif
