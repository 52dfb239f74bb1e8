/*
 * script_syntax.h — the syntax of `cardvm script` files (docs/scripts.md),
 * checked without a card: which commands exist, how many words each takes,
 * which words are hex of what length, and what an expectation may look
 * like. `cardvm script` checks a whole file before it sends anything, and
 * `cardvm conform` checks each suite script before it runs it and uses the
 * file's `echo` lines to cut it into checks.
 *
 * The table of commands (script_syntax.c) is the one place that knows the
 * language's words; the interpreter (cmd_script.c) gives them meaning.
 */
#ifndef CARDVM_SCRIPT_SYNTAX_H
#define CARDVM_SCRIPT_SYNTAX_H

#include <stddef.h>
#include <stdio.h>

/* The longest expectation, in items (bytes, ??, *): a whole extended
 * response, 65 536 data bytes and the status word. Lines have no length
 * limit of their own, so a `send` may carry an extended command. */
#define SCRIPT_PATTERN_MAX (65536u + 2u)

/* Checks one line (comment included, as read from the file). Returns 0 when
 * it is blank, a comment or a well-formed command; else -1 with the reason
 * in err. */
int script_syntax_line(const char *line, char *err, size_t errlen);

/* Checks a whole script text; every error goes to `report` (may be NULL) as
 * "FILE:LINE: reason". Returns the number of erroneous lines. */
unsigned script_syntax_check(const char *file, const char *text, FILE *report);

/* A check of a suite script: an `echo` line and the lines up to the next
 * one. Commands before the first echo form a check named "setup". */
typedef struct script_check {
    char name[200];
    unsigned first_line, last_line;   /* 1-based, inclusive */
} script_check;

/* Cuts text into checks; returns how many (at most cap are written). */
size_t script_checks(const char *text, script_check *out, size_t cap);

#endif
