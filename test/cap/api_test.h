/* api_test.h — helpers of the API tests (test_cap_api*.c): call a built-in
 * API method through its table entry (vm/api_tokens.h) on a real runtime,
 * and make arrays and API objects to pass it. Header-only so each test
 * program stays one file. */
#ifndef CARDVM_TEST_CAP_API_TEST_H
#define CARDVM_TEST_CAP_API_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api_support.h"
#include "api_tokens.h"
#include "vmtest.h"

/* The implementation of class `cls`'s method name+desc (any kind). */
static inline const jc_api_method *at_method(const char *cls, const char *name, const char *desc)
{
    const jc_api_class *c = jc_api_class_by_name(cls, NULL);
    if (!c)
        fail_msg("no API class %s", cls);
    for (uint8_t kind = JC_STATIC_METHOD; kind <= JC_CONSTRUCTOR; kind++) {
        const jc_api_method *m = jc_api_method_by_name(c, name, desc, kind);
        if (m) {
            if (!m->fn)
                fail_msg("%s.%s%s is not implemented", cls, name, desc);
            return m;
        }
    }
    fail_msg("no method %s.%s%s", cls, name, desc);
    return NULL;
}

/* Call it with the argument words given; returns the implementation's
 * result (0 or an exception), the result word in *ret (may be NULL). */
static inline int at_call(vm_runtime *rt, const char *cls, const char *name, const char *desc, uint16_t *ret, ...)
{
    const jc_api_method *m = at_method(cls, name, desc);
    uint16_t args[16] = { 0 }, r = 0xDEAD;
    va_list ap;
    va_start(ap, ret);
    for (unsigned i = 0; i < m->nargs; i++)
        args[i] = (uint16_t)va_arg(ap, int);
    va_end(ap);
    int rc = m->fn(rt, args, &r);
    if (ret)
        *ret = r;
    return rc;
}

/* A persistent byte[] holding `len` bytes of `init` (NULL: zeros), owned
 * by the current context. */
static inline uint16_t at_bytes(vm_runtime *rt, const void *init, uint16_t len)
{
    uint16_t h = 0;
    assert_int_equal(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, len, 0, &h), 0);
    if (init)
        assert_int_equal(api_store(rt, &rt->objs[h], 0, init, len, 0), 0);
    return h;
}

static inline const uint8_t *at_data(vm_runtime *rt, uint16_t h) { return rt->objs[h].data; }

/* A new instance of API class `cls` (its constructor not run). */
static inline uint16_t at_new(vm_runtime *rt, const char *cls)
{
    const jc_api_package *p;
    const jc_api_class *c = jc_api_class_by_name(cls, &p);
    assert_non_null(c);
    uint16_t h = 0;
    assert_int_equal(api_new_instance(rt, (unsigned)(p - jc_api_packages), c->token, 0, &h), 0);
    return h;
}

/* Hex string to bytes; returns the length. */
static inline uint16_t at_hex(const char *hex, uint8_t *out)
{
    uint16_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        char b[3] = { hex[0], hex[1], 0 };
        sscanf(b, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

#define AT_EXC_FW(token, reason) JC_API_EXC(JC_PKG_FRAMEWORK, (token), (reason))
#define AT_CRYPTO(reason) JC_API_EXC(JC_PKG_SECURITY, JC_SEC_CryptoException, (reason))

#endif
