/*
 * transport_impl.h — the inside of a `transport` (tools/transport.h), shared
 * by the two implementations:
 *
 *   tools/transport.c        in process: the card image opened with card.h
 *   tools/transport_pcsc.c   through pcscd: libpcsclite, SCardTransmit
 *
 * A transport is a small object with a table of operations (a vtable). The
 * public functions of transport.h are thin dispatchers written once in
 * transport.c:
 *
 *   int transport_transmit(transport *t, cmd, len, rsp, cap, rsp_len)
 *   {
 *       trace the command (t->trace)          -- same log format both ways
 *       rc = t->ops->transmit(t, cmd, len, rsp, cap, rsp_len);
 *       trace the response or t->error
 *       return rc;
 *   }
 *   int  transport_atr(t, atr, len)   -> t->ops->atr(t, atr, len)
 *   int  transport_reset(t, cold)     -> t->ops->reset(t, cold)
 *   card *transport_card(t)           -> t->ops->card ? t->ops->card(t) : NULL
 *   void transport_set_trace(t, f)    -> t->trace = f
 *   void transport_close(t)           -> t->ops->close(t); free(t);
 *   int  transport_open_reader(name, out, err, errlen)
 *                                     -> transport_pcsc_open(name, out, err, errlen)
 *
 * Ownership: the opener allocates the struct transport with calloc() and
 * fills `ops` and `impl`. ops->close releases `impl` and whatever it holds
 * (the PC/SC context, the card object) but not the struct itself, which
 * transport_close() frees. Tracing lives in transport.c only, so the two
 * implementations never print anything themselves.
 */
#ifndef CARDVM_TRANSPORT_IMPL_H
#define CARDVM_TRANSPORT_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "transport.h"

struct card;
struct cap_debug;

/* Size of transport.error, the text of the last failure. */
#define TRANSPORT_ERROR_MAX 256u

struct transport_ops {
    /* "image" or "reader": for messages and for commands that care. */
    const char *kind;
    /* One command APDU in, response APDU (data || SW1 SW2) out. 0 on
     * success; otherwise nonzero and t->error says why (card mute, reader
     * gone, card removed...). */
    int (*transmit)(struct transport *t, const uint8_t *cmd, size_t len,
                    uint8_t *rsp, size_t cap, size_t *rsp_len);
    /* ATR of the last power-on or reset (at most 33 bytes). */
    int (*atr)(struct transport *t, uint8_t *atr, size_t *len);
    /* cold != 0: power cycle; cold == 0: warm reset. RAM is cleared either
     * way. 0 on success, else nonzero with t->error set. */
    int (*reset)(struct transport *t, int cold);
    /* The in-process card object, or NULL (a reader; may itself be NULL). */
    struct card *(*card)(struct transport *t);
    /* Release impl (not t). */
    void (*close)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    void *impl;                       /* owned by ops; opaque to transport.c */
    FILE *trace;                      /* APDU trace or NULL; used by transport.c */
    const struct cap_debug *debug;    /* names for the trace's applet faults, or NULL */
    char error[TRANSPORT_ERROR_MAX];  /* last failure, "" when none */
};

#endif
