/*
 * api_framework.c — javacard.framework (Java Card 3.0.5 classic): the
 * exception classes, Applet, AID, OwnerPIN, Util, JCSystem and APDU.
 *
 * Object state (native slots, api_tokens.h):
 *   CardRuntimeException, CardException  [0] reason
 *   AID       [0] ref byte[] holding the AID bytes (its length is the AID's)
 *   OwnerPIN  [0] ref persistent byte[4 + max]: try limit, tries left, max
 *                 size, PIN length, PIN bytes
 *             [1] ref boolean[1] CLEAR_ON_RESET: the validated flag
 * The APDU object is the JCRE's singleton; its state is the command's
 * (vm_runtime apdu_*), see the APDU section.
 */
#include <string.h>

#include "api_support.h"

#define THIS(var) vm_obj *var; API_TRY(api_this(rt, a[0], &var))
#define BYTES(var, h) vm_obj *var; API_TRY(api_bytes(rt, (h), &var))
#define RANGE(o, off, len) API_TRY(api_range((o), (off), (len)))

/* ---- exceptions ---- */

/* The constructors: slot 0 of a new instance. */
static int set_reason(vm_runtime *rt, uint16_t h, uint16_t reason)
{
    vm_obj *o;
    API_TRY(api_this(rt, h, &o));
    return api_slot_set(rt, o, 0, reason);
}

/* getReason/setReason also reach the JCRE-owned singletons, whose reason
 * the engine keeps (vm_exception_reason). */
static int get_reason(vm_runtime *rt, uint16_t h, uint16_t *ret)
{
    if (h == 0)
        return API_NPE;
    if (vm_exception_reason(rt, h, ret) != 0)
        return API_SECURITY;
    return 0;
}

int api_CardRuntimeException_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return set_reason(rt, a[0], a[1]);
}
int api_CardRuntimeException_getReason(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return get_reason(rt, a[0], ret);
}
int api_CardRuntimeException_setReason(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    if (a[0] == 0)
        return API_NPE;
    return vm_exception_set_reason(rt, a[0], a[1]) < 0 ? API_SECURITY : 0;
}
int api_CardException_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_CardRuntimeException_init(rt, a, ret);
}
int api_CardException_getReason(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return get_reason(rt, a[0], ret);
}
int api_CardException_setReason(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_CardRuntimeException_setReason(rt, a, ret);
}
int api_UserException_init__v(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return set_reason(rt, a[0], 0);
}
int api_UserException_init__S(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_CardRuntimeException_init(rt, a, ret);
}

#define REASON_EXCEPTION(cls, pkg, token)                                        \
    int api_##cls##_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)             \
    {                                                                            \
        return api_CardRuntimeException_init(rt, a, ret);                        \
    }                                                                            \
    int api_##cls##_throwIt(vm_runtime *rt, uint16_t *a, uint16_t *ret)          \
    {                                                                            \
        (void)rt; (void)ret;                                                     \
        return JC_API_EXC((pkg), (token), a[0]);                                 \
    }
REASON_EXCEPTION(ISOException, JC_PKG_FRAMEWORK, JC_FW_ISOException)
REASON_EXCEPTION(PINException, JC_PKG_FRAMEWORK, JC_FW_PINException)
REASON_EXCEPTION(APDUException, JC_PKG_FRAMEWORK, JC_FW_APDUException)
REASON_EXCEPTION(SystemException, JC_PKG_FRAMEWORK, JC_FW_SystemException)
REASON_EXCEPTION(TransactionException, JC_PKG_FRAMEWORK, JC_FW_TransactionException)
REASON_EXCEPTION(CryptoException, JC_PKG_SECURITY, JC_SEC_CryptoException)

int api_CardRuntimeException_throwIt(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)ret;
    return JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_CardRuntimeException, a[0]);
}
int api_CardException_throwIt(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)ret;
    return JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_CardException, a[0]);
}
int api_UserException_throwIt(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)ret;
    return JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_UserException, a[0]);
}

/* ---- Applet ---- */

int api_Applet_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return 0;
}

/* The base class has no applet to create. */
int api_Applet_install(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return API_ISO(0x6A81);
}

/* True in deselect(), select() and process() of a SELECT of the applet
 * already selected on that channel (vm/runtime.c select_instance_on). */
int api_Applet_reSelectingApplet(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = rt->reselecting;
    return 0;
}

int api_Applet_register__v(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    if (!rt->installing || rt->inst_registered >= 0)
        return API_SYSTEM(JC_SYS_ILLEGAL_AID);
    int rc = vm_register_instance(rt, a[0]);
    if (rc == VM_SC_SystemException)
        return API_SYSTEM(JC_SYS_ILLEGAL_AID);
    return rc;
}

int api_Applet_register__aBSB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    BYTES(arr, a[1]);
    int8_t len = (int8_t)a[3];
    if (len < VM_AID_MIN || len > VM_AID_MAX)
        return API_SYSTEM(JC_SYS_ILLEGAL_AID);
    RANGE(arr, a[2], (uint16_t)len);
    if (!rt->installing || rt->inst_registered >= 0)
        return API_SYSTEM(JC_SYS_ILLEGAL_AID);
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].aid.len == len &&
            memcmp(rt->insts[i].aid.b, arr->data + a[2], (size_t)len) == 0)
            return API_SYSTEM(JC_SYS_ILLEGAL_AID);
    rt->inst_aid.len = (uint8_t)len;
    memcpy(rt->inst_aid.b, arr->data + a[2], (size_t)len);
    return api_Applet_register__v(rt, a, ret);
}

int api_Applet_selectingApplet(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = rt->selecting;
    return 0;
}

int api_Applet_select(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 1;
    return 0;
}

int api_Applet_deselect(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return 0;
}

int api_Applet_getShareableInterfaceObject(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 0;
    return 0;
}

/* ---- AID ---- */

static int aid_of(vm_runtime *rt, uint16_t h, const uint8_t **b, uint8_t *len)
{
    vm_obj *o;
    API_TRY(api_this(rt, h, &o));
    if (!(*b = api_aid_bytes(rt, o, len)))
        return API_SECURITY;
    return 0;
}

