/*
 * test_ifd.c — the cardvm IFD handler, called the way pcscd calls it.
 *
 * The driver is dlopen'ed (it is a module, exactly as pcscd loads it) and its
 * IFDH* entry points are called directly, one Lun per reader. This covers the
 * driver's logic — presence, power, ATR, T=1 exchange, capabilities, several
 * readers, missing/corrupt/replaced images — in a plain process, so it runs
 * under the sanitizers too (the pcscd-based tests cannot: pcscd is not built
 * with them).
 *
 * usage: test_ifd PATH/libifd-cardvm.so
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ifdhandler.h>
#include <reader.h>

#include "atr.h"
#include "card.h"
#include "chip.h"

/* ---- the driver, as pcscd sees it ---- */

typedef struct ifd_driver {
    void *handle;
    RESPONSECODE (*create_by_name)(DWORD, LPSTR);
    RESPONSECODE (*create)(DWORD, DWORD);
    RESPONSECODE (*close_channel)(DWORD);
    RESPONSECODE (*get_capabilities)(DWORD, DWORD, PDWORD, PUCHAR);
    RESPONSECODE (*set_capabilities)(DWORD, DWORD, DWORD, PUCHAR);
    RESPONSECODE (*set_protocol)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR);
    RESPONSECODE (*power)(DWORD, DWORD, PUCHAR, PDWORD);
    RESPONSECODE (*transmit)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD, PSCARD_IO_HEADER);
    RESPONSECODE (*control)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD);
    RESPONSECODE (*presence)(DWORD);
} ifd_driver;

static ifd_driver drv;
static const char *driver_path;

/* pcscd's Lun layout: reader number in the upper 16 bits, slot below. */
static DWORD lun_of(unsigned reader) { return (DWORD)reader << 16; }

static void *must_sym(const char *name)
{
    void *p = dlsym(drv.handle, name);
    if (!p) fail_msg("driver lacks %s", name);
    return p;
}

static void load_driver(void)
{
    drv.handle = dlopen(driver_path, RTLD_NOW | RTLD_LOCAL);
    if (!drv.handle) fail_msg("dlopen %s: %s", driver_path, dlerror());
    *(void **)&drv.create_by_name = must_sym("IFDHCreateChannelByName");
    *(void **)&drv.create = must_sym("IFDHCreateChannel");
    *(void **)&drv.close_channel = must_sym("IFDHCloseChannel");
    *(void **)&drv.get_capabilities = must_sym("IFDHGetCapabilities");
    *(void **)&drv.set_capabilities = must_sym("IFDHSetCapabilities");
    *(void **)&drv.set_protocol = must_sym("IFDHSetProtocolParameters");
    *(void **)&drv.power = must_sym("IFDHPowerICC");
    *(void **)&drv.transmit = must_sym("IFDHTransmitToICC");
    *(void **)&drv.control = must_sym("IFDHControl");
    *(void **)&drv.presence = must_sym("IFDHICCPresence");
}

/* ---- fixtures ---- */

typedef struct fixture {
    char dir[64];
    char image[3][128];
} fixture;

static void make_image(const char *path)
{
    chip_geometry g;
    chip_geometry_default(&g);
    chip *c;
    assert_int_equal(chip_create(&g, path, &c), CHIP_OK);
    uint8_t atr[CARD_ATR_MAX];
    size_t n = atr_default(atr);
    assert_int_equal(rom_identity_write(c, atr, n), CHIP_OK);
    chip_end_masking(c);
    chip_set_sync(c, CHIP_SYNC_OFF);
    assert_int_equal(chip_commit(c), CHIP_OK);
    chip_close(c);
}

