#!/usr/bin/env python3
"""gen_api_tokens.py — write vm/api_tokens.c, the card's built-in Java Card API
token tables (the contract is vm/api_tokens.h).

A DEVELOPER TOOL, RUN BY HAND. Its output, vm/api_tokens.c, is committed: the
product builds without ../shared (a user's clone has no such folder), so the
build never runs this script. Re-run it when the token facts or the set of
implemented methods change:

    python3 scripts/gen_api_tokens.py [--tokens DIR] [--impl vm/api_impl.h] \
        [--out vm/api_tokens.c] [--doc docs/cap-api.md]

It also writes docs/cap-api.md, the table of what is implemented.

Inputs:
  * DIR/jc305u3_<package>.json (default ../shared/javacard/tokens): the facts
    of the Java Card 3.0.5u3 export files — package AIDs and versions, class,
    method and field tokens, descriptors, access flags.
  * vm/api_impl.h: the C implementations. A method is bound to the function
    whose name the rule below gives, if api_impl.h declares it; otherwise its
    fn stays NULL (not implemented, docs/cap.md says what the applet gets).
        api_<Class>_<method>[__<args>]
    <Class> is the simple class name ('$' -> '_'), <method> the method name
    ('<init>' -> 'init'); the __<args> suffix is added only when the class
    declares the name more than once, and spells the argument descriptor
    with '[' -> 'a' and 'Lpkg/Name;' -> 'Name' (Applet.register([BSB)V ->
    api_Applet_register__aBSB). A method an export file lists in a class
    but inherits (equals, getReason, ...) binds to the nearest superclass
    implementation.
  * vm/loader_api.json: cardvm's own LOADER package (cardvm.loader), in the
    same form as the export-file facts, plus "privileged": true. Its
    methods bind by the same rule (api_Loader_<method>, vm/api_loader.c);
    the table marks the package privileged, so that only the customization
    software may link against it (api_tokens.h, docs/loader.md).
  * HIDDEN below: the card's own classes, not in any export file (the class
    of the objects KeyBuilder and OwnerPINBuilder return). They get tokens after the exported
    ones and JC_API_HIDDEN, so no CAP can link against them.

A ctest (test/cap/test_cap_api_tokens) re-runs this script when ../shared
exists and fails if the committed file differs from its output.
"""
import argparse
import json
import os
import re
import sys

PACKAGES = [
    "java.lang",
    "javacard.framework",
    "javacard.security",
    "javacardx.crypto",
    "javacardx.apdu",
]

CLASS_FLAGS = {
    "public": 0x0001, "final": 0x0010, "interface": 0x0200,
    "abstract": 0x0400, "shareable": 0x0800, "remote": 0x1000,
}
MEMBER_FLAGS = {
    "public": 0x0001, "private": 0x0002, "protected": 0x0004,
    "static": 0x0008, "final": 0x0010, "abstract": 0x0400,
}
HIDDEN_FLAG = 0x8000

KIND = {
    "static": "JC_STATIC_METHOD",
    "virtual": "JC_VIRTUAL_METHOD",
    "interface": "JC_VIRTUAL_METHOD",
    "constructor": "JC_CONSTRUCTOR",
}

