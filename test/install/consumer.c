#include <stdio.h>
#include <card.h>
int main(int argc, char **argv) {
    card *c; char err[256];
    if (card_open(argv[1], &c, err, sizeof err)) { puts(err); return 1; }
    uint8_t atr[33], rsp[300]; size_t n, r;
    card_power(c, CARD_COLD, atr, &n);
    uint8_t sel[] = {0x00,0xA4,0x04,0x00,0x08,0xA0,0,0,1,0x51,0,0,0,0};
    card_transmit(c, sel, sizeof sel, rsp, sizeof rsp, &r);
    printf("ATR %zu bytes, SELECT -> %02X%02X\n", n, rsp[r-2], rsp[r-1]);
    card_close(c); return 0;
}
