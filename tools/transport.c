/*
 * transport.c — the dispatching half of transport.h, the APDU trace, and the
 * in-process implementation (a card image opened with card.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "apdu.h"
#include "apdu_redact.h"
#include "card.h"
#include "transport_impl.h"
#ifdef CARDVM_HAVE_PCSC_TRANSPORT
#include "transport_pcsc.h"
#endif

/* ---- trace ---- */
static void trace_prefix(FILE *f, const char *dir)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    fprintf(f, "%02d:%02d:%02d.%06ld %s ", tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, dir);
}

static void trace_line(FILE *f, const char *dir, const uint8_t *b, size_t n)
{
    trace_prefix(f, dir);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02X", b[i]);
    fputc('\n', f);
    fflush(f);
}

/* Commands are traced through apdu_log_hex: the data of a command that
 * carries secrets in clear (UNLOCK, PUT KEY outside a channel) is hidden. */
static void trace_command(FILE *f, const uint8_t *b, size_t n)
{
    char line[2 * 65536 + 128];
    apdu_log_hex(b, n, 0, line, sizeof line);
    trace_prefix(f, "=>");
    fprintf(f, "%s\n", line);
    fflush(f);
}

int transport_transmit(transport *t, const uint8_t *cmd, size_t len,
                       uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    if (t->trace) trace_command(t->trace, cmd, len);
    t->error[0] = 0;
    int rc = t->ops->transmit(t, cmd, len, rsp, cap, rsp_len);
    if (t->trace) {
        if (rc == 0) trace_line(t->trace, "<=", rsp, *rsp_len);
        else fprintf(t->trace, "<= error: %s\n", t->error);
    }
    return rc;
}

int transport_atr(transport *t, uint8_t *atr, size_t *len) { return t->ops->atr(t, atr, len); }

int transport_reset(transport *t, int cold)
{
    int rc = t->ops->reset(t, cold);
    if (t->trace && rc == 0) {
        uint8_t atr[33];
        size_t n = 0;
        if (t->ops->atr(t, atr, &n) == 0) trace_line(t->trace, cold ? "ATR (cold)" : "ATR (warm)", atr, n);
    }
    return rc;
}

void transport_set_trace(transport *t, FILE *f) { t->trace = f; }
const char *transport_error(const transport *t) { return t->error; }
struct card *transport_card(transport *t) { return t->ops->card ? t->ops->card(t) : NULL; }

void transport_close(transport *t)
{
    if (!t) return;
    t->ops->close(t);
    free(t);
}

int transport_open_reader(const char *reader, transport **out, char *err, size_t errlen)
{
#ifdef CARDVM_HAVE_PCSC_TRANSPORT
    return transport_pcsc_open(reader, out, err, errlen);
#else
    (void)out;
    snprintf(err, errlen, "reader %s: this cardvm was built without PC/SC support", reader);
    return -1;
#endif
}

/* ---- in process ---- */
typedef struct image_impl {
    card *card;
    uint8_t atr[CARD_ATR_MAX];
    size_t atr_len;
    char commit_error[400];    /* first failed commit: "PATH: what: system error" */
} image_impl;

static int image_transmit(transport *t, const uint8_t *cmd, size_t len,
                          uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    image_impl *im = t->impl;
    int rc = card_transmit(im->card, cmd, len, rsp, cap, rsp_len);
    if (rc) snprintf(t->error, sizeof t->error, "card mute: %s", chip_strerror(rc));
    /* 6581 with a chip error: the card's commit failed (disk full, I/O
     * error) and was rolled back. The card can only say 6581; the system
     * error is kept for the command to report. */
    const char *ce = chip_error(card_chip(im->card));
    if (!rc && *rsp_len >= 2 && rsp[*rsp_len - 2] == 0x65 && rsp[*rsp_len - 1] == 0x81 && ce[0] &&
        !im->commit_error[0])
        snprintf(im->commit_error, sizeof im->commit_error, "%s", ce);
    return rc;
}

static int image_atr(transport *t, uint8_t *atr, size_t *len)
{
    image_impl *im = t->impl;
    memcpy(atr, im->atr, im->atr_len);
    *len = im->atr_len;
    return 0;
}

static int image_reset(transport *t, int cold)
{
    image_impl *im = t->impl;
    return card_power(im->card, cold ? CARD_COLD : CARD_WARM, im->atr, &im->atr_len);
}

static struct card *image_card(transport *t) { return ((image_impl *)t->impl)->card; }


static void image_close(transport *t)
{
    image_impl *im = t->impl;
    card_close(im->card);
    free(im);
}

static const struct transport_ops image_ops = {
    .kind = "image",
    .transmit = image_transmit,
    .atr = image_atr,
    .reset = image_reset,
    .card = image_card,
    .close = image_close,
};

const char *transport_commit_error(const transport *t)
{
    return t->ops == &image_ops ? ((const image_impl *)t->impl)->commit_error : "";
}

int transport_open_card(struct card *c, transport **out)
{
    transport *t = calloc(1, sizeof *t);
    image_impl *im = calloc(1, sizeof *im);
    if (!t || !im) {
        free(t);
        free(im);
        return -1;
    }
    im->card = c;
    card_power(im->card, CARD_COLD, im->atr, &im->atr_len);
    t->ops = &image_ops;
    t->impl = im;
    *out = t;
    return 0;
}

int transport_open_image(const char *image, transport **out, char *err, size_t errlen)
{
    transport *t = calloc(1, sizeof *t);
    image_impl *im = calloc(1, sizeof *im);
    if (!t || !im) {
        free(t);
        free(im);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (card_open(image, &im->card, err, errlen) != 0) {
        free(t);
        free(im);
        return -1;
    }
    if (card_power(im->card, CARD_COLD, im->atr, &im->atr_len) != 0) {
        snprintf(err, errlen, "%s", chip_error(card_chip(im->card)));
        card_close(im->card);
        free(t);
        free(im);
        return -1;
    }
    t->ops = &image_ops;
    t->impl = im;
    *out = t;
    return 0;
}