# Hidden slots of the API classes' state (superclasses' included), see
# api_tokens.h and api_impl.h for what each slot holds.
NATIVE_SLOTS = {
    "javacard/framework/CardRuntimeException": 1,   # reason
    "javacard/framework/CardException": 1,          # reason
    "javacard/framework/AID": 1,                    # ref byte[] of the AID
    "javacard/framework/OwnerPIN": 2,               # ref state byte[], ref validated boolean[1]
    # OwnerPIN's slots; the boolean[2] also holds the predecrement flag
    "javacard/framework/OwnerPINxImpl": 2,
    "javacard/framework/OwnerPINxWithPredecrementImpl": 2,
    "javacard/security/AESKeyImpl": 4,              # type, size, ref key byte[], initialized
    "javacard/security/HMACKeyImpl": 3,             # type, capacity, ref key byte[]
    "javacard/security/DESKeyImpl": 3,              # type, size, ref key byte[]
    "javacardx/crypto/Cipher": 4,                   # algorithm, mode, key ref, ref state byte[]
    "javacard/security/MessageDigest": 2,           # algorithm, ref state byte[]
    "javacard/security/Signature": 4,               # algorithm, mode, key ref, ref state byte[]
    "javacard/security/RandomData": 2,              # algorithm, ref seed byte[]
    # OneShot: the superclass's slots, then an open flag
    "javacardx/crypto/Cipher$OneShot": 5,
    "javacard/security/Signature$OneShot": 5,
    "javacard/security/MessageDigest$OneShot": 3,
    "javacard/security/InitializedMessageDigest$OneShot": 3,
    "javacard/security/RandomData$OneShot": 3,
    "javacard/security/KeyPair": 2,                 # public key ref, private key ref
    "javacard/security/Checksum": 2,                # algorithm, ref state byte[]
    "javacard/security/KeyAgreement": 2,            # algorithm, private key ref
    # type, size, ref persistent components byte[], ref secret components byte[]
    "javacard/security/RSAPublicKeyImpl": 4,
    "javacard/security/RSAPrivateKeyImpl": 4,
    "javacard/security/RSAPrivateCrtKeyImpl": 4,
    "javacard/security/ECPublicKeyImpl": 4,
    "javacard/security/ECPrivateKeyImpl": 4,
}

# The card's own classes (not exported): (package, simple name, the API
# interface whose methods it implements, by name and descriptor).
HIDDEN = [
    ("javacard.framework", "OwnerPINxImpl", "javacard/framework/OwnerPINx"),
    ("javacard.framework", "OwnerPINxWithPredecrementImpl", "javacard/framework/OwnerPINxWithPredecrement"),
    ("javacard.security", "AESKeyImpl", "javacard/security/AESKey"),
    ("javacard.security", "HMACKeyImpl", "javacard/security/HMACKey"),
    ("javacard.security", "DESKeyImpl", "javacard/security/DESKey"),
    ("javacard.security", "RSAPublicKeyImpl", "javacard/security/RSAPublicKey"),
    ("javacard.security", "RSAPrivateKeyImpl", "javacard/security/RSAPrivateKey"),
    ("javacard.security", "RSAPrivateCrtKeyImpl", "javacard/security/RSAPrivateCrtKey"),
    ("javacard.security", "ECPublicKeyImpl", "javacard/security/ECPublicKey"),
    ("javacard.security", "ECPrivateKeyImpl", "javacard/security/ECPrivateKey"),
]


def slashed(dotted):
    return dotted.replace(".", "/") if dotted else None


def words(desc_args):
    n, i = 0, 0
    while i < len(desc_args):
        c = desc_args[i]
        if c == "[":
            while desc_args[i] == "[":
                i += 1
            if desc_args[i] == "L":
                i = desc_args.index(";", i)
            i += 1
            n += 1
        elif c == "L":
            i = desc_args.index(";", i) + 1
            n += 1
        else:
            n += 2 if c in "IJ" else 1
            i += 1
    return n


def split_desc(desc):
    m = re.fullmatch(r"\((.*)\)(.+)", desc)
    return m.group(1), m.group(2)


def mangle(args):
    out, i = [], 0
    while i < len(args):
        c = args[i]
        if c == "[":
            out.append("a")
            i += 1
        elif c == "L":
            j = args.index(";", i)
            out.append(args[i + 1:j].split("/")[-1].replace("$", "_"))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def c_name(cls_simple, meth, desc, overloaded):
    base = "api_%s_%s" % (cls_simple.replace("$", "_"), "init" if meth == "<init>" else meth)
    if overloaded:
        base += "__" + (mangle(split_desc(desc)[0]) or "v")
    return base


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# cardvm's own packages (after the Java Card API, so the API's package
# indices stay what vm/api_impl.h says), relative to the source root.
CARDVM_PACKAGES = [os.path.join("vm", "loader_api.json")]


