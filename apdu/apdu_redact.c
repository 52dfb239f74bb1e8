/* apdu_redact.c — masking secrets in APDU logs (see apdu_redact.h). */
#include "apdu_redact.h"

#include <stdio.h>
#include <string.h>

#include "apdu.h"

const char *apdu_secret_kind(const uint8_t *cmd, size_t len)
{
    if (!cmd || len < 5 || cmd[0] == 0xFF || apdu_cla_secure(cmd[0])) return NULL;
    uint8_t ins = cmd[1];
    int proprietary = (cmd[0] & 0x80) != 0;
    if (ins == 0xD8) return "PUT KEY";
    if (proprietary && ins == 0x14) return "UNLOCK";
    if (proprietary && (ins == 0x36 || ins == 0x38)) return "PUT KEY";
    return NULL;
}

static size_t put_hex(const uint8_t *b, size_t n, char *out, size_t cap, size_t pos)
{
    for (size_t i = 0; i < n && pos + 3 <= cap; i++) pos += (size_t)snprintf(out + pos, cap - pos, "%02X", b[i]);
    return pos;
}

size_t apdu_log_hex(const uint8_t *cmd, size_t len, size_t max_bytes, char *out, size_t cap)
{
    if (!out || cap == 0) return 0;
    out[0] = 0;
    if (!cmd) return 0;
    const char *kind = apdu_secret_kind(cmd, len);
    size_t pos = 0;
    if (kind) {
        /* Header and the Lc bytes stay; everything after them is hidden
         * (a malformed length hides all that follows the header). */
        size_t keep = 4;
        apdu_command a;
        if (apdu_parse(cmd, len, &a) == SW_OK && a.nc) keep = (size_t)(a.data - cmd);
        pos = put_hex(cmd, keep, out, cap, pos);
        int n = snprintf(out + pos, cap - pos, " <%zu bytes hidden: %s>", len - keep, kind);
        if (n > 0) pos += (size_t)n < cap - pos ? (size_t)n : cap - pos - 1;
        return pos;
    }
    size_t shown = max_bytes && len > max_bytes ? max_bytes : len;
    pos = put_hex(cmd, shown, out, cap, pos);
    if (shown < len) {
        int n = snprintf(out + pos, cap - pos, "...(%zu bytes)", len);
        if (n > 0) pos += (size_t)n < cap - pos ? (size_t)n : cap - pos - 1;
    }
    return pos;
}
