/*
 * jca_disasm.c — CAP -> JCA (tools/jca/jca.h). Stub until written.
 */
#include "jca.h"

#include <stdio.h>

int jca_disassemble(const uint8_t *load_file, size_t len, const char *package_path, char **text, char *err,
                    size_t errlen)
{
    (void)load_file;
    (void)len;
    (void)package_path;
    *text = NULL;
    snprintf(err, errlen, "not written yet");
    return -1;
}