def load(tokens_dir, root):
    pkgs = []
    for p in PACKAGES:
        with open(os.path.join(tokens_dir, "jc305u3_%s.json" % p)) as f:
            pkgs.append(json.load(f))
    for p in CARDVM_PACKAGES:
        with open(os.path.join(root, p)) as f:
            pkgs.append(json.load(f))
    return pkgs


def add_hidden(pkgs):
    by_name = {}
    for d in pkgs:
        for c in d["classes"]:
            by_name[slashed(d["package"]) + "/" + c["name"]] = (d, c)
    for pkg, simple, iface in HIDDEN:
        d = next(x for x in pkgs if x["package"] == pkg)
        _, ic = by_name[iface]
        obj = by_name["java/lang/Object"][1]
        methods = [dict(m) for m in obj["methods"] if m["kind"] == "virtual"]
        tok = 1 + max(m["token"] for m in methods)
        for m in ic["methods"]:
            methods.append({"name": m["name"], "descriptor": m["descriptor"], "token": tok,
                            "access": ["public"], "kind": "virtual"})
            tok += 1
        token = 1 + max(c["token"] for c in d["classes"])
        d["classes"].append({
            "name": simple, "token": token, "access": ["final"], "hidden": True,
            "is_interface": False, "superclass": "java.lang.Object", "supers": ["java.lang.Object"],
            "interfaces": [iface.replace("/", ".")] + ic["interfaces"],
            "fields": [], "methods": methods,
        })


