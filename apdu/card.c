/*
 * card.c — the card object: power, ATR, the T=1 response handling of
 * ISO 7816-4 (61xx / GET RESPONSE, 6Cxx), per-APDU commit, and dispatch to
 * the card's operating software.
 */
#include "card.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "apdu.h"
#include "card_os.h"

/* The response the transport could not carry in one piece. */
typedef struct held_response {
    uint8_t *data;
    uint32_t len;          /* bytes still to deliver */
    uint32_t off;
    uint16_t sw;           /* the application's final status word */
    int active;
    /* For 6Cxx: the command whose Le was wrong, re-sendable with Le = len. */
    uint8_t *cmd;
    size_t cmd_len;
    int wrong_le;
} held_response;

struct card {
    chip *chip;
    uint8_t atr[CARD_ATR_MAX];
    size_t atr_len;
    int powered;
    FILE *trace;
    uint8_t *out;          /* CARD_MAX_RESPONSE bytes: the OS writes here */
    held_response held;
    card_os *os;
};

chip *card_chip(card *c) { return c->chip; }
struct vm_runtime *card_vm(card *c) { return c->os ? card_os_vm(c->os) : NULL; }
void card_set_trace(card *c, FILE *trace) { c->trace = trace; }
int card_is_powered(const card *c) { return c->powered; }

int card_from_chip(chip *ch, card **out) { return card_from_chip_trusting(ch, NULL, out); }

int card_from_chip_trusting(chip *ch, struct vm_rom_trust *trust, card **out)
{
    card *c = calloc(1, sizeof *c);
    if (!c) return CHIP_ERR_NOMEM;
    c->out = malloc(CARD_MAX_RESPONSE);
    c->held.data = malloc(CARD_MAX_RESPONSE);
    c->held.cmd = malloc(APDU_MAX_COMMAND);
    if (!c->out || !c->held.data || !c->held.cmd) {
        free(c->out);
        free(c->held.data);
        free(c->held.cmd);
        free(c);
        return CHIP_ERR_NOMEM;
    }
    c->chip = ch;
    int rc = card_os_attach_trusting(ch, trust, &c->os);
    if (rc) {
        free(c->out);
        free(c->held.data);
        free(c->held.cmd);
        free(c);
        return rc;
    }
    card_os_atr(c->os, c->atr, &c->atr_len);
    *out = c;
    return CHIP_OK;
}

int card_open(const char *path, card **out, char *err, size_t errlen)
{
    return card_open_ex(path, 0, out, err, errlen);
}

int card_open_ex(const char *path, unsigned chip_flags, card **out, char *err, size_t errlen)
{
    chip *ch;
    int rc = chip_open_ex(path, chip_flags, NULL, &ch, err, errlen);
    if (rc) return rc;
    rc = card_from_chip(ch, out);
    if (rc) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, chip_strerror(rc));
        chip_close(ch);
    }
    return rc;
}

void card_close(card *c)
{
    if (!c) return;
    card_os_detach(c->os);
    chip_close(c->chip);
    free(c->out);
    free(c->held.data);
    free(c->held.cmd);
    free(c);
}

static void drop_held(card *c)
{
    if (c->held.active) memset(c->held.data, 0, c->held.off + c->held.len);
    c->held.active = 0;
    c->held.wrong_le = 0;
    c->held.len = c->held.off = 0;
}

int card_power(card *c, enum card_reset kind, uint8_t *atr, size_t *atr_len)
{
    /* cold and warm reset both clear RAM and end every session; the first
     * power-on takes the image's writer lock, which may be held elsewhere */
    drop_held(c);
    int rc = chip_acquire(c->chip);
    if (!rc) rc = chip_power_on(c->chip);
    if (rc) {
        c->powered = 0;
        if (c->trace) fprintf(c->trace, "power-on failed: %s\n", chip_error(c->chip));
        return rc;
    }
    card_os_reset(c->os);
    c->powered = 1;
    if (atr) memcpy(atr, c->atr, c->atr_len);
    if (atr_len) *atr_len = c->atr_len;
    if (c->trace) fprintf(c->trace, "ATR %s reset\n", kind == CARD_COLD ? "cold" : "warm");
    return 0;
}

void card_power_off(card *c)
{
    drop_held(c);
    c->powered = 0;
    /* Whatever was not committed is lost with the power; the writer lock is
     * released (a lab-mode card is saved first). */
    chip_power_off(c->chip);
}

static void trace_bytes(card *c, const char *dir, const uint8_t *b, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    fprintf(c->trace, "%02d:%02d:%02d.%06ld %s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
            (long)tv.tv_usec, dir);
    for (size_t i = 0; i < n; i++) fprintf(c->trace, "%02X", b[i]);
    fputc('\n', c->trace);
    fflush(c->trace);
}

static size_t put_sw(uint8_t *p, uint16_t sw)
{
    p[0] = (uint8_t)(sw >> 8);
    p[1] = (uint8_t)sw;
    return 2;
}

