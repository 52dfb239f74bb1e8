/* sw_text.c — status word meanings (ISO/IEC 7816-4 5.6, GlobalPlatform
 * Card Specification 11.1.3); see sw_text.h. */
#include "sw_text.h"

#include <ctype.h>
#include <stdio.h>

typedef struct sw_entry {
    uint16_t sw;
    const char *text;
} sw_entry;

/* Exact values first (searched linearly: the table is small and read only
 * when a person is about to read a message). */
static const sw_entry exact[] = {
    {0x9000, "success"},
    {0x6200, "warning, no information given (memory unchanged)"},
    {0x6281, "part of returned data may be corrupted"},
    {0x6282, "end of file or record reached before reading Ne bytes"},
    {0x6283, "selected file deactivated"},
    {0x6284, "file control information not formatted"},
    {0x6285, "selected file in termination state"},
    {0x6300, "warning, no information given (memory changed)"},
    {0x6310, "more data available (GET STATUS)"},
    {0x6381, "file filled up by the last write"},
    {0x6400, "execution error, memory unchanged"},
    {0x6500, "execution error, memory changed"},
    {0x6581, "memory failure"},
    {0x6700, "wrong length"},
    {0x6800, "functions in CLA not supported"},
    {0x6881, "logical channel not supported"},
    {0x6882, "secure messaging not supported"},
    {0x6883, "last command of the chain expected"},
    {0x6884, "command chaining not supported"},
    {0x6900, "command not allowed"},
    {0x6981, "command incompatible with file structure"},
    {0x6982, "security status not satisfied"},
    {0x6983, "authentication method blocked"},
    {0x6984, "reference data not usable"},
    {0x6985, "conditions of use not satisfied"},
    {0x6986, "command not allowed (no current EF)"},
    {0x6987, "expected secure messaging data objects missing"},
    {0x6988, "incorrect secure messaging data objects"},
    {0x6999, "applet selection failed"},
    {0x6A00, "wrong parameters P1-P2"},
    {0x6A80, "incorrect parameters in the command data field"},
    {0x6A81, "function not supported"},
    {0x6A82, "file or application not found"},
    {0x6A83, "record not found"},
    {0x6A84, "not enough memory space"},
    {0x6A85, "Nc inconsistent with TLV structure"},
    {0x6A86, "incorrect parameters P1-P2"},
    {0x6A87, "Nc inconsistent with parameters P1-P2"},
    {0x6A88, "referenced data not found"},
    {0x6A89, "file already exists"},
    {0x6A8A, "DF name already exists"},
    {0x6B00, "wrong parameters P1-P2"},
    {0x6D00, "instruction code not supported or invalid"},
    {0x6E00, "class not supported"},
    {0x6F00, "no precise diagnosis"},
    {0x9484, "algorithm not supported"},
    {0x9485, "invalid key check value"},
};

/* SW1 alone, for values the exact table does not hold. */
static const sw_entry by_sw1[] = {
    {0x6200, "warning, state of non-volatile memory unchanged"},
    {0x6300, "warning, state of non-volatile memory changed"},
    {0x6400, "execution error, state of non-volatile memory unchanged"},
    {0x6500, "execution error, state of non-volatile memory changed"},
    {0x6600, "security-related issue"},
    {0x6700, "wrong length"},
    {0x6800, "functions in CLA not supported"},
    {0x6900, "command not allowed"},
    {0x6A00, "wrong parameters P1-P2"},
    {0x6F00, "no precise diagnosis"},
};

const char *sw_meaning(uint16_t sw)
{
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (exact[i].sw == sw) return exact[i].text;
    if ((sw & 0xFF00) == 0x6100) return "response bytes still available";
    if ((sw & 0xFF00) == 0x6C00) return "wrong Le field";
    if ((sw & 0xFFF0) == 0x63C0) return "verification failed, counter gives the tries left";
    for (size_t i = 0; i < sizeof by_sw1 / sizeof by_sw1[0]; i++)
        if (by_sw1[i].sw == (sw & 0xFF00)) return by_sw1[i].text;
    return "unknown status word";
}

char *sw_describe(uint16_t sw, char *buf, size_t n)
{
    if (!buf || n == 0) return buf;
    if ((sw & 0xFF00) == 0x6100)
        snprintf(buf, n, "%04X %u response bytes still available", sw, (sw & 0xFF) ? sw & 0xFFu : 256u);
    else if ((sw & 0xFF00) == 0x6C00)
        snprintf(buf, n, "%04X wrong Le field, %u bytes available", sw, (sw & 0xFF) ? sw & 0xFFu : 256u);
    else if ((sw & 0xFFF0) == 0x63C0)
        snprintf(buf, n, "%04X verification failed, %u tries left", sw, sw & 0x0Fu);
    else
        snprintf(buf, n, "%04X %s", sw, sw_meaning(sw));
    return buf;
}

int sw_matches(uint16_t sw, const char *pattern)
{
    if (!pattern) return -1;
    int match = 1;
    for (int i = 0; i < 4; i++) {
        int ch = (unsigned char)pattern[i];
        if (!ch) return -1;
        unsigned nibble = (sw >> (12 - 4 * i)) & 0xFu;
        if (ch == 'X' || ch == 'x') continue;
        if (!isxdigit(ch)) return -1;
        unsigned v = (unsigned)(isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10);
        if (v != nibble) match = 0;
    }
    return pattern[4] ? -1 : match;
}