def generate(pkgs, impl_names):
    # full slashed name -> (package json, class json)
    classes = {}
    for d in pkgs:
        for c in d["classes"]:
            classes[slashed(d["package"]) + "/" + c["name"]] = c

    def super_of(c):
        if c["is_interface"] or not c["supers"]:
            return None
        return slashed(c["supers"][-1])

    def chain(full):
        out = []
        while full:
            out.append(full)
            full = super_of(classes[full])
        return out

    def slots(full):
        for name in chain(full):
            if name in NATIVE_SLOTS:
                return NATIVE_SLOTS[name]
        return 0

    def bind(full, m, kind):
        """The implementing C function of method m listed in class full."""
        for name in (chain(full) if kind != "static" else [full]):
            c = classes[name]
            if kind == "constructor" and any(x["name"] == "init" for x in c["methods"]):
                # '<init>' and a method 'init' would share api_<Class>_init:
                # that name is the method's (KeyAgreement.init, Checksum.init)
                break
            same = [x for x in c["methods"] if x["name"] == m["name"]]
            if not any(x["descriptor"] == m["descriptor"] for x in same):
                break
            fn = c_name(c["name"], m["name"], m["descriptor"], len(same) > 1)
            if fn in impl_names:
                return fn
            if kind == "constructor":
                break
        return None

    out = []
    w = out.append
    w("/*")
    w(" * api_tokens.c — GENERATED by scripts/gen_api_tokens.py from the Java Card")
    w(" * 3.0.5u3 export-file facts (../shared/javacard/tokens/jc305u3_*.json) and the")
    w(" * implementations declared in vm/api_impl.h. Do not edit: change the")
    w(" * generator or api_impl.h and re-run it (see its header). The contract is")
    w(" * vm/api_tokens.h.")
    w(" */")
    w('#include <string.h>')
    w("")
    w('#include "api_tokens.h"')
    w('#include "api_impl.h"')
    w("")
    bound = 0
    total = 0
    pkg_rows = []
    for d in pkgs:
        pname = slashed(d["package"])
        pid = pname.replace("/", "_")
        rows = {}
        for c in sorted(d["classes"], key=lambda c: c["token"]):
            full = pname + "/" + c["name"]
            cid = "%s_%s" % (pid, c["name"].replace("$", "_"))
            if c["interfaces"]:
                w("static const char *const %s_ifaces[] = { %s, NULL };" % (
                    cid, ", ".join(cstr(slashed(i)) for i in c["interfaces"])))
            if c["methods"]:
                w("static const jc_api_method %s_methods[] = {" % cid)
                for m in c["methods"]:
                    args, ret = split_desc(m["descriptor"])
                    kind = m["kind"]
                    n = words(args) + (0 if kind == "static" else 1)
                    r = 0 if ret == "V" else 2 if ret in ("I",) else 1
                    flags = 0
                    for a in m["access"]:
                        flags |= MEMBER_FLAGS[a]
                    fn = bind(full, m, kind)
                    total += 1
                    if fn:
                        bound += 1
                    w("    { %s, %s, %d, %s, 0x%04X, %d, %d, %s }," % (
                        cstr(m["name"]), cstr(m["descriptor"]), m["token"], KIND[kind],
                        flags, n, r, fn or "NULL"))
                w("};")
            if c["fields"]:
                w("static const jc_api_field %s_fields[] = {" % cid)
                for f in c["fields"]:
                    flags = 0
                    for a in f["access"]:
                        flags |= MEMBER_FLAGS[a]
                    kind = "JC_STATIC_FIELD" if f["kind"] == "static" else "JC_INSTANCE_FIELD"
                    w("    { %s, %s, %d, %s, 0x%04X, %d }," % (
                        cstr(f["name"]), cstr(f["descriptor"]), f["token"], kind, flags,
                        f.get("constant_value", 0)))
                w("};")
            flags = 0
            for a in c["access"]:
                flags |= CLASS_FLAGS[a]
            if c.get("hidden"):
                flags |= HIDDEN_FLAG
            sup = super_of(c)
            rows[c["token"]] = (
                "    [%d] = { %s, %d, 0x%04X, %s, %d, %s, %s, %d, %s, %d }," % (
                    c["token"], cstr(full), c["token"], flags, cstr(sup) if sup else "NULL",
                    slots(full), cid + "_ifaces" if c["interfaces"] else "NULL",
                    cid + "_methods" if c["methods"] else "NULL", len(c["methods"]),
                    cid + "_fields" if c["fields"] else "NULL", len(c["fields"])))
        w("static const jc_api_class %s_classes[] = {" % pid)
        for t in sorted(rows):
            w(rows[t])
        w("};")
        w("")
        aid = bytes.fromhex(d["aid"])
        pkg_rows.append("    { %s, { %s }, %d, %d, %d, %s_classes, %d, %d }," % (
            cstr(pname), ", ".join("0x%02X" % b for b in aid), len(aid), d["major"], d["minor"],
            pid, max(rows) + 1, 1 if d.get("privileged") else 0))
    w("const jc_api_package jc_api_packages[] = {")
    out.extend(pkg_rows)
    w("};")
    w("const unsigned jc_api_package_count = sizeof jc_api_packages / sizeof jc_api_packages[0];")
    w("")
    w(LOOKUPS)
    return "\n".join(out) + "\n", bound, total