static void write_bytes(const char *path, const char *bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(bytes, f);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/cardvm-ifd-test.XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    for (int i = 0; i < 3; i++) snprintf(fx->image[i], sizeof fx->image[i], "%s/card%d.img", fx->dir, i);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    for (unsigned r = 0; r < 20; r++) drv.close_channel(lun_of(r));
    for (int i = 0; i < 3; i++) unlink(fx->image[i]);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/other.img", fx->dir);
    unlink(tmp);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

static const SCARD_IO_HEADER t1 = {1, 8};

/* Send hex-free: bytes in, response out; returns the IFD code. */
static RESPONSECODE xfer(DWORD lun, const uint8_t *cmd, size_t len, uint8_t *rsp, DWORD cap, DWORD *rsp_len)
{
    SCARD_IO_HEADER recv_pci = {0, 0};
    *rsp_len = cap;
    return drv.transmit(lun, t1, (PUCHAR)cmd, (DWORD)len, rsp, rsp_len, &recv_pci);
}

static uint16_t sw_of(const uint8_t *rsp, DWORD len) { return (uint16_t)(rsp[len - 2] << 8 | rsp[len - 1]); }

static uint16_t send_sw(DWORD lun, const uint8_t *cmd, size_t len)
{
    uint8_t rsp[300];
    DWORD n;
    assert_int_equal(xfer(lun, cmd, len, rsp, sizeof rsp, &n), IFD_SUCCESS);
    assert_true(n >= 2);
    return sw_of(rsp, n);
}

static void power_up(DWORD lun)
{
    UCHAR atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    assert_int_equal(drv.power(lun, IFD_POWER_UP, atr, &atr_len), IFD_SUCCESS);
    assert_true(atr_len > 0);
}

static const uint8_t select_sd[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
static const uint8_t get_iin[] = {0x80, 0xCA, 0x00, 0x42, 0x00};
static const uint8_t put_iin[] = {0x80, 0xDA, 0x00, 0x42, 0x03, 0x11, 0x22, 0x33};

/* ---- tests ---- */

static void test_capabilities(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);

    UCHAR v[64];
    DWORD n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_SLOTS_NUMBER, &n, v), IFD_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], 1);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_SIMULTANEOUS_ACCESS, &n, v), IFD_SUCCESS);
    assert_int_equal(v[0], 16);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_THREAD_SAFE, &n, v), IFD_SUCCESS);
    assert_int_equal(v[0], 1);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), SCARD_ATTR_VENDOR_NAME, &n, v), IFD_SUCCESS);
    assert_string_equal((char *)v, "cardvm");
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), SCARD_ATTR_VENDOR_IFD_VERSION, &n, v), IFD_SUCCESS);
    assert_int_equal(n, 4);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), SCARD_ATTR_VENDOR_IFD_SERIAL_NO, &n, v), IFD_SUCCESS);
    assert_string_equal((char *)v, "card0.img");
    /* A buffer too small is refused, not overrun. */
    n = 3;
    assert_int_equal(drv.get_capabilities(lun_of(0), SCARD_ATTR_VENDOR_NAME, &n, v), IFD_ERROR_INSUFFICIENT_BUFFER);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), 0x7FFF, &n, v), IFD_ERROR_TAG);
    n = sizeof v;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_POLLING_THREAD_WITH_TIMEOUT, &n, v), IFD_ERROR_TAG);
    assert_int_equal(drv.set_capabilities(lun_of(0), TAG_IFD_ATR, 1, v), IFD_ERROR_TAG);

    assert_int_equal(drv.set_protocol(lun_of(0), SCARD_PROTOCOL_T1, 0, 0, 0, 0), IFD_SUCCESS);
    assert_int_equal(drv.set_protocol(lun_of(0), SCARD_PROTOCOL_T0, 0, 0, 0, 0), IFD_PROTOCOL_NOT_SUPPORTED);

    /* PC/SC part 10: one feature, the TLV properties (tag 12, 4-byte control
     * code, big endian); they hold dwMaxAPDUDataSize (tag 0A, 4 bytes, little
     * endian): extended APDUs. The rest is not supported. */
    DWORD returned = 99;
    assert_int_equal(drv.control(lun_of(0), CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, v, sizeof v, &returned),
                     IFD_SUCCESS);
    assert_int_equal(returned, 6);
    assert_int_equal(v[0], FEATURE_GET_TLV_PROPERTIES);
    assert_int_equal(v[1], 4);
    DWORD props_code = (DWORD)v[2] << 24 | (DWORD)v[3] << 16 | (DWORD)v[4] << 8 | v[5];
    assert_int_equal(drv.control(lun_of(0), props_code, NULL, 0, v, sizeof v, &returned), IFD_SUCCESS);
    int found = 0;
    for (DWORD i = 0; i + 2 <= returned; i += 2u + v[i + 1]) {
        if (v[i] != PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize) continue;
        assert_int_equal(v[i + 1], 4);
        uint32_t max = (uint32_t)v[i + 2] | (uint32_t)v[i + 3] << 8 | (uint32_t)v[i + 4] << 16 | (uint32_t)v[i + 5] << 24;
        assert_true(max > 256);   /* more than a short APDU's 255 data bytes */
        found = 1;
    }
    assert_true(found);
    assert_int_equal(drv.control(lun_of(0), CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, v, 3, &returned),
                     IFD_ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(drv.control(lun_of(0), SCARD_CTL_CODE(1), NULL, 0, v, sizeof v, &returned),
                     IFD_ERROR_NOT_SUPPORTED);

    /* A Lun pcscd never created. */
    assert_int_equal(drv.presence(lun_of(9)), IFD_NO_SUCH_DEVICE);
    assert_int_equal(drv.close_channel(lun_of(9)), IFD_NO_SUCH_DEVICE);
}

