/*
 * transport_pcsc.c — a transport (transport_impl.h) to a card in a PC/SC
 * reader, through libpcsclite. See transport_pcsc.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "transport_impl.h"
#include "transport_pcsc.h"

/* How long to wait for the card of a reader that exists but looks empty:
 * a pcscd that just started (or a card image just created) is seen at the
 * next presence poll, about 400 ms later. */
#define PCSC_CARD_WAIT_MS 2000

typedef struct pcsc_impl {
    SCARDCONTEXT context;
    SCARDHANDLE card;
    DWORD protocol;                 /* SCARD_PROTOCOL_T1 or _T0 */
    char reader[MAX_READERNAME];
    unsigned char atr[MAX_ATR_SIZE];
    size_t atr_len;
} pcsc_impl;

static const char *pcsc_reason(LONG rv) { return pcsc_stringify_error(rv); }

/* Messages may be cut at the buffer's end; that is fine for an error line. */
static void set_message(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_message(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static const SCARD_IO_REQUEST *pci_of(DWORD protocol)
{
    return protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
}

/* The ATR and the protocol of the current connection. */
static LONG refresh_status(pcsc_impl *p)
{
    char name[256];
    DWORD name_len = sizeof name, state = 0, protocol = 0, atr_len = sizeof p->atr;
    LONG rv = SCardStatus(p->card, name, &name_len, &state, &protocol, p->atr, &atr_len);
    if (rv != SCARD_S_SUCCESS) return rv;
    p->atr_len = atr_len;
    p->protocol = protocol;
    return SCARD_S_SUCCESS;
}

static int pcsc_transmit(transport *t, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    pcsc_impl *p = t->impl;
    /* libpcsclite refuses receive buffers larger than its extended maximum. */
    DWORD recv_len = cap > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED : (DWORD)cap;
    SCARD_IO_REQUEST recv_pci;
    LONG rv = SCardTransmit(p->card, pci_of(p->protocol), cmd, (DWORD)len, &recv_pci, rsp, &recv_len);
    if (rv != SCARD_S_SUCCESS) {
        set_message(t->error, sizeof t->error, "%s: %s", p->reader, pcsc_reason(rv));
        return -1;
    }
    if (recv_len < 2) {
        set_message(t->error, sizeof t->error, "%s: response of %lu bytes has no status word", p->reader,
                 (unsigned long)recv_len);
        return -1;
    }
    *rsp_len = recv_len;
    return 0;
}

static int pcsc_atr(transport *t, uint8_t *atr, size_t *len)
{
    pcsc_impl *p = t->impl;
    memcpy(atr, p->atr, p->atr_len);
    *len = p->atr_len;
    return 0;
}

static int pcsc_reset(transport *t, int cold)
{
    pcsc_impl *p = t->impl;
    DWORD active = 0;
    LONG rv = SCardReconnect(p->card, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                             cold ? SCARD_UNPOWER_CARD : SCARD_RESET_CARD, &active);
    if (rv == SCARD_S_SUCCESS) rv = refresh_status(p);
    if (rv != SCARD_S_SUCCESS) {
        set_message(t->error, sizeof t->error, "%s: reset: %s", p->reader, pcsc_reason(rv));
        return -1;
    }
    return 0;
}

static struct card *pcsc_card(transport *t)
{
    (void)t;
    return NULL;
}

static void pcsc_close(transport *t)
{
    pcsc_impl *p = t->impl;
    if (!p) return;
    /* Leave the card powered for the next client, as PC/SC tools usually do;
     * its state is committed after every APDU anyway. */
    if (p->card) SCardDisconnect(p->card, SCARD_LEAVE_CARD);
    if (p->context) SCardReleaseContext(p->context);
    free(p);
    t->impl = NULL;
}

static const struct transport_ops pcsc_ops = {
    .kind = "reader",
    .transmit = pcsc_transmit,
    .atr = pcsc_atr,
    .reset = pcsc_reset,
    .card = pcsc_card,
    .close = pcsc_close,
};

/* Pick the reader: exact name, else the one name with that prefix. */
static int choose_reader(const char *names, const char *wanted, char *out, size_t cap, char *err, size_t errlen)
{
    size_t wanted_len = strlen(wanted);
    const char *prefix_match = NULL;
    int prefix_matches = 0;
    for (const char *n = names; *n; n += strlen(n) + 1) {
        if (strcmp(n, wanted) == 0) {
            snprintf(out, cap, "%s", n);
            return 0;
        }
        if (strncmp(n, wanted, wanted_len) == 0) {
            prefix_match = n;
            prefix_matches++;
        }
    }
    if (prefix_matches == 1) {
        snprintf(out, cap, "%s", prefix_match);
        return 0;
    }
    size_t used = (size_t)snprintf(err, errlen, prefix_matches ? "reader \"%s\" is ambiguous; readers:"
                                                               : "no reader \"%s\"; readers:", wanted);
    for (const char *n = names; *n && used < errlen; n += strlen(n) + 1)
        used += (size_t)snprintf(err + used, errlen - used, " \"%s\"", n);
    return -1;
}

/* Wait until the reader shows a card (or the timeout). */
static void wait_for_card(SCARDCONTEXT ctx, const char *reader)
{
    SCARD_READERSTATE state;
    memset(&state, 0, sizeof state);
    state.szReader = reader;
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    if (SCardGetStatusChange(ctx, 0, &state, 1) != SCARD_S_SUCCESS) return;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!(state.dwEventState & SCARD_STATE_PRESENT)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed_ms >= PCSC_CARD_WAIT_MS) return;
        state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
        LONG rv = SCardGetStatusChange(ctx, (DWORD)(PCSC_CARD_WAIT_MS - elapsed_ms), &state, 1);
        if (rv != SCARD_S_SUCCESS) return;
    }
}

