/*
 * cmd_vicc.c — `cardvm vicc IMAGE`: put a card image into a vsmartcard
 * virtual reader (vpcd), as a virtual card ("vicc") over TCP.
 *
 * vpcd is a pcsc-lite driver from the vsmartcard project that listens on a
 * TCP port (35963 for its first reader) and forwards to whatever card
 * connects. Its protocol, both ways, is a sequence of messages:
 *
 *   length (2 bytes, big-endian) | payload (length bytes)
 *
 * From vpcd, a 1-byte payload is a control code:
 *   00 power off      (no answer)
 *   01 power on       (no answer)
 *   02 reset          (no answer)
 *   04 ATR request    -> the ATR, as one message
 * Any longer payload is a command APDU -> the response APDU, as one message.
 *
 * This is the cardvm card speaking that protocol: the same card object as
 * everywhere (card.h), so state is committed to the image after every APDU.
 * It only ever connects to 127.0.0.1: the protocol has no authentication, so
 * it is not meant to cross a network.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "card.h"
#include "cli.h"

#define VPCD_DEFAULT_PORT 35963
#define VPCD_CTRL_OFF 0x00
#define VPCD_CTRL_ON 0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR 0x04
/* The largest message the 2-byte length can carry. */
#define VPCD_MAX_MESSAGE 0xFFFFu

static volatile sig_atomic_t vicc_stop;

static void on_vicc_signal(int sig) { vicc_stop = sig; }

/* One vicc session: the card and the connection to vpcd. */
typedef struct vicc_session {
    card *card;
    int fd;
    int verbose;
    uint8_t atr[CARD_ATR_MAX];
    size_t atr_len;
    unsigned long apdus;
} vicc_session;

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm vicc IMAGE [--port P] [--once] [--verbose]\n\n"
            "Connect the card image to a vsmartcard virtual reader (vpcd) on\n"
            "127.0.0.1, speaking vpcd's protocol (2-byte big-endian length, then an\n"
            "APDU or a 1-byte control code: power off/on, reset, ATR request).\n"
            "PC/SC programs then see the card in vpcd's reader. Card state is\n"
            "committed to the image after every APDU. Runs until SIGINT/SIGTERM;\n"
            "when vpcd goes away it reconnects every second.\n\n"
            "Options:\n"
            "  --port P     vpcd's port (default %d, its first reader)\n"
            "  --once       exit when the connection ends instead of reconnecting\n"
            "  --verbose    log control codes and APDU counts on stderr\n",
            VPCD_DEFAULT_PORT);
}