static void test_power_and_atr(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    assert_int_equal(drv.presence(lun_of(0)), IFD_ICC_PRESENT);

    uint8_t want[CARD_ATR_MAX];
    size_t want_len = atr_default(want);
    UCHAR atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(0), IFD_POWER_UP, atr, &atr_len), IFD_SUCCESS);
    assert_int_equal(atr_len, want_len);
    assert_memory_equal(atr, want, want_len);

    UCHAR cap[MAX_ATR_SIZE];
    DWORD cap_len = sizeof cap;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_ATR, &cap_len, cap), IFD_SUCCESS);
    assert_int_equal(cap_len, want_len);
    assert_memory_equal(cap, want, want_len);

    /* RAM is cleared at reset: deselect the security domain (SELECT of an
     * unknown AID), then a warm reset selects it again. */
    static const uint8_t select_other[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x09, 0x99};
    assert_int_equal(send_sw(lun_of(0), select_other, sizeof select_other), 0x6A82);
    assert_int_equal(send_sw(lun_of(0), get_iin, sizeof get_iin), 0x6985);
    atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(0), IFD_RESET, atr, &atr_len), IFD_SUCCESS);
    assert_int_equal(atr_len, want_len);
    assert_int_equal(send_sw(lun_of(0), get_iin, sizeof get_iin), 0x6A88);

    /* Powered down: the card is mute, the ATR forgotten. */
    atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(0), IFD_POWER_DOWN, atr, &atr_len), IFD_SUCCESS);
    assert_int_equal(atr_len, 0);
    uint8_t rsp[64];
    DWORD n;
    assert_int_not_equal(xfer(lun_of(0), get_iin, sizeof get_iin, rsp, sizeof rsp, &n), IFD_SUCCESS);
    assert_int_equal(n, 0);
    cap_len = sizeof cap;
    assert_int_equal(drv.get_capabilities(lun_of(0), TAG_IFD_ATR, &cap_len, cap), IFD_SUCCESS);
    assert_int_equal(cap_len, 0);
    /* Reset of a card that is off powers it up. */
    atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(0), IFD_RESET, atr, &atr_len), IFD_SUCCESS);
    assert_int_equal(atr_len, want_len);
    assert_int_equal(drv.power(lun_of(0), 999, atr, &atr_len), IFD_NOT_SUPPORTED);
}