/* Deliver up to `room` bytes of the held response, then 61xx or the final SW. */
static size_t deliver_held(card *c, uint32_t room, uint8_t *rsp)
{
    uint32_t n = c->held.len < room ? c->held.len : room;
    memcpy(rsp, c->held.data + c->held.off, n);
    c->held.off += n;
    c->held.len -= n;
    if (c->held.len) {
        uint32_t more = c->held.len > 255 ? 0 : c->held.len;  /* 6100: 256 or more */
        return n + put_sw(rsp + n, (uint16_t)(SW_BYTES_REMAINING | more));
    }
    uint16_t sw = c->held.sw;
    drop_held(c);
    return n + put_sw(rsp + n, sw);
}

static int is_get_response(const apdu_command *a)
{
    return a->ins == 0xC0 && (a->cla & 0xFC) == 0x00 && a->p1 == 0 && a->p2 == 0 && a->iso_case <= 2;
}

static size_t respond(card *c, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t cap)
{
    apdu_command parsed;
    uint16_t sw = apdu_parse(cmd, cmd_len, &parsed);
    if (sw != SW_OK) {
        /* Malformed: still the OS's to judge (card_os.h), never a response. */
        drop_held(c);
        size_t out_len = 0;   /* a malformed command gets no data */
        sw = card_os_process(c->os, cmd, cmd_len, NULL, c->out, CARD_MAX_RESPONSE - 2, &out_len);
        if (!chip_is_powered(c->chip)) return 0;
        if (chip_is_dirty(c->chip) && chip_commit(c->chip) != CHIP_OK) {
            chip_rollback(c->chip);
            sw = SW_MEMORY_FAILURE;
        }
        memset(c->out, 0, out_len);
        return put_sw(rsp, apdu_sw_is_success(sw) ? SW_WRONG_LENGTH : sw);
    }
    const apdu_command a = parsed;
    uint32_t room = (uint32_t)((cap - 2) < CARD_MAX_RESPONSE - 2 ? cap - 2 : CARD_MAX_RESPONSE - 2);

    if (c->held.active && !c->held.wrong_le && is_get_response(&a)) {
        uint32_t want = a.ne ? a.ne : 256u;
        return deliver_held(c, want < room ? want : room, rsp);
    }
    /* A 6Cxx answer is settled by the same command with the exact Le: the
     * held response is delivered, the command is not executed again. */
    if (c->held.active && c->held.wrong_le && cmd_len == c->held.cmd_len &&
        memcmp(cmd, c->held.cmd, cmd_len - 1) == 0 && a.ne == c->held.len && a.ne <= room) {
        return deliver_held(c, a.ne, rsp);
    }
    drop_held(c);
    if (is_get_response(&a)) return put_sw(rsp, SW_CONDITIONS_NOT_SATISFIED);

    size_t out_len = 0;
    sw = card_os_process(c->os, cmd, cmd_len, &a, c->out, CARD_MAX_RESPONSE - 2, &out_len);
    if (!chip_is_powered(c->chip)) return 0;   /* power cut mid-command: mute */

    if (chip_is_dirty(c->chip) && chip_commit(c->chip) != CHIP_OK) {
        chip_rollback(c->chip);
        memset(c->out, 0, out_len);
        return put_sw(rsp, SW_MEMORY_FAILURE);
    }
    if (!apdu_sw_is_success(sw)) out_len = 0;
    if (out_len == 0) return put_sw(rsp, sw);

    uint32_t ne = a.ne;
    if (ne >= out_len && room >= out_len) {
        memcpy(rsp, c->out, out_len);
        memset(c->out, 0, out_len);
        return out_len + put_sw(rsp + out_len, sw);
    }
    /* The response does not fit what was asked for or what the transport
     * takes: hold it for GET RESPONSE (or the re-sent command, for 6Cxx). */
    memcpy(c->held.data, c->out, out_len);
    memset(c->out, 0, out_len);
    c->held.active = 1;
    c->held.off = 0;
    c->held.len = (uint32_t)out_len;
    c->held.sw = sw;
    if (ne != 0 && !a.extended && out_len <= 256 && ne < out_len && out_len <= room) {
        c->held.wrong_le = 1;
        memcpy(c->held.cmd, cmd, cmd_len);
        c->held.cmd_len = cmd_len;
        return put_sw(rsp, (uint16_t)(SW_CORRECT_LENGTH | (out_len & 0xFF)));
    }
    if (ne == 0) {
        uint32_t more = out_len > 255 ? 0 : (uint32_t)out_len;
        return put_sw(rsp, (uint16_t)(SW_BYTES_REMAINING | more));
    }
    return deliver_held(c, ne < room ? ne : room, rsp);
}

int card_transmit(card *c, const uint8_t *cmd, size_t cmd_len,
                  uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    if (!c->powered || !chip_is_powered(c->chip)) return CHIP_ERR_POWER;
    if (cap < 2) return CHIP_ERR_ARG;
    if (c->trace) trace_bytes(c, ">", cmd, cmd_len);
    size_t n = respond(c, cmd, cmd_len, rsp, cap);
    if (n == 0) {
        /* The command did not finish: like a card pulled from the field. */
        c->powered = 0;
        drop_held(c);
        if (c->trace) fprintf(c->trace, "power lost during command\n");
        return CHIP_ERR_POWER;
    }
    *rsp_len = n;
    if (c->trace) trace_bytes(c, "<", rsp, n);
    return 0;
}
