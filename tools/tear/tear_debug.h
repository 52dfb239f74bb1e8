/*
 * tear_debug.h — source lines for a writer (package, method, pc) from the
 * Debug components of the CAP files a tearing script loads (JCVM 3.0.5
 * §6.14: per class its source file, per method its Method component offset
 * and a line table of [start_pc, end_pc] -> source line). Host side only:
 * the card never receives the Debug component.
 */
#ifndef CARDVM_TEAR_DEBUG_H
#define CARDVM_TEAR_DEBUG_H

#include <stddef.h>
#include <stdint.h>

typedef struct tear_debug_line {
    uint8_t aid[16], aid_len;  /* package */
    uint16_t method;           /* Method component offset of the method_info */
    uint16_t start_pc, end_pc; /* inclusive */
    uint16_t line;
    const char *source;        /* source file name, owned by the table */
} tear_debug_line;

typedef struct tear_debug {
    tear_debug_line *lines;
    size_t n, cap;
    char **sources;
    size_t n_sources;
} tear_debug;

/* Add the line tables of a CAP file's Debug component (zip bytes). A CAP
 * without one adds nothing. 0, or -1 on a malformed component / memory. */
int tear_debug_add_cap(tear_debug *d, const uint8_t *zip, size_t len);
/* The narrowest line entry covering pc, or NULL. */
const tear_debug_line *tear_debug_find(const tear_debug *d, const uint8_t *aid, size_t aid_len, uint16_t method,
                                       uint16_t pc);
void tear_debug_free(tear_debug *d);

#endif
