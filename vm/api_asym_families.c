/*
 * api_asym_families.c — the asymmetric half plugged into the symmetric
 * half's family tables (api_crypto.h): RSA and EC_FP keys for KeyBuilder,
 * the RSA ciphers for Cipher, RSA PKCS#1 v1.5 / PSS and ECDSA for
 * Signature. The operations are in api_asym.c and api_asym_key.c
 * (api_asym.h); KeyPair and KeyAgreement have no shared dispatcher.
 */
#include "api_crypto.h"
#include "api_asym.h"

const api_key_family api_asym_key_family = { asym_key_claims, asym_new_key };

const api_cipher_family api_rsa_cipher_family = {
    asym_cipher_claims, asym_cipher_setup, asym_cipher_init, asym_cipher_update, asym_cipher_do_final,
};

const api_sig_family api_asym_sig_family = {
    asym_sig_claims, asym_sig_setup, asym_sig_init, asym_sig_update, asym_sig_sign, asym_sig_verify,
    asym_sig_length, asym_sig_set_initial_digest, asym_sig_sign_precomputed, asym_sig_verify_precomputed,
};
