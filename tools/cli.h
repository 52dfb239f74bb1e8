/*
 * cli.h — what the `cardvm` subcommands share: the command table entry, the
 * common options (--trace, --reader), and opening the card a command names.
 *
 * Every subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * subcommand's name; it returns the process exit status, one of cli_exit
 * (the table users read is in docs/cli.md).
 */
#ifndef CARDVM_CLI_H
#define CARDVM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "transport.h"

/* Exit statuses of every subcommand (docs/cli.md, "Exit codes"). */
enum cli_exit {
    CLI_EXIT_OK = 0,        /* success */
    CLI_EXIT_FAILURE = 1,   /* another failure, explained on stderr */
    CLI_EXIT_USAGE = 2,     /* bad command line: unknown option, wrong or missing value */
    CLI_EXIT_IO = 3,        /* a file could not be read or written (path and reason printed) */
    CLI_EXIT_CARD = 4,      /* the card answered otherwise than required (e.g. send --expect) */
    CLI_EXIT_READER = 5,    /* the card or reader could not be reached (PC/SC, no response) */
};

/* The APDU trace stream chosen by the global --trace option, or NULL. */
FILE *cli_trace(void);
void cli_set_trace(FILE *f);

/* Names and source lines for the trace's account of a failed applet call
 * (transport_set_debug): the Debug components of the CAP files named by
 * the global --debug-cap option, and of those a command loads (`gp --load`,
 * a script's `load`). cli_debug_add_cap ignores a CAP without one. */
struct cap_debug;
const struct cap_debug *cli_debug_info(void);
void cli_debug_add_cap(const char *path);
/* The --debug-cap files as absolute paths joined by ':' ("" when none). */
const char *cli_debug_cap_list(void);

/* Open the card named by `image` (in process) or, when `reader` is not NULL,
 * the PC/SC reader; applies --trace. Prints the error and returns NULL on
 * failure. */
transport *cli_open_card(const char *image, const char *reader);

/* Read a whole file (or pipe) into a malloc'ed buffer with a NUL after the
 * last byte, so text callers can use it as a string. NULL when it cannot be
 * read or is larger than CLI_FILE_MAX; *len is the byte count. */
#define CLI_FILE_MAX (64u * 1024u * 1024u)
uint8_t *cli_read_file(const char *path, size_t *len);

/* Read a package file as the card receives it: a CAP file (zip) gives its
 * load file (the components in load order, tools/cap/cap_file.h); a file
 * that already is a load file (components, no zip) is taken as it is.
 * Anything else is refused: NULL with the reason in err. */
uint8_t *cli_read_package(const char *path, size_t *len, char *err, size_t errlen);

/* The options of `asm` and `disasm`: IN, -o OUT, --verify, --help. Returns
 * -1 when the command should go on, else the exit status (usage printed). */
int cli_parse_in_out(int argc, char **argv, void (*usage)(FILE *), const char **in, const char **out,
                     int *verify);

/* Print "cardvm CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

/* Parse an unsigned size with optional K/M suffix (1024-based). */
int cli_parse_size(const char *s, unsigned long *out);

#endif
