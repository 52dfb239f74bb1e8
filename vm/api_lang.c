/*
 * api_lang.c — java.lang: Object and the exception classes. They hold no
 * state (Throwable has no message on Java Card), so their constructors
 * only exist to be linked: `new ArithmeticException()` followed by
 * invokespecial <init> is legal applet code.
 */
#include "api_support.h"

int api_Object_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return 0;
}

/* Reference equality: what Object.equals is. */
int api_Object_equals(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt;
    *ret = a[0] == a[1];
    return 0;
}

#define STATELESS_INIT(cls)                                                  \
    int api_##cls##_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)         \
    {                                                                        \
        return api_Object_init(rt, a, ret);                                  \
    }
STATELESS_INIT(Throwable)
STATELESS_INIT(Exception)
STATELESS_INIT(RuntimeException)
STATELESS_INIT(IndexOutOfBoundsException)
STATELESS_INIT(ArrayIndexOutOfBoundsException)
STATELESS_INIT(NegativeArraySizeException)
STATELESS_INIT(NullPointerException)
STATELESS_INIT(ClassCastException)
STATELESS_INIT(ArithmeticException)
STATELESS_INIT(SecurityException)
STATELESS_INIT(ArrayStoreException)