int api_AID_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    BYTES(src, a[1]);
    int8_t len = (int8_t)a[3];
    RANGE(src, a[2], (uint16_t)len);
    if (len < VM_AID_MIN || len > VM_AID_MAX)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    uint16_t arr;
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, (uint16_t)len, 0, &arr));
    API_TRY(api_store(rt, &rt->objs[arr], 0, src->data + a[2], (uint32_t)len, 1));
    return api_slot_set(rt, self, 0, arr);
}

/* equals(byte[], short, byte) and partialEquals: a null array is "not
 * equal", not an error (JC API). */
static int aid_compare(vm_runtime *rt, uint16_t *a, uint16_t *ret, int partial)
{
    const uint8_t *b;
    uint8_t len;
    API_TRY(aid_of(rt, a[0], &b, &len));
    *ret = 0;
    if (a[1] == 0)
        return 0;
    BYTES(arr, a[1]);
    int8_t n = (int8_t)a[3];
    RANGE(arr, a[2], (uint16_t)n);
    if (partial ? (uint8_t)n <= len : (uint8_t)n == len)
        *ret = memcmp(arr->data + a[2], b, (size_t)n) == 0;
    return 0;
}

int api_AID_equals__aBSB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return aid_compare(rt, a, ret, 0);
}

int api_AID_partialEquals(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return aid_compare(rt, a, ret, 1);
}

int api_AID_equals__Object(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const uint8_t *b, *ob;
    uint8_t len, olen;
    API_TRY(aid_of(rt, a[0], &b, &len));
    *ret = 0;
    if (a[1] == 0 || a[1] >= rt->obj_cap || !api_is_class(&rt->objs[a[1]], JC_PKG_FRAMEWORK, JC_FW_AID))
        return 0;
    if (!(ob = api_aid_bytes(rt, &rt->objs[a[1]], &olen)))
        return 0;
    *ret = olen == len && memcmp(ob, b, len) == 0;
    return 0;
}

int api_AID_RIDEquals(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const uint8_t *b, *ob;
    uint8_t len, olen;
    API_TRY(aid_of(rt, a[0], &b, &len));
    if (a[1] == 0)
        return API_NPE;
    *ret = 0;
    if (a[1] >= rt->obj_cap || !(ob = api_aid_bytes(rt, &rt->objs[a[1]], &olen)))
        return 0;
    *ret = memcmp(ob, b, 5) == 0;
    return 0;
}

int api_AID_getBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const uint8_t *b;
    uint8_t len;
    API_TRY(aid_of(rt, a[0], &b, &len));
    BYTES(dst, a[1]);
    RANGE(dst, a[2], len);
    API_TRY(api_store(rt, dst, a[2], b, len, 1));
    *ret = len;
    return 0;
}

int api_AID_getPartialBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const uint8_t *b;
    uint8_t len;
    API_TRY(aid_of(rt, a[0], &b, &len));
    int16_t from = (int16_t)a[1];
    BYTES(dst, a[2]);
    int8_t want = (int8_t)a[4];
    if (from < 0 || from > len || want < 0)
        return API_AIOOBE;
    uint8_t n = want == 0 || want > len - from ? (uint8_t)(len - from) : (uint8_t)want;
    RANGE(dst, a[3], n);
    API_TRY(api_store(rt, dst, a[3], b + from, n, 1));
    *ret = n;
    return 0;
}

/* ---- OwnerPIN ---- */

enum { PIN_LIMIT = 0, PIN_TRIES = 1, PIN_MAX = 2, PIN_LEN = 3, PIN_VALUE = 4 };

static int pin_parts(vm_runtime *rt, uint16_t h, vm_obj **state, vm_obj **validated)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    uint16_t s = api_slot(self, 0), v = api_slot(self, 1);
    if (s == 0 || v == 0 || s >= rt->obj_cap || v >= rt->obj_cap)
        return API_SECURITY;   /* constructor never ran */
    *state = &rt->objs[s];
    *validated = &rt->objs[v];
    if ((*state)->kind != VM_OBJ_BYTES || (*state)->length < PIN_VALUE || (*validated)->kind != VM_OBJ_BOOLS)
        return API_SECURITY;
    return 0;
}
#define PIN(s, v) vm_obj *s, *v; API_TRY(pin_parts(rt, a[0], &s, &v))

/* The try counter and the validated flag never take part in a
 * transaction (JC API, OwnerPIN): written unlogged. */
static int pin_put(vm_runtime *rt, vm_obj *o, unsigned at, uint8_t value)
{
    return api_store(rt, o, at, &value, 1, 0);
}

int api_OwnerPIN_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    int8_t limit = (int8_t)a[1], max = (int8_t)a[2];
    if (limit < 1 || max < 1)
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    uint16_t s, v;
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, (uint16_t)(PIN_VALUE + max), 0, &s));
    uint8_t head[PIN_VALUE] = { (uint8_t)limit, (uint8_t)limit, (uint8_t)max, 0 };
    API_TRY(api_store(rt, &rt->objs[s], 0, head, sizeof head, 1));
    API_TRY(api_new_array(rt, VM_OBJ_BOOLS, VM_OF_CLEAR_RESET, 1, 0, &v));
    self = &rt->objs[a[0]];
    API_TRY(api_slot_set(rt, self, 0, s));
    return api_slot_set(rt, self, 1, v);
}

int api_OwnerPIN_check(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    *ret = 0;
    API_TRY(pin_put(rt, v, 0, 0));
    uint8_t tries = s->data[PIN_TRIES];
    if (tries == 0)
        return 0;
    /* Durably spend the try before looking at the candidate: a power cut
     * during the comparison must not give a free try. */
    API_TRY(pin_put(rt, s, PIN_TRIES, (uint8_t)(tries - 1)));
    API_TRY(api_make_durable(rt));
    BYTES(cand, a[1]);
    int8_t len = (int8_t)a[3];
    RANGE(cand, a[2], (uint16_t)len);
    uint8_t pinlen = s->data[PIN_LEN];
    uint8_t diff = (uint8_t)((uint8_t)len ^ pinlen);
    /* constant time over the stored PIN's length */
    for (uint8_t i = 0; i < pinlen; i++)
        diff |= (uint8_t)((i < (uint8_t)len ? cand->data[a[2] + i] : 0) ^ s->data[PIN_VALUE + i]);
    if (diff != 0 || len < 0)
        return 0;
    API_TRY(pin_put(rt, s, PIN_TRIES, s->data[PIN_LIMIT]));
    API_TRY(pin_put(rt, v, 0, 1));
    *ret = 1;
    return 0;
}

