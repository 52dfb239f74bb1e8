/* test_apdu.c — the ISO 7816-4 command parser and encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apdu.h"

static apdu_command parse_hex(const char *hex, uint16_t want_sw)
{
    static uint8_t b[300];   /* the parsed command points into it */
    long n = hex_decode(hex, b, sizeof b);
    assert_true(n >= 0);
    apdu_command a;
    uint16_t sw = apdu_parse(b, (size_t)n, &a);
    if (sw != want_sw) fail_msg("%s: sw %04X, expected %04X", hex, sw, want_sw);
    return a;
}

static void test_case1(void **s)
{
    (void)s;
    apdu_command a = parse_hex("80CA9F7F", SW_OK);
    assert_int_equal(a.iso_case, 1);
    assert_int_equal(a.cla, 0x80);
    assert_int_equal(a.ins, 0xCA);
    assert_int_equal(a.p1, 0x9F);
    assert_int_equal(a.p2, 0x7F);
    assert_int_equal(a.nc, 0);
    assert_int_equal(a.ne, 0);
}

static void test_case2_short_and_extended(void **s)
{
    (void)s;
    apdu_command a = parse_hex("80CA9F7F10", SW_OK);
    assert_int_equal(a.iso_case, 2);
    assert_int_equal(a.ne, 16);
    a = parse_hex("80CA9F7F00", SW_OK);
    assert_int_equal(a.ne, 256);
    a = parse_hex("80CA9F7F000102", SW_OK);
    assert_int_equal(a.iso_case, 2);
    assert_true(a.extended);
    assert_int_equal(a.ne, 258);
    a = parse_hex("80CA9F7F000000", SW_OK);
    assert_int_equal(a.ne, 65536);
}

static void test_case3_short_and_extended(void **s)
{
    (void)s;
    apdu_command a = parse_hex("00A4040003A00001", SW_OK);
    assert_int_equal(a.iso_case, 3);
    assert_int_equal(a.nc, 3);
    assert_int_equal(a.data[0], 0xA0);
    assert_int_equal(a.ne, 0);
    a = parse_hex("00A4040000000103", SW_OK);
    assert_int_equal(a.iso_case, 3);
    assert_true(a.extended);
    assert_int_equal(a.nc, 1);
    assert_int_equal(a.data[0], 0x03);
}

static void test_case4_short_and_extended(void **s)
{
    (void)s;
    apdu_command a = parse_hex("00A4040003A0000100", SW_OK);
    assert_int_equal(a.iso_case, 4);
    assert_int_equal(a.nc, 3);
    assert_int_equal(a.ne, 256);
    a = parse_hex("00A4040000000211220000", SW_OK);
    assert_int_equal(a.iso_case, 4);
    assert_true(a.extended);
    assert_int_equal(a.nc, 2);
    assert_int_equal(a.ne, 65536);
    a = parse_hex("00A404000000021122FFFF", SW_OK);
    assert_int_equal(a.ne, 65535);
}

static void test_extended_lengths_at_limits(void **s)
{
    (void)s;
    size_t n = 4 + 3 + 65535 + 2;
    uint8_t *b = calloc(1, n + 1);
    b[5] = 0xFF;
    b[6] = 0xFF;
    apdu_command a;
    assert_int_equal(apdu_parse(b, n, &a), SW_OK);
    assert_int_equal(a.nc, 65535);
    assert_int_equal(a.iso_case, 4);
    assert_int_equal(apdu_parse(b, n - 2, &a), SW_OK);
    assert_int_equal(a.iso_case, 3);
    assert_int_equal(apdu_parse(b, n + 1, &a), SW_WRONG_LENGTH);   /* over-long */
    free(b);
}

static void test_malformed_encodings(void **s)
{
    (void)s;
    static const char *bad[] = {
        "",                      /* empty */
        "80",                    /* truncated header */
        "80CA9F",                /* truncated header */
        "00A4040005A000",        /* Lc says 5, 2 bytes follow */
        "00A4040002A0000000",    /* Lc 2, then 3 bytes: neither case 3 nor 4 */
        "00A404000001",          /* extended marker, incomplete */
        "00A40400000000",        /* extended Lc 0... is case 2E Le=65536: valid, see below */
        "00A4040000000311",      /* extended Lc 3, 1 byte follows */
        "00A40400000001AA00",    /* extended Lc with a short Le (mixed) */
        "00A404000000000100",    /* extended Lc = 0 with data */
        "00A4040002AABB000100",  /* short Lc with extended Le (mixed) */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i == 6) continue;
        parse_hex(bad[i], SW_WRONG_LENGTH);
    }
    apdu_command a = parse_hex(bad[6], SW_OK);
    assert_int_equal(a.ne, 65536);
}

static void test_encode_round_trip(void **s)
{
    (void)s;
    uint8_t data[600];
    for (int i = 0; i < 600; i++) data[i] = (uint8_t)i;
    const struct { uint32_t nc, ne; size_t len; } cases[] = {
        {0, 0, 4}, {0, 1, 5}, {0, 256, 5}, {0, 257, 7}, {0, 65536, 7},
        {1, 0, 6}, {255, 0, 260}, {256, 0, 263}, {3, 256, 9}, {3, 300, 12}, {600, 2, 609},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apdu_command c = {.cla = 0x80, .ins = 0x10, .p1 = 1, .p2 = 2, .data = data,
                          .nc = cases[i].nc, .ne = cases[i].ne};
        uint8_t b[700];
        size_t n = apdu_encode(&c, b, sizeof b);
        assert_int_equal(n, cases[i].len);
        apdu_command p;
        assert_int_equal(apdu_parse(b, n, &p), SW_OK);
        assert_int_equal(p.nc, c.nc);
        assert_int_equal(p.ne, c.ne);
        if (c.nc) assert_memory_equal(p.data, data, c.nc);
    }
}

static void test_cla_channel_and_secure_messaging(void **s)
{
    (void)s;
    assert_int_equal(apdu_cla_channel(0x00), 0);
    assert_int_equal(apdu_cla_channel(0x03), 3);
    assert_int_equal(apdu_cla_channel(0x84), 0);
    assert_int_equal(apdu_cla_channel(0x41), 5);
    assert_int_equal(apdu_cla_channel(0xFF), -1);
    assert_true(apdu_cla_secure(0x84));
    assert_true(apdu_cla_secure(0x04));
    assert_false(apdu_cla_secure(0x80));
    assert_true(apdu_cla_secure(0x60));
}

static void test_hex_codec(void **s)
{
    (void)s;
    uint8_t b[8];
    assert_int_equal(hex_decode("00 a4 04 00", b, sizeof b), 4);
    assert_int_equal(b[1], 0xA4);
    assert_int_equal(hex_decode("0", b, sizeof b), -1);
    assert_int_equal(hex_decode("0 0", b, sizeof b), -1);
    assert_int_equal(hex_decode("zz", b, sizeof b), -1);
    assert_int_equal(hex_decode("001122334455667788", b, sizeof b), -1);
    char out[9];
    hex_encode((const uint8_t *)"\x01\xab\xff", 3, out);
    assert_string_equal(out, "01ABFF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case1),
        cmocka_unit_test(test_case2_short_and_extended),
        cmocka_unit_test(test_case3_short_and_extended),
        cmocka_unit_test(test_case4_short_and_extended),
        cmocka_unit_test(test_extended_lengths_at_limits),
        cmocka_unit_test(test_malformed_encodings),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_cla_channel_and_secure_messaging),
        cmocka_unit_test(test_hex_codec),
    };
    return cmocka_run_group_tests_name("apdu", tests, NULL, NULL);
}