static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        /* vpcd writes a message's length and payload separately; with Nagle
         * on its side, the payload waits for our ACK of the length, which
         * Linux delays by up to 40 ms. Acknowledge at once (the option does
         * not stick, so it is set before every read). */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        ssize_t r = read(fd, buf + got, n - got);
        if (r == 0) return -1; /* vpcd closed */
        if (r < 0) {
            if (errno == EINTR && !vicc_stop) continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_message(int fd, const uint8_t *payload, size_t len)
{
    if (len > VPCD_MAX_MESSAGE) return -1;
    /* One write for header and payload: fewer packets, lower latency. */
    static uint8_t frame[2 + CARD_MAX_RESPONSE];
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, payload, len);
    size_t sent = 0, total = len + 2;
    while (sent < total) {
        ssize_t w = write(fd, frame + sent, total - sent);
        if (w < 0) {
            if (errno == EINTR && !vicc_stop) continue;
            return -1;
        }
        sent += (size_t)w;
    }
    return 0;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void power(vicc_session *s, enum card_reset kind)
{
    /* Power-on takes the image's writer lock: another process may hold it. */
    if (card_power(s->card, kind, s->atr, &s->atr_len) != 0) {
        s->atr_len = 0;
        fprintf(stderr, "cardvm vicc: %s\n", chip_error(card_chip(s->card)));
    }
}

/* Serve one connection until it ends (or a stop signal). */
static void serve(vicc_session *s)
{
    static uint8_t command[VPCD_MAX_MESSAGE];
    static uint8_t response[CARD_MAX_RESPONSE];
    for (;;) {
        uint8_t head[2];
        if (vicc_stop || read_full(s->fd, head, 2) != 0) return;
        size_t len = (size_t)head[0] << 8 | head[1];
        if (read_full(s->fd, command, len) != 0) return;
        if (len == 1) {
            switch (command[0]) {
            case VPCD_CTRL_OFF:
                card_power_off(s->card);
                break;
            case VPCD_CTRL_ON:
                power(s, CARD_COLD);
                break;
            case VPCD_CTRL_RESET:
                power(s, card_is_powered(s->card) ? CARD_WARM : CARD_COLD);
                break;
            case VPCD_CTRL_ATR:
                if (!card_is_powered(s->card)) power(s, CARD_COLD);
                if (write_message(s->fd, s->atr, s->atr_len) != 0) return;
                break;
            default:
                /* Unknown codes get no answer, as vpcd expects none. */
                break;
            }
            if (s->verbose) fprintf(stderr, "cardvm vicc: control %02X\n", command[0]);
            continue;
        }
        if (len == 0) continue;
        /* vpcd sends APDUs only to a powered card; be lenient anyway. */
        if (!card_is_powered(s->card)) power(s, CARD_COLD);
        size_t rsp_len = 0;
        if (card_transmit(s->card, command, len, response, sizeof response, &rsp_len) != 0) {
            /* Mute card (power lost): say so with a status word rather than
             * leave vpcd waiting for ever. */
            response[0] = 0x6F;
            response[1] = 0x00;
            rsp_len = 2;
        }
        if (rsp_len > VPCD_MAX_MESSAGE) {
            /* Cannot happen with T=1 chaining limits; keep the frame valid. */
            response[0] = 0x6F;
            response[1] = 0x00;
            rsp_len = 2;
        }
        if (write_message(s->fd, response, rsp_len) != 0) return;
        s->apdus++;
    }
}

static void sleep_until_retry(void)
{
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
}

int cmd_vicc(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"port", required_argument, 0, 'p'},
        {"once", no_argument, 0, '1'},
        {"verbose", no_argument, 0, 'v'},
        {0, 0, 0, 0},
    };
    int port = VPCD_DEFAULT_PORT, once = 0, verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 65535) {
                cli_error("vicc", "bad port '%s'", optarg);
                return 2;
            }
            port = (int)v;
            break;
        }
        case '1': once = 1; break;
        case 'v': verbose = 1; break;
        default: help(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return 2;
    }
    const char *image = argv[optind];

    vicc_session s;
    memset(&s, 0, sizeof s);
    s.fd = -1;
    s.verbose = verbose;
    char err[512];
    if (card_open(image, &s.card, err, sizeof err) != 0) {
        cli_error("vicc", "%s", err);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_vicc_signal; /* no SA_RESTART: stop blocking reads */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 0, announced_wait = 0;
    while (!vicc_stop) {
        s.fd = connect_loopback(port);
        if (s.fd < 0) {
            if (once) {
                cli_error("vicc", "cannot connect to vpcd at 127.0.0.1:%d: %s", port, strerror(errno));
                status = 1;
                break;
            }
            if (!announced_wait) {
                fprintf(stderr, "cardvm vicc: waiting for vpcd at 127.0.0.1:%d\n", port);
                announced_wait = 1;
            }
            sleep_until_retry();
            continue;
        }
        announced_wait = 0;
        fprintf(stderr, "cardvm vicc: %s connected to vpcd at 127.0.0.1:%d\n", image, port);
        serve(&s);
        close(s.fd);
        s.fd = -1;
        card_power_off(s.card);
        if (verbose) fprintf(stderr, "cardvm vicc: connection closed after %lu APDUs\n", s.apdus);
        if (once) break;
    }
    card_close(s.card);
    return status;
}