int api_OwnerPIN_getTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    (void)v;
    *ret = s->data[PIN_TRIES];
    return 0;
}

int api_OwnerPIN_isValidated(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    (void)s;
    *ret = v->data[0] != 0;
    return 0;
}

int api_OwnerPIN_getValidatedFlag(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_isValidated(rt, a, ret);
}

int api_OwnerPIN_setValidatedFlag(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    (void)s;
    return pin_put(rt, v, 0, a[1] ? 1 : 0);
}

int api_OwnerPIN_reset(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    if (!v->data[0])
        return 0;
    API_TRY(pin_put(rt, v, 0, 0));
    return pin_put(rt, s, PIN_TRIES, s->data[PIN_LIMIT]);
}

int api_OwnerPIN_resetAndUnblock(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    API_TRY(pin_put(rt, v, 0, 0));
    return pin_put(rt, s, PIN_TRIES, s->data[PIN_LIMIT]);
}

/* The new value and the reset counter are one update: inside a
 * transaction both are conditional on its commit (JC API). */
int api_OwnerPIN_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    BYTES(src, a[1]);
    int8_t len = (int8_t)a[3];
    RANGE(src, a[2], (uint16_t)len);
    if (len > (int8_t)s->data[PIN_MAX])
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    uint8_t buf[4 + 127];
    buf[0] = s->data[PIN_LIMIT];
    buf[1] = s->data[PIN_LIMIT];
    buf[2] = s->data[PIN_MAX];
    buf[3] = (uint8_t)len;
    memcpy(buf + PIN_VALUE, src->data + a[2], (size_t)len);
    int rc = api_store(rt, s, 0, buf, PIN_VALUE + (uint32_t)len, 1);
    memset(buf, 0, sizeof buf);
    API_TRY(rc);
    return pin_put(rt, v, 0, 0);
}

/* OwnerPINBuilder (JC 3.0.5): OWNER_PIN 1 makes an OwnerPIN; OWNER_PIN_X 2
 * and OWNER_PIN_X_WITH_PREDECREMENT 3 the card's own classes implementing
 * those interfaces (HIDDEN in scripts/gen_api_tokens.py), with OwnerPIN's
 * state and a validated array of two flags: [0] validated, [1] "the try
 * counter was decremented for the next check" (predecrement), both
 * CLEAR_ON_RESET. */
int api_OwnerPINBuilder_buildOwnerPIN(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    static const char *const impl[] = { NULL, NULL, "javacard/framework/OwnerPINxImpl",
                                        "javacard/framework/OwnerPINxWithPredecrementImpl" };
    uint8_t type = (uint8_t)a[2];
    uint16_t pin;
    if (type == 1) {
        API_TRY(api_new_instance(rt, JC_PKG_FRAMEWORK, JC_FW_OwnerPIN, 0, &pin));
        uint16_t args[3] = { pin, a[0], a[1] };
        API_TRY(api_OwnerPIN_init(rt, args, ret));
        *ret = pin;
        return 0;
    }
    if (type != 2 && type != 3)
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    const jc_api_class *c = jc_api_class_by_name(impl[type], NULL);
    if (!c)
        return API_SECURITY;
    int8_t limit = (int8_t)a[0], max = (int8_t)a[1];
    if (limit < 1 || max < 1)
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    API_TRY(api_new_instance(rt, JC_PKG_FRAMEWORK, c->token, 0, &pin));
    uint16_t s, v;
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, (uint16_t)(PIN_VALUE + max), 0, &s));
    uint8_t head[PIN_VALUE] = { (uint8_t)limit, (uint8_t)limit, (uint8_t)max, 0 };
    API_TRY(api_store(rt, &rt->objs[s], 0, head, sizeof head, 1));
    API_TRY(api_new_array(rt, VM_OBJ_BOOLS, VM_OF_CLEAR_RESET, 2, 0, &v));
    API_TRY(api_slot_set(rt, &rt->objs[pin], 0, s));
    API_TRY(api_slot_set(rt, &rt->objs[pin], 1, v));
    *ret = pin;
    return 0;
}

/* ---- OwnerPINx, OwnerPINxWithPredecrement (the card's classes) ----
 *
 * PIN presentation (check, decrementTriesRemaining) keeps OwnerPIN's rules:
 * the try counter and the flags are written outside any transaction, and
 * a try is spent durably before the comparison. The administrative calls
 * (update, setTryLimit, setTriesRemaining) take part in a transaction
 * (JC 3.0.5 OwnerPINx). Every call that changes the counter, the validated
 * flag or the blocking state, check included, clears the predecrement
 * flag. */

static int pinx_forget_decrement(vm_runtime *rt, vm_obj *v)
{
    return v->length > 1 ? pin_put(rt, v, 1, 0) : 0;
}

int api_OwnerPINxImpl_check(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_check(rt, a, ret);
}

int api_OwnerPINxImpl_getTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_getTriesRemaining(rt, a, ret);
}

int api_OwnerPINxImpl_isValidated(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_isValidated(rt, a, ret);
}

int api_OwnerPINxImpl_reset(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    (void)s;
    API_TRY(pinx_forget_decrement(rt, v));
    return api_OwnerPIN_reset(rt, a, ret);
}

int api_OwnerPINxImpl_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    (void)s;
    API_TRY(pinx_forget_decrement(rt, v));
    return api_OwnerPIN_update(rt, a, ret);
}

int api_OwnerPINxImpl_getTryLimit(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    (void)v;
    *ret = s->data[PIN_LIMIT];
    return 0;
}