static void test_transmit_t1(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    power_up(lun_of(0));

    uint8_t rsp[300];
    DWORD n;
    assert_int_equal(xfer(lun_of(0), select_sd, sizeof select_sd, rsp, sizeof rsp, &n), IFD_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(sw_of(rsp, n), 0x6112); /* FCI waiting: 18 bytes */
    static const uint8_t get_response[] = {0x00, 0xC0, 0x00, 0x00, 0x12};
    assert_int_equal(xfer(lun_of(0), get_response, sizeof get_response, rsp, sizeof rsp, &n), IFD_SUCCESS);
    assert_int_equal(n, 0x12 + 2);
    assert_int_equal(rsp[0], 0x6F);
    assert_int_equal(sw_of(rsp, n), 0x9000);

    /* A 255-byte echo, and the same echo into a receive buffer too small
     * for it: the card chains with 61xx instead of overrunning. */
    uint8_t echo[5 + 255 + 1] = {0x80, 0xEE, 0x00, 0x00, 0xFF};
    for (int i = 0; i < 255; i++) echo[5 + i] = (uint8_t)i;
    echo[260] = 0x00;
    assert_int_equal(xfer(lun_of(0), echo, sizeof echo, rsp, sizeof rsp, &n), IFD_SUCCESS);
    assert_int_equal(n, 257);
    assert_memory_equal(rsp, echo + 5, 255);
    assert_int_equal(sw_of(rsp, n), 0x9000);
    assert_int_equal(xfer(lun_of(0), echo, sizeof echo, rsp, 100, &n), IFD_SUCCESS);
    assert_true(n <= 100);
    assert_int_equal(rsp[n - 2], 0x61);

    /* Only T=1 goes through. */
    SCARD_IO_HEADER t0 = {0, 8}, recv_pci;
    n = sizeof rsp;
    assert_int_equal(drv.transmit(lun_of(0), t0, (PUCHAR)get_iin, sizeof get_iin, rsp, &n, &recv_pci),
                     IFD_PROTOCOL_NOT_SUPPORTED);
    assert_int_equal(n, 0);
}

/* Each APDU is committed: a new channel (pcscd restart) sees it. */
static void test_commit_per_apdu(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    power_up(lun_of(0));
    assert_int_equal(send_sw(lun_of(0), put_iin, sizeof put_iin), 0x9000);

    /* Another process's view, while the reader still holds the card: a
     * reader, since the powered reader holds the writer lock. */
    card *other;
    char err[256];
    assert_int_equal(card_open_ex(fx->image[0], CHIP_OPEN_READ_ONLY, &other, err, sizeof err), 0);
    uint8_t atr[CARD_ATR_MAX], rsp[64];
    size_t atr_len, n;
    card_power(other, CARD_COLD, atr, &atr_len);
    assert_int_equal(card_transmit(other, get_iin, sizeof get_iin, rsp, sizeof rsp, &n), 0);
    static const uint8_t want[] = {0x42, 0x03, 0x11, 0x22, 0x33, 0x90, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(rsp, want, sizeof want);
    card_close(other);

    /* pcscd restart: close, create again, read back. */
    assert_int_equal(drv.close_channel(lun_of(0)), IFD_SUCCESS);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    power_up(lun_of(0));
    uint8_t r2[64];
    DWORD n2;
    assert_int_equal(xfer(lun_of(0), get_iin, sizeof get_iin, r2, sizeof r2, &n2), IFD_SUCCESS);
    assert_int_equal(n2, sizeof want);
    assert_memory_equal(r2, want, sizeof want);
}

static void test_missing_then_created(void **state)
{
    fixture *fx = *state;
    char dev[200];
    snprintf(dev, sizeof dev, "cardvm:%s", fx->image[1]);
    assert_int_equal(drv.create_by_name(lun_of(1), dev), IFD_SUCCESS);
    assert_int_equal(drv.presence(lun_of(1)), IFD_ICC_NOT_PRESENT);
    UCHAR atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(1), IFD_POWER_UP, atr, &atr_len), IFD_ERROR_POWER_ACTION);
    assert_int_equal(atr_len, 0);
    uint8_t rsp[64];
    DWORD n;
    assert_int_equal(xfer(lun_of(1), get_iin, sizeof get_iin, rsp, sizeof rsp, &n), IFD_ICC_NOT_PRESENT);

    make_image(fx->image[1]);
    assert_int_equal(drv.presence(lun_of(1)), IFD_ICC_PRESENT);
    power_up(lun_of(1));
    assert_int_equal(send_sw(lun_of(1), select_sd, sizeof select_sd), 0x6112);

    /* Deleted under a powered card: removed. */
    unlink(fx->image[1]);
    assert_int_equal(xfer(lun_of(1), get_iin, sizeof get_iin, rsp, sizeof rsp, &n), IFD_ICC_NOT_PRESENT);
    assert_int_equal(drv.presence(lun_of(1)), IFD_ICC_NOT_PRESENT);
    assert_int_equal(drv.presence(lun_of(1)), IFD_ICC_NOT_PRESENT);
}