int transport_pcsc_open(const char *reader, transport **out, char *err, size_t errlen)
{
    transport *t = calloc(1, sizeof *t);
    pcsc_impl *p = calloc(1, sizeof *p);
    if (!t || !p) {
        free(t);
        free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->ops = &pcsc_ops;
    t->impl = p;

    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->context);
    if (rv != SCARD_S_SUCCESS) {
        p->context = 0;
        snprintf(err, errlen, "pcscd: %s", pcsc_reason(rv));
        goto fail;
    }
    char *names = NULL;
    DWORD names_len = SCARD_AUTOALLOCATE;
    rv = SCardListReaders(p->context, NULL, (LPSTR)&names, &names_len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        snprintf(err, errlen, "pcscd has no readers");
        goto fail;
    }
    if (rv != SCARD_S_SUCCESS) {
        snprintf(err, errlen, "pcscd: list readers: %s", pcsc_reason(rv));
        goto fail;
    }
    int chosen = choose_reader(names, reader, p->reader, sizeof p->reader, err, errlen);
    SCardFreeMemory(p->context, names);
    if (chosen != 0) goto fail;

    wait_for_card(p->context, p->reader);
    DWORD active = 0;
    rv = SCardConnect(p->context, p->reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &p->card,
                      &active);
    if (rv != SCARD_S_SUCCESS) {
        p->card = 0;
        set_message(err, errlen, "%s: %s", p->reader, pcsc_reason(rv));
        goto fail;
    }
    rv = refresh_status(p);
    if (rv != SCARD_S_SUCCESS) {
        set_message(err, errlen, "%s: status: %s", p->reader, pcsc_reason(rv));
        goto fail;
    }
    *out = t;
    return 0;

fail:
    pcsc_close(t);
    free(t);
    return -1;
}

int transport_pcsc_list(FILE *f, char *err, size_t errlen)
{
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        snprintf(err, errlen, "pcscd: %s", pcsc_reason(rv));
        return -1;
    }
    char *names = NULL;
    DWORD names_len = SCARD_AUTOALLOCATE;
    rv = SCardListReaders(ctx, NULL, (LPSTR)&names, &names_len);
    if (rv != SCARD_S_SUCCESS) {
        snprintf(err, errlen, rv == SCARD_E_NO_READERS_AVAILABLE ? "pcscd has no readers" : "pcscd: %s",
                 pcsc_reason(rv));
        SCardReleaseContext(ctx);
        return -1;
    }
    for (const char *n = names; *n; n += strlen(n) + 1) {
        SCARD_READERSTATE state;
        memset(&state, 0, sizeof state);
        state.szReader = n;
        state.dwCurrentState = SCARD_STATE_UNAWARE;
        int present = SCardGetStatusChange(ctx, 0, &state, 1) == SCARD_S_SUCCESS &&
                      (state.dwEventState & SCARD_STATE_PRESENT);
        fprintf(f, "%s\t%s\n", n, present ? "card" : "empty");
    }
    SCardFreeMemory(ctx, names);
    SCardReleaseContext(ctx);
    return 0;
}