/* A new limit (>= 1); a try counter above it comes down to it. */
int api_OwnerPINxImpl_setTryLimit(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    int8_t limit = (int8_t)a[1];
    if (limit < 1)
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    API_TRY(pinx_forget_decrement(rt, v));
    uint8_t head[2] = { (uint8_t)limit, s->data[PIN_TRIES] > (uint8_t)limit ? (uint8_t)limit : s->data[PIN_TRIES] };
    return api_store(rt, s, PIN_LIMIT, head, 2, 1);
}

/* 0 (blocked) up to the try limit. */
int api_OwnerPINxImpl_setTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    PIN(s, v);
    int8_t tries = (int8_t)a[1];
    if (tries < 0 || (uint8_t)tries > s->data[PIN_LIMIT])
        return API_PIN(JC_PIN_ILLEGAL_VALUE);
    API_TRY(pinx_forget_decrement(rt, v));
    uint8_t t = (uint8_t)tries;
    return api_store(rt, s, PIN_TRIES, &t, 1, 1);
}

int api_OwnerPINxWithPredecrementImpl_getTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_getTriesRemaining(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_isValidated(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPIN_isValidated(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_reset(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPINxImpl_reset(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPINxImpl_update(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_getTryLimit(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPINxImpl_getTryLimit(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_setTryLimit(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPINxImpl_setTryLimit(rt, a, ret);
}

int api_OwnerPINxWithPredecrementImpl_setTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_OwnerPINxImpl_setTriesRemaining(rt, a, ret);
}

/* Spends a try (durably, before any comparison can happen) and clears the
 * validated flag; the next check compares without spending one. Blocked:
 * nothing changes. Returns the tries left. */
int api_OwnerPINxWithPredecrementImpl_decrementTriesRemaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    uint8_t tries = s->data[PIN_TRIES];
    API_TRY(pin_put(rt, v, 0, 0));
    if (tries == 0) {
        API_TRY(pinx_forget_decrement(rt, v));
        *ret = 0;
        return 0;
    }
    API_TRY(pin_put(rt, s, PIN_TRIES, (uint8_t)(tries - 1)));
    API_TRY(api_make_durable(rt));
    API_TRY(pin_put(rt, v, 1, 1));
    *ret = (uint8_t)(tries - 1);
    return 0;
}

/* Compares without spending a try; only right after
 * decrementTriesRemaining (else PINException.ILLEGAL_STATE). A match
 * restores the counter to the limit and sets the validated flag. */
int api_OwnerPINxWithPredecrementImpl_check(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    PIN(s, v);
    *ret = 0;
    if (v->length < 2 || !v->data[1])
        return API_PIN(JC_PIN_ILLEGAL_STATE);
    API_TRY(pin_put(rt, v, 1, 0));
    BYTES(cand, a[1]);
    int8_t len = (int8_t)a[3];
    RANGE(cand, a[2], (uint16_t)len);
    uint8_t pinlen = s->data[PIN_LEN];
    uint8_t diff = (uint8_t)((uint8_t)len ^ pinlen);
    for (uint8_t i = 0; i < pinlen; i++)
        diff |= (uint8_t)((i < (uint8_t)len ? cand->data[a[2] + i] : 0) ^ s->data[PIN_VALUE + i]);
    if (diff != 0 || len < 0)
        return 0;
    API_TRY(pin_put(rt, s, PIN_TRIES, s->data[PIN_LIMIT]));
    API_TRY(pin_put(rt, v, 0, 1));
    *ret = 1;
    return 0;
}

/* ---- SensitiveArrays ----
 *
 * An integrity-sensitive array carries a CRC-16 of its elements right after
 * them (VM_OF_SENSITIVE, vm_internal.h). Every write through the engine
 * (bytecode stores, Util, the API) checks it first and writes the new one
 * in the same way as the data — logged in a transaction, unlogged for the
 * non-atomic calls — so aborts and power cuts keep the two together.
 * Anything that changes the elements behind the engine's back (a fault on
 * the chip, a corrupted image) makes assertIntegrity and the next update
 * throw SecurityException. Ordinary arrays pay nothing: one flag test on
 * the transient-store path. */

static int sensitive_array(vm_runtime *rt, uint16_t h, vm_obj **o)
{
    API_TRY(api_object(rt, h, o));
    uint8_t k = (*o)->kind;
    if (k != VM_OBJ_BYTES && k != VM_OBJ_BOOLS && k != VM_OBJ_SHORTS && k != VM_OBJ_REFS)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    return 0;
}

int api_SensitiveArrays_isIntegritySensitiveArraysSupported(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 1;
    return 0;
}

int api_SensitiveArrays_isIntegritySensitive(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *o;
    API_TRY(api_object(rt, a[0], &o));
    *ret = (o->flags & VM_OF_SENSITIVE) != 0;
    return 0;
}

/* type: JCSystem.ARRAY_TYPE_BOOLEAN 1, BYTE 2, SHORT 3, (INT 4: no int
 * support), OBJECT 5; memory: JCSystem.MEMORY_TYPE_PERSISTENT 0,
 * TRANSIENT_RESET 1, TRANSIENT_DESELECT 2. */
int api_SensitiveArrays_makeIntegritySensitiveArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    static const uint8_t kinds[] = { 0, VM_OBJ_BOOLS, VM_OBJ_BYTES, VM_OBJ_SHORTS, 0, VM_OBJ_REFS };
    static const uint8_t memory[] = { VM_OF_PERSISTENT, VM_OF_CLEAR_RESET, VM_OF_CLEAR_DESELECT };
    uint8_t type = (uint8_t)a[0], mem = (uint8_t)a[1];
    int16_t n = (int16_t)a[2];
    if (type >= sizeof kinds || kinds[type] == 0 || mem >= sizeof memory)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    if (n < 0)
        return API_NEGSIZE;
    if (mem == 2 && rt->ctx != 0 && !rt->installing &&
        (rt->selected < 0 || rt->insts[rt->selected].pkg != rt->ctx))
        return API_SYSTEM(JC_SYS_ILLEGAL_TRANSIENT);
    uint16_t h;
    API_TRY(api_new_sensitive_array(rt, kinds[type], memory[mem], (uint16_t)n, &h));
    *ret = h;
    return 0;
}

int api_SensitiveArrays_assertIntegrity(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *o;
    API_TRY(sensitive_array(rt, a[0], &o));
    if (!(o->flags & VM_OF_SENSITIVE))
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    uint32_t at = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u);
    return vm_rd16(o->data + at) == vm_sensitive_crc(o) ? 0 : API_SECURITY;
}

/* Zeroes every element, non-atomically (like Util.arrayFillNonAtomic: a
 * secret is gone even if a transaction aborts); returns the length. */
int api_SensitiveArrays_clearArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *o;
    API_TRY(sensitive_array(rt, a[0], &o));
    uint32_t bytes = (uint32_t)o->length * (o->kind == VM_OBJ_SHORTS || o->kind == VM_OBJ_REFS ? 2u : 1u);
    if (bytes)
        API_TRY(api_fill(rt, o, 0, 0, bytes));
    *ret = o->length;
    return 0;
}

/* ---- Util ---- */

static int copy(vm_runtime *rt, uint16_t *a, uint16_t *ret, int atomic)
{
    BYTES(src, a[0]);
    BYTES(dst, a[2]);
    RANGE(src, a[1], a[4]);
    RANGE(dst, a[3], a[4]);
    uint16_t len = a[4];
    if (!(dst->flags & (VM_OF_PERSISTENT | VM_OF_SENSITIVE))) {
        /* a plain RAM destination: what vm_obj_store would do, in one move */
        memmove(dst->data + a[3], src->data + a[1], len);
        *ret = (uint16_t)(a[3] + len);
        return 0;
    }
    /* Through a buffer: overlapping copies act as if the source were
     * copied to a temporary first (JC API), and a persistent destination
     * gets one logged write per chunk. */
    uint8_t tmp[256];
    int backwards = src == dst && a[3] > a[1];
    for (uint16_t done = 0; done < len;) {
        uint16_t n = (uint16_t)((size_t)(len - done) > sizeof tmp ? sizeof tmp : (size_t)(len - done));
        uint16_t at = backwards ? (uint16_t)(len - done - n) : done;
        memcpy(tmp, src->data + a[1] + at, n);
        API_TRY(api_store(rt, dst, (uint32_t)a[3] + at, tmp, n, atomic));
        done = (uint16_t)(done + n);
    }
    *ret = (uint16_t)(a[3] + len);
    return 0;
}

int api_Util_arrayCopy(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    /* Atomic: a persistent destination is all or nothing even outside a
     * transaction. Our writes land at the end of the APDU, and a power
     * cut rolls the whole command back, so logging inside a transaction
     * is all that is needed. */
    return copy(rt, a, ret, 1);
}

int api_Util_arrayCopyNonAtomic(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return copy(rt, a, ret, 0);
}

int api_Util_arrayCompare(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    BYTES(src, a[0]);
    BYTES(dst, a[2]);
    RANGE(src, a[1], a[4]);
    RANGE(dst, a[3], a[4]);
    /* equal by memcmp; else the first differing bytes, compared signed */
    const uint8_t *p = src->data + a[1], *q = dst->data + a[3];
    int16_t r = 0;
    if (memcmp(p, q, a[4]) != 0) {
        uint16_t i = 0;
        while (p[i] == q[i])
            i++;
        r = (int16_t)((int8_t)p[i] < (int8_t)q[i] ? -1 : 1);
    }
    *ret = (uint16_t)r;
    return 0;
}

static int fill(vm_runtime *rt, uint16_t *a, uint16_t *ret, int atomic)
{
    BYTES(o, a[0]);
    RANGE(o, a[1], a[2]);
    uint8_t tmp[256];
    memset(tmp, (uint8_t)a[3], sizeof tmp);
    for (uint16_t done = 0; done < a[2];) {
        uint16_t n = (uint16_t)((size_t)(a[2] - done) > sizeof tmp ? sizeof tmp : (size_t)(a[2] - done));
        API_TRY(api_store(rt, o, (uint32_t)a[1] + done, tmp, n, atomic));
        done = (uint16_t)(done + n);
    }
    *ret = (uint16_t)(a[1] + a[2]);
    return 0;
}

int api_Util_arrayFill(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return fill(rt, a, ret, 1);
}

int api_Util_arrayFillNonAtomic(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return fill(rt, a, ret, 0);
}

int api_Util_getShort(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    BYTES(o, a[0]);
    RANGE(o, a[1], 2);
    *ret = vm_rd16(o->data + a[1]);
    return 0;
}

int api_Util_setShort(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    BYTES(o, a[0]);
    RANGE(o, a[1], 2);
    uint8_t w[2];
    vm_wr16(w, a[2]);
    API_TRY(api_store(rt, o, a[1], w, 2, 1));
    *ret = (uint16_t)(a[1] + 2);
    return 0;
}

int api_Util_makeShort(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt;
    *ret = (uint16_t)(((a[0] & 0xFF) << 8) | (a[1] & 0xFF));
    return 0;
}

/* ---- JCSystem ---- */

int api_JCSystem_getVersion(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 0x0305;
    return 0;
}

int api_JCSystem_isTransient(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    *ret = 0;
    if (a[0] == 0 || a[0] >= rt->obj_cap)
        return 0;
    uint8_t f = rt->objs[a[0]].flags;
    *ret = (f & VM_OF_PERSISTENT) ? 0 : (f & VM_OF_CLEAR_RESET) ? 1 : (f & VM_OF_CLEAR_DESELECT) ? 2 : 0;
    return 0;
}

static int make_transient(vm_runtime *rt, uint16_t *a, uint16_t *ret, uint8_t kind)
{
    int16_t n = (int16_t)a[0];
    uint8_t event = (uint8_t)a[1];
    if (n < 0)
        return API_NEGSIZE;
    if (event != 1 && event != 2)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    /* CLEAR_ON_DESELECT arrays belong to the selected applet's context */
    if (event == 2 && rt->ctx != 0 && !rt->installing &&
        (rt->selected < 0 || rt->insts[rt->selected].pkg != rt->ctx))
        return API_SYSTEM(JC_SYS_ILLEGAL_TRANSIENT);
    uint16_t h;
    API_TRY(api_new_array(rt, kind, event == 1 ? VM_OF_CLEAR_RESET : VM_OF_CLEAR_DESELECT, (uint16_t)n, 0, &h));
    *ret = h;
    return 0;
}

int api_JCSystem_makeTransientBooleanArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return make_transient(rt, a, ret, VM_OBJ_BOOLS);
}
int api_JCSystem_makeTransientByteArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return make_transient(rt, a, ret, VM_OBJ_BYTES);
}
int api_JCSystem_makeTransientShortArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return make_transient(rt, a, ret, VM_OBJ_SHORTS);
}
int api_JCSystem_makeTransientObjectArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return make_transient(rt, a, ret, VM_OBJ_REFS);
}