static void test_corrupt_image(void **state)
{
    fixture *fx = *state;
    write_bytes(fx->image[2], "this is not a card image");
    assert_int_equal(drv.create_by_name(lun_of(2), fx->image[2]), IFD_SUCCESS);
    for (int i = 0; i < 3; i++) assert_int_equal(drv.presence(lun_of(2)), IFD_ICC_NOT_PRESENT);
    UCHAR atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    assert_int_equal(drv.power(lun_of(2), IFD_POWER_UP, atr, &atr_len), IFD_ERROR_POWER_ACTION);
    /* The bad file is left as it was. */
    FILE *f = fopen(fx->image[2], "rb");
    char buf[64] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "this is not a card image");

    /* Truncated real image: also no card. */
    make_image(fx->image[2]);
    assert_int_equal(truncate(fx->image[2], 100), 0);
    assert_int_equal(drv.presence(lun_of(2)), IFD_ICC_NOT_PRESENT);

    /* Fixed: the card appears. */
    unlink(fx->image[2]);
    make_image(fx->image[2]);
    assert_int_equal(drv.presence(lun_of(2)), IFD_ICC_PRESENT);
}

/* Another process rewrites the image while the reader has it: the reader
 * must not answer from (or commit) its stale copy. */
static void test_image_replaced(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    assert_int_equal(drv.presence(lun_of(0)), IFD_ICC_PRESENT);
    power_up(lun_of(0));
    assert_int_equal(send_sw(lun_of(0), get_iin, sizeof get_iin), 0x6A88);

    card *other;
    char err[256];
    assert_int_equal(card_open(fx->image[0], &other, err, sizeof err), 0);
    uint8_t atr[CARD_ATR_MAX], rsp[64];
    size_t atr_len, n;
    /* While the reader is powered it holds the image: a second writer waits,
     * then gives up, and nothing is lost. */
    chip_set_lock_wait(card_chip(other), 50);
    assert_int_equal(card_power(other, CARD_COLD, atr, &atr_len), CHIP_ERR_BUSY);
    /* Powered down, the reader lets go; the other process writes. */
    assert_int_equal(drv.power(lun_of(0), IFD_POWER_DOWN, NULL, NULL), IFD_SUCCESS);
    assert_int_equal(card_power(other, CARD_COLD, atr, &atr_len), 0);
    assert_int_equal(card_transmit(other, put_iin, sizeof put_iin, rsp, sizeof rsp, &n), 0);
    card_close(other);

    uint8_t r2[64];
    DWORD n2;
    /* pcscd is owed one "removed", then the new card is inserted. */
    assert_int_equal(drv.presence(lun_of(0)), IFD_ICC_NOT_PRESENT);
    assert_int_equal(drv.presence(lun_of(0)), IFD_ICC_PRESENT);
    power_up(lun_of(0));
    assert_int_equal(xfer(lun_of(0), get_iin, sizeof get_iin, r2, sizeof r2, &n2), IFD_SUCCESS);
    assert_int_equal(n2, 7);
    assert_int_equal(r2[2], 0x11);
}