LOOKUPS = r"""const jc_api_package *jc_api_find_package(const uint8_t *aid, uint8_t aid_len)
{
    for (unsigned i = 0; i < jc_api_package_count; i++) {
        const jc_api_package *p = &jc_api_packages[i];
        if (p->aid_len == aid_len && memcmp(p->aid, aid, aid_len) == 0)
            return p;
    }
    return NULL;
}

const jc_api_class *jc_api_class_by_token(const jc_api_package *p, uint8_t token)
{
    if (!p || token >= p->class_count || !p->classes[token].name)
        return NULL;
    return &p->classes[token];
}

const jc_api_method *jc_api_method_by_token(const jc_api_class *c, uint8_t token, uint8_t kind)
{
    if (!c)
        return NULL;
    for (uint16_t i = 0; i < c->method_count; i++)
        if (c->methods[i].token == token && c->methods[i].kind == kind)
            return &c->methods[i];
    return NULL;
}

const jc_api_class *jc_api_class_by_name(const char *name, const jc_api_package **pkg)
{
    for (unsigned i = 0; i < jc_api_package_count; i++) {
        const jc_api_package *p = &jc_api_packages[i];
        for (uint16_t t = 0; t < p->class_count; t++) {
            if (p->classes[t].name && strcmp(p->classes[t].name, name) == 0) {
                if (pkg)
                    *pkg = p;
                return &p->classes[t];
            }
        }
    }
    return NULL;
}

const jc_api_method *jc_api_method_by_name(const jc_api_class *c, const char *name, const char *desc,
                                           uint8_t kind)
{
    if (!c)
        return NULL;
    for (uint16_t i = 0; i < c->method_count; i++) {
        const jc_api_method *m = &c->methods[i];
        if (m->kind == kind && strcmp(m->name, name) == 0 && strcmp(m->desc, desc) == 0)
            return m;
    }
    return NULL;
}

int jc_api_implements(const jc_api_class *c, const char *iface)
{
    for (; c; c = c->super_name ? jc_api_class_by_name(c->super_name, NULL) : NULL) {
        if (strcmp(c->name, iface) == 0)
            return 1;
        for (const char *const *i = c->interfaces; i && *i; i++)
            if (strcmp(*i, iface) == 0)
                return 1;
    }
    return 0;
}

const jc_api_method *jc_api_interface_method(const jc_api_class *c, const jc_api_class *iface, uint8_t token)
{
    const jc_api_method *im = jc_api_method_by_token(iface, token, JC_VIRTUAL_METHOD);
    if (!im || !jc_api_implements(c, iface->name))
        return NULL;
    return jc_api_method_by_name(c, im->name, im->desc, JC_VIRTUAL_METHOD);
}"""