/* A CLEAR_ON_RESET array every context may use (JC 3.0.5 global arrays). */
int api_JCSystem_makeGlobalArray(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    static const uint8_t kinds[] = { 0, VM_OBJ_BOOLS, VM_OBJ_BYTES, VM_OBJ_SHORTS, 0, VM_OBJ_REFS };
    uint8_t type = (uint8_t)a[0];
    int16_t n = (int16_t)a[1];
    if (type >= sizeof kinds || kinds[type] == 0)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    if (n < 0)
        return API_NEGSIZE;
    uint16_t h;
    API_TRY(api_new_array(rt, kinds[type], VM_OF_CLEAR_RESET | VM_OF_GLOBAL, (uint16_t)n, 1, &h));
    *ret = h;
    return 0;
}

int api_JCSystem_getAID(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    int inst = api_current_instance(rt);
    *ret = 0;
    if (inst < 0)
        return 0;
    return api_instance_aid(rt, inst, ret);
}

int api_JCSystem_lookupAID(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    BYTES(arr, a[0]);
    int8_t len = (int8_t)a[2];
    RANGE(arr, a[1], (uint16_t)len);
    *ret = 0;
    for (unsigned i = 0; i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].aid.len == (uint8_t)len &&
            memcmp(rt->insts[i].aid.b, arr->data + a[1], (size_t)len) == 0)
            return api_instance_aid(rt, (int)i, ret);
    return 0;
}

