/*
 * transport_pcsc.h — the PC/SC half of tools/transport.h: a card reached
 * through pcscd and libpcsclite (SCardEstablishContext, SCardConnect,
 * SCardTransmit), so the CLI talks to a reader exactly like any other PC/SC
 * program does. The reader can be the cardvm IFD handler (apdu/ifd/), a
 * vsmartcard virtual reader, or a real reader with a real card.
 *
 * Which pcscd: libpcsclite's own rule — the socket named by the environment
 * variable PCSCLITE_CSOCK_NAME, else the system one (/run/pcscd/pcscd.comm).
 * `cardvm pcscd` prints the export line for its private instance.
 *
 * transport.c dispatches here (see transport_impl.h):
 *
 *   int transport_open_reader(const char *reader, transport **out,
 *                             char *err, size_t errlen)
 *   { return transport_pcsc_open(reader, out, err, errlen); }
 *
 * Link: PkgConfig::PCSCLITE.
 */
#ifndef CARDVM_TRANSPORT_PCSC_H
#define CARDVM_TRANSPORT_PCSC_H

#include <stddef.h>
#include <stdio.h>

#include "transport.h"

/*
 * Connect to the reader whose name equals `reader`, or else the only reader
 * whose name starts with `reader` (an ambiguous prefix is an error that
 * lists the candidates). The connection is exclusive and uses T=1 (T=0 is
 * accepted if that is all the card offers). When the reader exists but its
 * card is not detected yet, waits up to two seconds for it (a freshly started
 * pcscd polls its readers). On failure returns nonzero and writes a one-line
 * message to err.
 */
int transport_pcsc_open(const char *reader, transport **out, char *err, size_t errlen);

/*
 * Print the reader names of the current pcscd to `f`, one a line, with
 * "card" or "empty" after a tab. Returns 0, or nonzero with a message in err
 * (pcscd not running, no readers).
 */
int transport_pcsc_list(FILE *f, char *err, size_t errlen);

#endif