# What an implemented method does beyond the specification's plain
# behaviour, or where it stops short of it (docs/cap-api.md).
NOTES = {
    "javacard/framework/Applet.reSelectingApplet": "true in deselect(), select() and process() of a SELECT of the applet already selected on that channel (JCRE 3.0.5 4.6: it is deselected and selected again)",
    "javacard/framework/Applet.install": "ISOException 6A81: the base class has nothing to install",
    "javacard/framework/JCSystem.isObjectDeletionSupported": "true",
    "javacard/framework/JCSystem.requestObjectDeletion": "deletes the context's unreachable objects at once (conservative marking); a no-op inside a transaction",
    "javacard/framework/JCSystem.makeGlobalArray": "CLEAR_ON_RESET, owned by the JCRE, reachable from every context",
    "javacard/framework/APDU.getProtocol": "PROTOCOL_T1 with PROTOCOL_MEDIA_DEFAULT",
    "javacard/framework/APDU.getInBlockSize": "254 (T=1 IFSC)",
    "javacard/framework/APDU.getOutBlockSize": "254 (T=1 IFSD)",
    "javacard/framework/APDU.getNAD": "0",
    "javacard/framework/APDU.waitExtension": "nothing to do (no T=0 waiting time)",
    "javacard/framework/APDU.setOutgoingLength": "over 256 only for applets that implement ExtendedLength, and up to the response buffer the card passes",
    "javacard/framework/OwnerPIN.check": "spends the try and commits it before comparing (outside transactions); compares in constant time",
    "javacard/security/KeyBuilder.buildKey": "TYPE_DES (64, 128, 192 bits), TYPE_AES (128/192/256), TYPE_HMAC (1 to 1024 bytes) and their _TRANSIENT_RESET / _TRANSIENT_DESELECT variants; the 4-argument form maps (ALG_TYPE_*, MEMORY_TYPE_*) to those; no key encryption; else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/KeyBuilder.buildKeyWithSharedDomain": "CryptoException.NO_SUCH_ALGORITHM",
    "javacardx/crypto/Cipher.getInstance": "DES/3DES and AES in ECB and CBC with NOPAD, ISO9797_M1, ISO9797_M2, PKCS5; ALG_AES_CTR; docs/cap.md lists every constant; else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/Signature.getInstance": "DES MAC4/MAC8 (NOPAD, ISO9797 M1/M2, PKCS5, ISO9797-1 M1/M2 ALG3), ALG_AES_MAC_128_NOPAD, ALG_AES_CMAC_128, ALG_HMAC_SHA1/256/384/512; docs/cap.md lists every constant; else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/Signature.verify": "compares in constant time",
    "javacard/security/Signature.setInitialDigest": "RSA and ECDSA: the hash state after a block-aligned first part (the algorithm's whole chaining state: 20, 32 or 64 bytes), after init(); CryptoException.ILLEGAL_USE for the MAC algorithms (no digest)",
    "javacard/security/InitializedMessageDigest.setInitialDigest": "the hash state after a block-aligned first part (the algorithm's whole chaining state: 20 bytes for SHA-1, 32 for SHA-224/256, 64 for SHA-384/512); else CryptoException.ILLEGAL_VALUE",
    "javacard/security/Signature.signPreComputedHash": "CryptoException.ILLEGAL_USE for the MAC algorithms (no digest)",
    "javacard/security/Signature.verifyPreComputedHash": "CryptoException.ILLEGAL_USE for the MAC algorithms (no digest)",
    "javacard/security/MessageDigest.getInstance": "ALG_SHA, ALG_SHA_224, ALG_SHA_256, ALG_SHA_384, ALG_SHA_512; else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/MessageDigest.getInitializedMessageDigestInstance": "the algorithms of getInstance; else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/RandomData.getInstance": "ALG_PSEUDO_RANDOM (a SHA-256 generator, deterministic from its seeds), ALG_SECURE_RANDOM, ALG_TRNG, ALG_PRESEEDED_DRBG, ALG_FAST, ALG_KEYGENERATION (the system RNG); else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/RandomData.setSeed": "ALG_PSEUDO_RANDOM: mixed into its state (replaces the state of an object not yet seeded or drawn from); the others: accepted and not used",
    "javacard/security/Checksum.getInstance": "ALG_ISO3309_CRC16, ALG_ISO3309_CRC32 (LSB-first, initial value 0 unless init() sets one, no final complement); else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/framework/OwnerPINBuilder.buildOwnerPIN": "OWNER_PIN (an OwnerPIN), OWNER_PIN_X and OWNER_PIN_X_WITH_PREDECREMENT (the card's own classes implementing those interfaces); another type: PINException.ILLEGAL_VALUE",
    "javacard/framework/SensitiveArrays.isIntegritySensitiveArraysSupported": "true",
    "javacard/framework/SensitiveArrays.makeIntegritySensitiveArray": "boolean, byte, short and Object arrays, persistent or transient; a CRC-16 of the elements follows them, checked before and rewritten after every update by the engine; ARRAY_TYPE_INT and other values: SystemException.ILLEGAL_VALUE",
    "javacard/framework/SensitiveArrays.assertIntegrity": "recomputes the CRC-16: SecurityException when it differs; SystemException.ILLEGAL_VALUE for an object that is not an integrity-sensitive array",
    "javacard/framework/SensitiveArrays.clearArray": "zeroes any array, non-atomically (a sensitive one after its integrity check); returns the length; SystemException.ILLEGAL_VALUE for a non-array",
}
for _c in ("javacardx/crypto/Cipher$OneShot", "javacard/security/MessageDigest$OneShot",
           "javacard/security/RandomData$OneShot", "javacard/security/Signature$OneShot",
           "javacard/security/InitializedMessageDigest$OneShot"):
    NOTES[_c + ".open"] = ("the algorithms of getInstance; reuses a closed object of the caller's context "
                           "with the same algorithm, so opening one per APDU does not use up memory")