int api_JCSystem_getPreviousContextAID(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    int inst = vm_previous_instance(rt);
    *ret = 0;
    if (inst < 0 || inst >= VM_MAX_INSTANCES || !rt->insts[inst].used)
        return 0;
    return api_instance_aid(rt, inst, ret);
}

/* The server applet's getShareableInterfaceObject(clientAID, parameter),
 * run in the server's context; null when no such applet. */
int api_JCSystem_getAppletShareableInterfaceObject(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    enum { APPLET_GET_SIO_TOKEN = 5 };
    vm_obj *server_aid;
    API_TRY(api_this(rt, a[0], &server_aid));
    uint8_t len;
    const uint8_t *b = api_aid_bytes(rt, server_aid, &len);
    *ret = 0;
    if (!b)
        return 0;
    int server = -1;
    for (unsigned i = 0; i < VM_MAX_INSTANCES && server < 0; i++)
        if (rt->insts[i].used && rt->insts[i].aid.len == len && memcmp(rt->insts[i].aid.b, b, len) == 0)
            server = (int)i;
    if (server < 0)
        return 0;
    int client = api_current_instance(rt);
    uint16_t client_aid = 0;
    if (client >= 0)
        API_TRY(api_instance_aid(rt, client, &client_aid));
    uint16_t args[3] = { rt->insts[server].obj, client_aid, (uint16_t)(int16_t)(int8_t)a[1] };
    return vm_call_virtual_as_owner(rt, APPLET_GET_SIO_TOKEN, args, 3, ret);
}

/* Selected on some logical channel (vm_instance_active). */
int api_JCSystem_isAppletActive(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *o;
    API_TRY(api_this(rt, a[0], &o));
    uint8_t len;
    const uint8_t *b = api_aid_bytes(rt, o, &len);
    *ret = 0;
    for (unsigned i = 0; b && i < VM_MAX_INSTANCES; i++)
        if (rt->insts[i].used && rt->insts[i].aid.len == len && memcmp(rt->insts[i].aid.b, b, len) == 0)
            *ret = vm_instance_active(rt, (int)i) != 0;
    return 0;
}

int api_JCSystem_getAssignedChannel(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = rt->channel;   /* the channel of the running command (engine) */
    return 0;
}

static int from_tx(vm_runtime *rt, int rc)
{
    if (rc == VM_SC_TransactionException)
        return JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_TransactionException,
                          rt->exc_reason[VM_SC_TransactionException - VM_SC_Object]);
    return rc;
}

int api_JCSystem_beginTransaction(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a; (void)ret;
    return from_tx(rt, vm_tx_begin(rt));
}
int api_JCSystem_commitTransaction(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a; (void)ret;
    return from_tx(rt, vm_tx_commit(rt));
}
int api_JCSystem_abortTransaction(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a; (void)ret;
    return from_tx(rt, vm_tx_abort(rt));
}
int api_JCSystem_getTransactionDepth(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = rt->tx_open;
    return 0;
}

static uint16_t clamp_short(int64_t v)
{
    return (uint16_t)(v < 0 ? 0 : v > 32767 ? 32767 : v);
}

int api_JCSystem_getMaxCommitCapacity(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = clamp_short(rt->cfg.commit_capacity);
    return 0;
}

int api_JCSystem_getUnusedCommitCapacity(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    uint32_t used = rt->tx_open ? rt->tx_bytes : 0;
    *ret = clamp_short(used < rt->cfg.commit_capacity ? (int64_t)(rt->cfg.commit_capacity - used) : 0);
    return 0;
}

int api_JCSystem_getAvailableMemory__B(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    int64_t n = api_available_memory(rt, (uint8_t)a[0]);
    if (n < 0)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    *ret = clamp_short(n);
    return 0;
}

