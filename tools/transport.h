/*
 * transport.h — how host tools reach a card: the card image in process
 * (apdu/card.h), or a reader through libpcsclite (SCardTransmit), chosen by
 * the user with IMAGE or --reader NAME. Everything the CLI sends goes
 * through transport_transmit, so the same command works both ways and
 * --trace prints the same APDU log for both.
 */
#ifndef CARDVM_TRANSPORT_H
#define CARDVM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct transport transport;

/* In process: open the image and power the card on (cold). */
int transport_open_image(const char *image, transport **out, char *err, size_t errlen);
/* In process, over a card object already open (takes ownership: closing
 * the transport closes the card); powers it on (cold). */
struct card;
int transport_open_card(struct card *c, transport **out);
/* Through pcscd: connect (T=1, exclusive) to the reader whose name equals
 * `reader` or starts with it. */
int transport_open_reader(const char *reader, transport **out, char *err, size_t errlen);
/* Response bytes (data || SW1 SW2) into rsp. 0 on success. */
int transport_transmit(transport *t, const uint8_t *cmd, size_t len,
                       uint8_t *rsp, size_t cap, size_t *rsp_len);
/* ATR of the last power-on. */
int transport_atr(transport *t, uint8_t *atr, size_t *len);
/* Cold (or warm) reset: RAM cleared, sessions end. */
int transport_reset(transport *t, int cold);
/* APDU trace with timestamps to `f` (NULL: off). */
void transport_set_trace(transport *t, FILE *f);
/* Text of the last failure ("" when none). */
const char *transport_error(const transport *t);
/* In process: the first commit of the card that failed since the transport
 * was opened (the card answered 6581 and rolled the command back), as
 * "PATH: what: system error"; "" when none, and always for a reader. Every
 * command that writes through a transport prints it and exits CLI_EXIT_IO. */
const char *transport_commit_error(const transport *t);
/* The in-process card, or NULL for a reader (for commands that need it). */
struct card *transport_card(transport *t);
void transport_close(transport *t);

#endif