# The asymmetric half (vm/api_asym.h): notes of its own members, and what
# it adds to the notes of the factories it shares with the symmetric half.
NOTES_ASYM = {
    "javacard/security/KeyAgreement.getInstance": "ALG_EC_SVDP_DH (= _KDF, SHA-1 of x), ALG_EC_SVDP_DHC, ALG_EC_SVDP_DH_PLAIN, ALG_EC_SVDP_DHC_PLAIN, ALG_EC_SVDP_DH_PLAIN_XY (04 || x || y); else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/KeyAgreement.generateSecret": "the public point uncompressed, or compressed on curves with p = 3 mod 4; checked to be on the curve (else ILLEGAL_VALUE)",
    "javacard/security/KeyPair.<init>": "ALG_RSA, ALG_RSA_CRT (512 to 4096 bits in steps of 16), ALG_EC_FP (112 to 521 bits); else CryptoException.NO_SUCH_ALGORITHM",
    "javacard/security/KeyPair.genKeyPair": "RSA: the public key's exponent if set, else 65537; EC: the domain parameters of whichever key has them (copied to the other), else the card's curve of that size (secp112r1, secp128r1, secp160r1, P-192, P-224, P-256, P-384, P-521)",
    "javacard/security/ECPublicKey.setFieldFP": "any prime field, any A (A = -3: libtomcrypt's point arithmetic; other A: vm/api_ec_point.c); a singular curve is CryptoException.ILLEGAL_VALUE when used",
}
NOTES_ASYM_ADD = {
    "javacard/security/KeyBuilder.buildKey": "TYPE_RSA_PUBLIC, TYPE_RSA_PRIVATE, TYPE_RSA_CRT_PRIVATE (512 to 4096 bits in steps of 16) and their _TRANSIENT_RESET/_DESELECT private forms, TYPE_EC_FP_PUBLIC, TYPE_EC_FP_PRIVATE (112 to 521 bits) and the transient private forms; ALG_TYPE_RSA_*, ALG_TYPE_EC_FP_* with any memory type for private keys, persistent for public keys",
    "javacardx/crypto/Cipher.getInstance": "ALG_RSA_PKCS1, ALG_RSA_NOPAD, ALG_RSA_PKCS1_OAEP (SHA-1, empty label); CIPHER_RSA with PAD_PKCS1, PAD_NOPAD, PAD_PKCS1_OAEP",
    "javacardx/crypto/Cipher.update": "RSA: CryptoException.ILLEGAL_USE (one block, doFinal only)",
    "javacard/security/Signature.getInstance": "ALG_RSA_SHA_PKCS1, ALG_RSA_SHA_224/256/384/512_PKCS1 and their _PSS forms (MGF1 with the same hash, salt of the hash's length), ALG_ECDSA_SHA, ALG_ECDSA_SHA_224/256/384/512 (DER signatures); the same through getInstance(md, SIG_CIPHER_RSA/ECDSA, pad)",
    "javacard/security/Signature.signPreComputedHash": "RSA and ECDSA: the hash must have the digest's length (else ILLEGAL_VALUE)",
    "javacard/security/Signature.verifyPreComputedHash": "RSA and ECDSA: the hash must have the digest's length (else ILLEGAL_VALUE)",
    "javacard/security/Signature.setInitialDigest": "RSA and ECDSA: CryptoException.ILLEGAL_USE",
    "javacard/security/Signature.getLength": "ECDSA: the longest DER signature of the curve",
}
NOTES.update(NOTES_ASYM)
for _k, _v in NOTES_ASYM_ADD.items():
    NOTES[_k] = NOTES[_k] + "; " + _v if _k in NOTES else _v