/* The int count as two shorts, high word first (JC 3.0.5). */
int api_JCSystem_getAvailableMemory__aSSB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *o;
    API_TRY(api_object(rt, a[0], &o));
    if (o->kind != VM_OBJ_SHORTS)
        return API_CLASSCAST;
    int16_t off = (int16_t)a[1];
    if (off < 0 || off + 2 > o->length)
        return API_AIOOBE;
    int64_t n = api_available_memory(rt, (uint8_t)a[2]);
    if (n < 0)
        return API_SYSTEM(JC_SYS_ILLEGAL_VALUE);
    if (n > 0x7FFFFFFF)
        n = 0x7FFFFFFF;
    uint8_t w[4];
    vm_wr16(w, (uint16_t)(n >> 16));
    vm_wr16(w + 2, (uint16_t)n);
    return api_store(rt, o, 2u * (uint16_t)off, w, 4, 1);
}

int api_JCSystem_isObjectDeletionSupported(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 1;
    return 0;
}

/* Runs the deletion service at once (outside transactions; api_gc.c). */
int api_JCSystem_requestObjectDeletion(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a; (void)ret;
    unsigned freed;
    return api_collect_garbage(rt, rt->ctx, &freed);
}

/* ---- APDU ----
 *
 * The state machine of the JC API (STATE_INITIAL .. STATE_FULL_OUTGOING in
 * rt->apdu_state) over the command api_apdu_begin took: its header (and
 * what data fits) in the APDU buffer, the whole of it at rt->apdu_cmd for
 * receiveBytes, Nc = rt->apdu_lc, Ne = rt->apdu_le (Le absent: 0). The
 * response goes to rt->resp; rt->resp_len counts the bytes sent. */

enum {
    ST_INITIAL = 0, ST_PARTIAL_INCOMING = 1, ST_FULL_INCOMING = 2, ST_OUTGOING = 3,
    ST_OUTGOING_LENGTH_KNOWN = 4, ST_PARTIAL_OUTGOING = 5, ST_FULL_OUTGOING = 6,
};

static uint8_t *apdu_buf(vm_runtime *rt) { return vm_ram(rt) + VM_RAM_APDU; }

/* ISO 7816-3 cases: 1 (header), 2S/2E (Le), 3S/3E (Lc data), 4S/4E (Lc data
 * Le). An extended command has 00 where a short Lc/Le would be. A short
 * Le of 00 means 256; an extended one of 0000 means 65536 (kept as 32767,
 * all a short can say). */
int api_apdu_begin(vm_runtime *rt, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap)
{
    uint32_t nc = 0, ne = 0, cdata = 5;
    if (!apdu || len < 4 || len > 7u + 65535u + 2u)
        return -1;
    if (len == 5) {
        ne = apdu[4] ? apdu[4] : 256;
    } else if (len > 5 && apdu[4] != 0) {
        nc = apdu[4];
        if (len != 5u + nc && len != 6u + nc)
            return -1;
        if (len == 6u + nc)
            ne = apdu[len - 1] ? apdu[len - 1] : 256;
    } else if (len > 5) {
        cdata = 7;
        if (len == 7) {
            ne = vm_rd16(apdu + 5);
            ne = ne ? ne : 65536;
        } else {
            nc = vm_rd16(apdu + 5);
            if (nc == 0 || len < 7u + nc || (len != 7u + nc && len != 9u + nc))
                return -1;
            if (len == 9u + nc) {
                ne = vm_rd16(apdu + len - 2);
                ne = ne ? ne : 65536;
            }
        }
    }
    uint8_t *buf = apdu_buf(rt);
    memset(buf, 0, VM_APDU_BUFFER_SIZE);
    size_t head = len < cdata ? len : cdata;
    memcpy(buf, apdu, head);
    rt->apdu_cmd = apdu;
    rt->apdu_cmd_len = (uint32_t)len;
    rt->apdu_len = (uint16_t)(len > VM_APDU_BUFFER_SIZE ? VM_APDU_BUFFER_SIZE : len);
    rt->apdu_lc = (uint16_t)nc;
    rt->apdu_le = (uint16_t)(ne > 32767 && cdata == 7 ? 32767 : ne);
    rt->apdu_cla = apdu[0];
    rt->apdu_cdata = (uint8_t)cdata;
    rt->apdu_in_got = 0;
    rt->apdu_out_len = 0;
    rt->apdu_state = ST_INITIAL;
    rt->resp = resp;
    rt->resp_cap = cap;
    rt->resp_len = 0;
    return 0;
}

static uint16_t apdu_cdata(vm_runtime *rt) { return rt->apdu_cdata ? rt->apdu_cdata : 5; }

static uint8_t apdu_cla(vm_runtime *rt) { return rt->apdu_cla; }

/* Copy the next command data bytes (at most what fits from `at`) into the
 * buffer; returns how many. */
static uint16_t apdu_pull(vm_runtime *rt, uint16_t at)
{
    uint32_t left = (uint32_t)rt->apdu_lc - rt->apdu_in_got;
    uint32_t room = at >= VM_APDU_BUFFER_SIZE ? 0 : VM_APDU_BUFFER_SIZE - at;
    uint32_t n = left < room ? left : room;
    if (n && rt->apdu_cmd)
        memcpy(apdu_buf(rt) + at, rt->apdu_cmd + apdu_cdata(rt) + rt->apdu_in_got, n);
    rt->apdu_in_got = (uint16_t)(rt->apdu_in_got + n);
    rt->apdu_state = rt->apdu_in_got == rt->apdu_lc ? ST_FULL_INCOMING : ST_PARTIAL_INCOMING;
    return (uint16_t)n;
}

int api_APDU_getBuffer(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = VM_H_APDU_BUFFER;
    return 0;
}

int api_APDU_getNAD(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 0;
    return 0;
}

int api_APDU_getCurrentState(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = (uint16_t)(int16_t)(int8_t)rt->apdu_state;
    return 0;
}

int api_APDU_setIncomingAndReceive(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    if (rt->apdu_state != ST_INITIAL)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    *ret = apdu_pull(rt, apdu_cdata(rt));
    return 0;
}

int api_APDU_receiveBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    int16_t off = (int16_t)a[1];
    if (rt->apdu_state != ST_PARTIAL_INCOMING && rt->apdu_state != ST_FULL_INCOMING)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    if (off < 0 || off >= (int16_t)VM_APDU_BUFFER_SIZE)
        return API_APDU(JC_APDU_BUFFER_BOUNDS);
    *ret = apdu_pull(rt, (uint16_t)off);
    return 0;
}