static void test_several_readers(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    make_image(fx->image[1]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    assert_int_equal(drv.create_by_name(lun_of(1), fx->image[1]), IFD_SUCCESS);
    /* A Lun already in use is refused. */
    assert_int_equal(drv.create_by_name(lun_of(1), fx->image[2]), IFD_COMMUNICATION_ERROR);
    power_up(lun_of(0));
    power_up(lun_of(1));
    assert_int_equal(send_sw(lun_of(0), put_iin, sizeof put_iin), 0x9000);
    assert_int_equal(send_sw(lun_of(0), get_iin, sizeof get_iin), 0x9000);
    assert_int_equal(send_sw(lun_of(1), get_iin, sizeof get_iin), 0x6A88);

    /* pcsc-lite's limit is 16 readers; the driver has room for exactly that. */
    for (unsigned r = 2; r < 16; r++) {
        char dev[200];
        snprintf(dev, sizeof dev, "cardvm:%s/none%u.img", fx->dir, r);
        assert_int_equal(drv.create_by_name(lun_of(r), dev), IFD_SUCCESS);
    }
    assert_int_equal(drv.create_by_name(lun_of(16), fx->image[2]), IFD_COMMUNICATION_ERROR);
    assert_int_equal(drv.close_channel(lun_of(5)), IFD_SUCCESS);
    assert_int_equal(drv.create_by_name(lun_of(16), fx->image[2]), IFD_SUCCESS);

    /* No DEVICENAME and no CARDVM_IMAGE: refused. */
    unsetenv("CARDVM_IMAGE");
    assert_int_equal(drv.create(lun_of(17), 0), IFD_COMMUNICATION_ERROR);
    assert_int_equal(drv.create_by_name(lun_of(17), (LPSTR) "cardvm:"), IFD_COMMUNICATION_ERROR);
}

typedef struct hammer_arg {
    DWORD lun;
    int failures;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    uint8_t echo[5 + 64 + 1] = {0x80, 0xEE, 0x00, 0x00, 64};
    for (int round = 0; round < 200; round++) {
        memset(echo + 5, round, 64);
        uint8_t rsp[128];
        SCARD_IO_HEADER recv_pci;
        DWORD n = sizeof rsp;
        if (drv.transmit(a->lun, t1, echo, sizeof echo, rsp, &n, &recv_pci) != IFD_SUCCESS || n != 66 ||
            memcmp(rsp, echo + 5, 64) != 0)
            a->failures++;
        if (round % 20 == 0 && drv.presence(a->lun) != IFD_ICC_PRESENT) a->failures++;
    }
    return NULL;
}

/* pcscd drives different readers from different threads. */
static void test_readers_in_parallel(void **state)
{
    fixture *fx = *state;
    make_image(fx->image[0]);
    make_image(fx->image[1]);
    assert_int_equal(drv.create_by_name(lun_of(0), fx->image[0]), IFD_SUCCESS);
    assert_int_equal(drv.create_by_name(lun_of(1), fx->image[1]), IFD_SUCCESS);
    power_up(lun_of(0));
    power_up(lun_of(1));
    hammer_arg args[2] = {{lun_of(0), 0}, {lun_of(1), 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(args[0].failures, 0);
    assert_int_equal(args[1].failures, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/libifd-cardvm.so\n", argv[0]);
        return 2;
    }
    driver_path = argv[1];
    load_driver();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_and_atr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transmit_t1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_per_apdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_then_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_in_parallel, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    dlclose(drv.handle);
    return failed;
}
