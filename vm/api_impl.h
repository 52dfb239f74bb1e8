/*
 * api_impl.h — the C implementations of the built-in Java Card API
 * (vm/api_lang.c, api_framework.c, api_security.c, api_apdu.c). The
 * generator (scripts/gen_api_tokens.py) binds a table entry of
 * vm/api_tokens.c to the function below whose name follows its rule
 * (api_<Class>_<method>[__<args>]); a method without one is not
 * implemented (fn NULL).
 */
#ifndef CARDVM_VM_API_IMPL_H
#define CARDVM_VM_API_IMPL_H

#include <stdint.h>
#include "api_tokens.h"

/* Index of each built-in package in jc_api_packages[] (JC_API_EXC). */
enum jc_api_pkg_index {
    JC_PKG_LANG = 0,
    JC_PKG_FRAMEWORK = 1,
    JC_PKG_SECURITY = 2,
    JC_PKG_CRYPTO = 3,
    JC_PKG_APDU = 4,
};

#endif