def generate_doc(pkgs, text):
    """docs/cap-api.md from the generated C (what is bound) and the JSON."""
    bound = {}
    cur = None
    for line in text.split("\n"):
        m = re.match(r"static const jc_api_method (\w+)_methods", line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r'    \{ "([^"]+)", "([^"]+)", (\d+), (\w+), 0x\w+, \d+, \d+, (\w+) \},', line)
        if m and cur:
            bound[(cur, m.group(1), m.group(2), m.group(4))] = m.group(5) != "NULL"
    out = []
    w = out.append
    w("# The built-in Java Card API: what is implemented")
    w("")
    w("GENERATED by scripts/gen_api_tokens.py with vm/api_tokens.c; do not edit.")
    w("One row per method of the five built-in packages (Java Card 3.0.5")
    w("classic, the export files' tokens) and of cardvm's own LOADER package")
    w("(cardvm.loader, vm/loader_api.json; only the customization software may")
    w("import it, docs/loader.md). Status:")
    w("")
    w("* **yes** — implemented in C (vm/api_lang.c, api_framework.c, the crypto files of vm/api_crypto.h")
    w("  and of vm/api_asym.h);")
    w("  a note says where the card's behaviour is one the specification allows")
    w("  among several, or where it stops short.")
    w("* **abstract** — an abstract method or an interface method: the class that")
    w("  implements it (the applet's, or the card's own) runs.")
    w("* **no-op** — not implemented, and a constructor of a class without state:")
    w("  `super()` from an applet's subclass simply returns.")
    w("* **no** — not implemented: the applet gets `SystemException` with reason")
    w("  `ILLEGAL_VALUE` (the engine's answer for an unsupported feature); the")
    w("  crypto factories answer `CryptoException.NO_SUCH_ALGORITHM` instead.")
    w("")
    w("Compile-time constants (ISO7816.SW_*, algorithm numbers...) are inlined by")
    w("the converter and never linked; they are not listed.")
    w("")
    totals = {"yes": 0, "abstract": 0, "no-op": 0, "no": 0}
    for d in pkgs:
        pname = slashed(d["package"])
        pid = pname.replace("/", "_")
        w("## %s (%s %d.%d, AID %s)" % (d["package"], "privileged package" if d.get("privileged") else "package",
                                         d["major"], d["minor"], d["aid"]))
        w("")
        for c in sorted(d["classes"], key=lambda c: c["token"]):
            cid = "%s_%s" % (pid, c["name"].replace("$", "_"))
            full = pname + "/" + c["name"]
            kind = "interface" if c["is_interface"] else "class"
            made_by = "OwnerPINBuilder" if c["name"].startswith("OwnerPINx") else "KeyBuilder"
            extra = f" (the card's own class of the objects {made_by} returns; not exported)" if c.get("hidden") else ""
            w("### %s %s — token %d%s" % (kind, c["name"], c["token"], extra))
            w("")
            if not c["methods"]:
                w("No methods.")
                w("")
                continue
            w("| method | kind | token | implemented |")
            w("|---|---|---|---|")
            for m in c["methods"]:
                k = KIND[m["kind"]]
                is_bound = bound.get((cid, m["name"], m["descriptor"], k), False)
                if is_bound:
                    st = "yes"
                elif "abstract" in m["access"] or m["kind"] == "interface":
                    st = "abstract"
                elif m["kind"] == "constructor" and words(split_desc(m["descriptor"])[0]) == 0:
                    st = "no-op"
                else:
                    st = "no"
                totals[st] += 1
                note = NOTES.get(full + "." + m["name"])
                cell = st + (": " + note if note else "")
                w("| `%s%s` | %s | %d | %s |" % (m["name"], m["descriptor"], m["kind"], m["token"], cell))
            w("")
    head = "Totals: %d implemented, %d abstract, %d no-op constructors, %d not implemented." % (
        totals["yes"], totals["abstract"], totals["no-op"], totals["no"])
    out.insert(out.index("Compile-time constants (ISO7816.SW_*, algorithm numbers...) are inlined by"), head + "\n")
    return "\n".join(out) + "\n"


def impl_declared(path):
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        text = f.read()
    return set(re.findall(r"\bint\s+(api_\w+)\s*\(", text))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default=os.path.join(root, "..", "shared", "javacard", "tokens"))
    ap.add_argument("--impl", default=os.path.join(root, "vm", "api_impl.h"))
    ap.add_argument("--out", default=os.path.join(root, "vm", "api_tokens.c"))
    ap.add_argument("--doc", default=os.path.join(root, "docs", "cap-api.md"),
                    help="the implementation table (docs/cap-api.md); '' for none")
    a = ap.parse_args()
    pkgs = load(a.tokens, root)
    add_hidden(pkgs)
    impl = impl_declared(a.impl)
    text, bound, total = generate(pkgs, impl)
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)
    if a.doc:
        with open(a.doc, "w") as f:
            f.write(generate_doc(pkgs, text))
    sys.stderr.write("%d methods, %d implemented\n" % (total, bound))


if __name__ == "__main__":
    main()