static int apdu_incoming_known(vm_runtime *rt)
{
    return rt->apdu_state == ST_PARTIAL_INCOMING || rt->apdu_state == ST_FULL_INCOMING;
}

int api_APDU_getIncomingLength(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    if (!apdu_incoming_known(rt))
        return API_APDU(JC_APDU_ILLEGAL_USE);
    *ret = rt->apdu_lc;
    return 0;
}

int api_APDU_getOffsetCdata(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    if (!apdu_incoming_known(rt))
        return API_APDU(JC_APDU_ILLEGAL_USE);
    *ret = apdu_cdata(rt);
    return 0;
}

int api_APDU_setOutgoing(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    if (rt->apdu_state >= ST_OUTGOING && rt->apdu_state <= ST_FULL_OUTGOING)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    rt->apdu_state = ST_OUTGOING;
    *ret = rt->apdu_le > 32767 ? 32767 : rt->apdu_le;
    return 0;
}

int api_APDU_setOutgoingNoChaining(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_APDU_setOutgoing(rt, a, ret);
}

/* More than 256 response bytes only for an applet that implements
 * javacardx.apdu.ExtendedLength (JC API APDU.setOutgoingLength). */
static int apdu_extended_ok(vm_runtime *rt)
{
    int inst = api_current_instance(rt);
    if (inst < 0 || !rt->insts[inst].obj || rt->insts[inst].obj >= rt->obj_cap)
        return 1;
    uint16_t cls = rt->objs[rt->insts[inst].obj].cls;
    return vm_cap_class_is(rt, cls, api_class_id(JC_PKG_APDU, 0)) != 0;
}

int api_APDU_setOutgoingLength(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    int16_t len = (int16_t)a[1];
    if (rt->apdu_state != ST_OUTGOING)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    if (len < 0 || (size_t)len > rt->resp_cap || (len > 256 && !apdu_extended_ok(rt)))
        return API_APDU(JC_APDU_BAD_LENGTH);
    rt->apdu_out_len = (uint16_t)len;
    rt->apdu_state = ST_OUTGOING_LENGTH_KNOWN;
    return 0;
}

static int apdu_send(vm_runtime *rt, const uint8_t *src, uint16_t len)
{
    if (rt->apdu_state != ST_OUTGOING_LENGTH_KNOWN && rt->apdu_state != ST_PARTIAL_OUTGOING)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    if (rt->resp_len + len > rt->apdu_out_len || !rt->resp || rt->resp_len + len > rt->resp_cap)
        return API_APDU(JC_APDU_ILLEGAL_USE);
    memcpy(rt->resp + rt->resp_len, src, len);
    rt->resp_len += len;
    rt->apdu_state = rt->resp_len == rt->apdu_out_len ? ST_FULL_OUTGOING : ST_PARTIAL_OUTGOING;
    return 0;
}

int api_APDU_sendBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    int16_t off = (int16_t)a[1], len = (int16_t)a[2];
    if (off < 0 || len < 0 || off + len > (int32_t)VM_APDU_BUFFER_SIZE)
        return API_APDU(JC_APDU_BUFFER_BOUNDS);
    return apdu_send(rt, apdu_buf(rt) + off, (uint16_t)len);
}

int api_APDU_sendBytesLong(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    BYTES(src, a[1]);
    RANGE(src, a[2], a[3]);
    return apdu_send(rt, src->data + a[2], a[3]);
}

int api_APDU_setOutgoingAndSend(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint16_t b[2] = { a[0], a[2] };
    API_TRY(api_APDU_setOutgoing(rt, a, ret));
    API_TRY(api_APDU_setOutgoingLength(rt, b, ret));
    uint16_t c[3] = { a[0], a[1], a[2] };
    return api_APDU_sendBytes(rt, c, ret);
}

int api_APDU_isCommandChainingCLA(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = (apdu_cla(rt) & 0x80) == 0 && (apdu_cla(rt) & 0x10) != 0;
    return 0;
}

/* Secure messaging bits: b4b3 of a first interindustry CLA, b6 of a
 * further interindustry CLA (ISO 7816-4; the JC API reads them the same
 * way in a proprietary CLA). */
int api_APDU_isSecureMessagingCLA(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    uint8_t cla = apdu_cla(rt);
    *ret = (cla & 0x40) ? (cla & 0x20) != 0 : (cla & 0x0C) != 0;
    return 0;
}

int api_APDU_isISOInterindustryCLA(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = (apdu_cla(rt) & 0x80) == 0;
    return 0;
}

int api_APDU_isValidCLA(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    *ret = apdu_cla(rt) != 0xFF;
    return 0;
}

int api_APDU_getInBlockSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 254;   /* T=1: the IFSC the card announces */
    return 0;
}

int api_APDU_getOutBlockSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 254;
    return 0;
}

int api_APDU_getProtocol(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a;
    *ret = 1;   /* PROTOCOL_T1 | PROTOCOL_MEDIA_DEFAULT (contact) */
    return 0;
}

int api_APDU_waitExtension(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return 0;
}

/* Channel number coded in the CLA (ISO 7816-4: b2b1 of a first, b4..b1
 * + 4 of a further interindustry CLA). */
int api_APDU_getCLAChannel(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    uint8_t cla = apdu_cla(rt);
    *ret = (cla & 0x40) ? (uint16_t)(4 + (cla & 0x0F)) : (uint16_t)(cla & 0x03);
    return 0;
}

/* Only the selected applet's context may ask, and not during install. */
static int apdu_owner_check(vm_runtime *rt)
{
    if (rt->installing)
        return API_SECURITY;
    if (rt->ctx != 0 && (rt->selected < 0 || rt->insts[rt->selected].pkg != rt->ctx))
        return API_SECURITY;
    return 0;
}

int api_APDU_getCurrentAPDU(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    API_TRY(apdu_owner_check(rt));
    *ret = VM_H_APDU;
    return 0;
}

int api_APDU_getCurrentAPDUBuffer(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)a;
    API_TRY(apdu_owner_check(rt));
    *ret = VM_H_APDU_BUFFER;
    return 0;
}
