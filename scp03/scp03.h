/*
 * cardvm SCP03 -- GlobalPlatform Secure Channel Protocol '03'
 * (Card Specification v2.2 Amendment D v1.1.1), card side and host side.
 *
 * READ THIS FIRST
 *
 * One module, two roles. The card (the LOADER acting as issuer security
 * domain) and the off-card tools (scripts, campaign preparation, tests) link
 * the same code, so a bug cannot hide by being symmetric in two
 * implementations: the published eUICC traces in test/scp03/vectors pin both
 * roles byte for byte.
 *
 * Everything lives in caller-owned structs. There is no global mutable
 * state and the card side never allocates: the card's RAM is simulated by
 * the caller, and the session struct is meant to live in it. The structs
 * hold no pointers, so the caller may memcpy them (save/restore RAM, tear
 * tests). The only process-wide thing is libtomcrypt's cipher table, filled
 * once with AES (scp03_crypto_init); it never changes afterwards.
 *
 * Crypto is libtomcrypt's AES, AES-CBC and AES-CMAC (omac_*). Session keys
 * are scheduled once per session and the schedule is kept in the session
 * struct (scp03_aes_key), because re-running the AES key expansion for every
 * MAC and every CBC pass costs more than the MAC of a short APDU. Secrets are
 * compared in constant time and wiped (scp03_wipe) when a session ends.
 *
 * Transport: raw APDU bytes in, raw bytes out; short and extended length
 * (ISO/IEC 7816-4 cases 1-4); the CLA secure-messaging indication and the
 * logical channel bits of both interindustry class codings. The module does
 * not know about T=0, GET RESPONSE or which application is selected: the
 * caller routes the APDUs of the security domain that owns the channel here,
 * keeps one card session per logical channel, and tells the module when the
 * application session ends (scp03_card_reset).
 *
 * A card-side round trip:
 *
 *     switch (scp03_card_command(&ses, &cfg, apdu, n, buf, sizeof buf, &len, &sw)) {
 *     case SCP03_CARD_REPLY:   send(buf, len); break;        // module answered
 *     case SCP03_CARD_PROCESS:                                // buf = plain APDU
 *         app_process(buf, len, rdata, &rlen, &rsw);
 *         scp03_card_wrap_response(&ses, rdata, rlen, rsw, out, sizeof out, &olen);
 *         send(out, olen); break;
 *     default: caller bug (NULL argument, buffer too small); answer sw.
 *     }
 *
 * Host side: scp03_host_init, scp03_host_initialize_update (send it),
 * scp03_host_check_initialize_update_response, scp03_host_external_authenticate
 * (send it, expect 9000), then scp03_host_wrap / scp03_host_unwrap per command.
 *
 * docs/scp03.md has the protocol notes, status words and the CHANGE MODE
 * context contract in prose.
 */
#ifndef CARDVM_SCP03_H
#define CARDVM_SCP03_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Return codes                                                             */
/* ------------------------------------------------------------------------ */

/* Functions return SCP03_OK (0) or a negative SCP03_ERR_*; scp03_card_command
 * returns one of the two positive "what to do next" codes instead of OK. */
#define SCP03_OK 0
#define SCP03_CARD_PROCESS 1   /* out holds the plain command: hand it to the application */
#define SCP03_CARD_REPLY 2     /* out holds the complete response APDU: send it as is */

#define SCP03_ERR_PARAM (-1)     /* NULL pointer, bad length or value passed by the caller */
#define SCP03_ERR_BUFFER (-2)    /* output buffer too small; nothing was changed */
#define SCP03_ERR_CRYPTO (-3)    /* libtomcrypt failed (AES not registered, ...) */
#define SCP03_ERR_STATE (-4)     /* call not valid in the current session state */
#define SCP03_ERR_FORMAT (-5)    /* malformed APDU, response or key block */
#define SCP03_ERR_AUTH (-6)      /* cryptogram, MAC or key check value mismatch */
#define SCP03_ERR_SW (-7)        /* the card answered with an error status word */
#define SCP03_ERR_CHALLENGE (-8) /* pseudo-random card challenge does not match its counter */

/* ------------------------------------------------------------------------ */
/* Constants                                                                */
/* ------------------------------------------------------------------------ */

/* Status words the card side produces itself (everything else comes from the
 * application). */
#define SCP03_SW_OK 0x9000u
#define SCP03_SW_AUTH_FAILED 0x6300u     /* EXTERNAL AUTHENTICATE: host cryptogram wrong */
#define SCP03_SW_MEMORY_FAILURE 0x6581u  /* sequence counter could not be committed */
#define SCP03_SW_WRONG_LENGTH 0x6700u
#define SCP03_SW_SECURITY 0x6982u        /* security error: the session is aborted */
#define SCP03_SW_CONDITIONS 0x6985u      /* sequence counter exhausted */
#define SCP03_SW_WRONG_P1P2 0x6A86u      /* bad P2, or a security level not allowed by "i" */
#define SCP03_SW_NOT_FOUND 0x6A88u       /* no key set with that version number */
#define SCP03_SW_CLA 0x6E00u             /* CLA FF; secured CLA given to scp03_card_initialize_update */
#define SCP03_SW_INTERNAL 0x6F00u        /* bad configuration, random source failed */

/* Security level bits: EXTERNAL AUTHENTICATE P1 and the GP API's Current
 * Security Level use the same bit positions, plus AUTHENTICATED. */
#define SCP03_CMAC 0x01u
#define SCP03_CDEC 0x02u
#define SCP03_RMAC 0x10u
#define SCP03_RENC 0x20u
#define SCP03_AUTHENTICATED 0x80u

/* The "i" parameter (Amendment D Table 5-1). Supported values:
 *   0x00 random challenge, no R-MAC       0x10 pseudo-random, no R-MAC
 *   0x20 random, R-MAC                    0x30 pseudo-random, R-MAC
 *   0x60 random, R-MAC and R-ENC          0x70 pseudo-random, R-MAC and R-ENC */
#define SCP03_I_PSEUDO_RANDOM 0x10u
#define SCP03_I_RMAC 0x20u
#define SCP03_I_RENC 0x40u

#define SCP03_KEY_MAX 32          /* AES-256 */
#define SCP03_AID_MIN 5
#define SCP03_AID_MAX 16
#define SCP03_DIV_DATA_LEN 10
#define SCP03_COUNTER_MAX 0xFFFFFFu /* 24-bit sequence counter; at this value INITIALIZE UPDATE fails */
#define SCP03_CARD_REPLY_MAX 34     /* longest reply the module builds itself (INITIALIZE UPDATE) */
#define SCP03_WRAP_OVERHEAD 24      /* most bytes wrapping adds: padding (<=16) + MAC (8) */

/* ------------------------------------------------------------------------ */
/* Shared crypto (both roles, and the PUT KEY format)                        */
/* ------------------------------------------------------------------------ */

/* Registers AES with libtomcrypt once per process (thread-safe, idempotent).
 * Every function below calls it, so calling it yourself is only a way to
 * fail early: returns SCP03_OK or SCP03_ERR_CRYPTO. */
int scp03_crypto_init(void);

/* Overwrites n bytes with zeros through a volatile function pointer, so the
 * compiler cannot drop the store as "dead" when the buffer is about to go out
 * of scope -- which is exactly when secrets must go. */
void scp03_wipe(void *p, size_t n);

/* 1 if the n bytes are equal, 0 otherwise; the time does not depend on where
 * they differ (use it for every MAC, cryptogram and check value). */
int scp03_ct_equal(const void *a, const void *b, size_t n);

/* AES-CMAC (NIST SP 800-38B, RFC 4493) with a 16/24/32-byte key, full tag. */
int scp03_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
               uint8_t mac[16]);

/* NIST SP 800-108 KDF in counter mode, PRF AES-CMAC, 8-bit counter placed
 * between two parts of fixed input data (either may be empty). Generic form,
 * exported so the NIST CAVP vectors can test the building block SCP03 uses. */
int scp03_kdf_counter_cmac(const uint8_t *key, size_t key_len,
                           const uint8_t *before, size_t before_len,
                           const uint8_t *after, size_t after_len,
                           uint8_t *out, size_t out_len);

/* Data derivation constants (Amendment D Table 4-1). */
#define SCP03_DD_CARD_CRYPTOGRAM 0x00u
#define SCP03_DD_HOST_CRYPTOGRAM 0x01u
#define SCP03_DD_CARD_CHALLENGE 0x02u
#define SCP03_DD_S_ENC 0x04u
#define SCP03_DD_S_MAC 0x06u
#define SCP03_DD_S_RMAC 0x07u

/* The SCP03 data derivation (Amendment D 4.1.5): label = 11 zero bytes ||
 * constant, separator 00, L (bits, 2 bytes), counter i, context.
 * out_len is 8, 16, 24 or 32 bytes (L = 0x0040 ... 0x0100). */
int scp03_derive(const uint8_t *key, size_t key_len, uint8_t constant,
                 const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);

/* Key check value of an AES key: first 3 bytes of AES(key, 16 x 0x01). */
int scp03_kcv(const uint8_t *key, size_t key_len, uint8_t kcv[3]);

/* One AES key in the GP PUT KEY key data field, encrypted with Key-DEK
 * (Amendment D 7.2, Table 7-10): '88' || Lk || key length || AES-CBC(DEK,
 * zero ICV, key padded with zeros to 16/32 bytes) || '03' || KCV.
 * 16 -> 23 bytes, 24 and 32 -> 39 bytes. */
#define SCP03_KEY_BLOCK_MAX 39
int scp03_key_block_encrypt(const uint8_t *dek, size_t dek_len,
                            const uint8_t *key, size_t key_len,
                            uint8_t *out, size_t out_cap, size_t *out_len);

/* Card side of the same: parses one key data field at the start of `in`,
 * decrypts it with the DEK and checks its KCV (constant time). *consumed is
 * the field's length, so a caller can walk a PUT KEY data field. Returns
 * SCP03_ERR_FORMAT on a malformed field and SCP03_ERR_AUTH on a KCV
 * mismatch; key_out (32 bytes) is wiped on failure. */
int scp03_key_block_decrypt(const uint8_t *dek, size_t dek_len,
                            const uint8_t *in, size_t in_len, size_t *consumed,
                            uint8_t key_out[SCP03_KEY_MAX], size_t *key_len);

/* A whole PUT KEY data field replacing/creating a key set: new KVN followed
 * by the ENC, MAC and DEK key blocks (key identifiers 1, 2, 3 implied by
 * P2 = 0x81). All three keys have key_len bytes. */
#define SCP03_PUT_KEY_DATA_MAX (1 + 3 * SCP03_KEY_BLOCK_MAX)
int scp03_put_key_data(const uint8_t *dek, size_t dek_len, uint8_t new_kvn,
                       const uint8_t *key_enc, const uint8_t *key_mac, const uint8_t *key_dek,
                       size_t key_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* A scheduled AES key, kept in session structs so every MAC and CBC pass can
 * skip the key expansion. Opaque: the words hold libtomcrypt's AES key
 * schedule, k1/k2 the CMAC subkeys. It is plain data (no pointers), but it
 * is tied to the libtomcrypt build that made it; never store it in NVM. */
#define SCP03_SCHED_WORDS 124
typedef struct scp03_aes_key {
    uint32_t sched[SCP03_SCHED_WORDS];
    uint8_t k1[16];
    uint8_t k2[16];
} scp03_aes_key;

/* ------------------------------------------------------------------------ */
/* Session context as a value (CHANGE MODE, broadcast channel)               */
/* ------------------------------------------------------------------------ */

/* Everything that defines an open secure channel, and nothing that defines
 * how it was opened. CHANGE MODE saves the diversified channel's context to
 * RAM, installs one the host built for the broadcast channel (predictable
 * keys, counter and chaining value), and later puts the saved one back. The
 * struct holds session keys: keep it in RAM only, wipe it (scp03_wipe) when
 * the restore data is invalidated. */
typedef struct scp03_context {
    uint8_t key_len;            /* 16, 24 or 32; applies to all three keys */
    uint8_t level;              /* SCP03_CMAC | SCP03_CDEC | SCP03_RMAC | SCP03_RENC */
    uint8_t has_rmac;           /* s_rmac is valid (needed when level has R-MAC) */
    uint8_t s_enc[SCP03_KEY_MAX];
    uint8_t s_mac[SCP03_KEY_MAX];
    uint8_t s_rmac[SCP03_KEY_MAX];
    uint8_t next_counter[16];   /* encryption counter the NEXT command uses, big endian */
    uint8_t chain[16];          /* MAC chaining value: full CMAC of the last command */
} scp03_context;

/* ------------------------------------------------------------------------ */
/* Card side                                                                */
/* ------------------------------------------------------------------------ */

/* One static key set as the caller's key store holds it. ENC, MAC and DEK
 * have the same length (Amendment D 6.1). `counter` is the 24-bit sequence
 * counter of pseudo-random challenges, its value as last committed. */
typedef struct scp03_keyset {
    uint8_t kvn;
    uint8_t key_len;            /* 16, 24 or 32 */
    uint8_t enc[SCP03_KEY_MAX];
    uint8_t mac[SCP03_KEY_MAX];
    uint8_t dek[SCP03_KEY_MAX];
    uint32_t counter;
} scp03_keyset;

/* Durably stores a key set's new sequence counter. The card side calls it in
 * INITIALIZE UPDATE (pseudo-random mode) before the new value is used for
 * anything, and goes on only when it returns 0: a challenge computed from a
 * counter that a power loss could roll back would repeat, and a repeated
 * challenge replays a whole recorded session. On 0 the module also writes
 * new_value into the keyset array, so the array stays in step with NVM. Any
 * other return value: the command fails with 6581 and no session. */
typedef int (*scp03_commit_counter_fn)(void *ctx, uint8_t kvn, uint32_t new_value);

/* Fills out with len random bytes (card challenge in random mode, i bit 0x10
 * clear). Returns 0 on success. */
typedef int (*scp03_random_fn)(void *ctx, uint8_t *out, size_t len);

/* The security domain's configuration, owned by the caller. The module never
 * keeps a pointer to it: pass it with each command. */
typedef struct scp03_card_config {
    scp03_keyset *keysets;          /* key store; KVN 00 in INITIALIZE UPDATE selects keysets[0] */
    size_t n_keysets;
    const uint8_t *aid;             /* security domain AID, 5..16 bytes (card challenge context) */
    size_t aid_len;
    uint8_t i_param;                /* one of the six supported values above */
    uint8_t div_data[SCP03_DIV_DATA_LEN]; /* key diversification data returned by INITIALIZE UPDATE */
    scp03_commit_counter_fn commit_counter; /* required in pseudo-random mode */
    void *commit_ctx;
    scp03_random_fn random;         /* required in random mode */
    void *random_ctx;
} scp03_card_config;

/* Session states. ABORTED differs from NONE: after a security error GP
 * requires every command to be refused (6982) until a new INITIALIZE UPDATE
 * or the end of the application session, so an attacker cannot fall back to
 * unsecured commands after tampering with a secured one. */
#define SCP03_STATE_NONE 0u
#define SCP03_STATE_PENDING 1u    /* INITIALIZE UPDATE answered, awaiting EXTERNAL AUTHENTICATE */
#define SCP03_STATE_ACTIVE 2u
#define SCP03_STATE_ABORTED 3u

/* The card's secure channel state: plain data, no pointers, lives in the
 * caller's (simulated) RAM, one per logical channel. Fields are private; use
 * the accessors. A zero-filled struct is a valid "no session" state. */
typedef struct scp03_card_session {
    uint8_t state;
    uint8_t level;
    uint8_t i_param;
    uint8_t kvn;
    uint8_t key_len;
    uint8_t has_rmac;
    uint8_t rsp_pending;        /* a secured command was unwrapped; its response is not yet wrapped */
    uint8_t host_challenge[8];
    uint8_t card_challenge[8];
    uint8_t host_cryptogram[8]; /* expected in EXTERNAL AUTHENTICATE */
    uint8_t counter[16];        /* encryption counter of the last command */
    uint8_t chain[16];
    uint8_t s_enc[SCP03_KEY_MAX];
    uint8_t s_mac[SCP03_KEY_MAX];
    uint8_t s_rmac[SCP03_KEY_MAX];
    scp03_aes_key enc;
    scp03_aes_key mac;
    scp03_aes_key rmac;
} scp03_card_session;

/* Ends any session and wipes all key material. Call it at power-on and card
 * reset, on SELECT of another application, when the logical channel closes,
 * and whenever the application ends the session itself. */
void scp03_card_reset(scp03_card_session *s);

/* A secure messaging error the caller found itself (a wrapped command that
 * arrived on a logical channel the card does not open, say): a pending or
 * open session is wiped and left ABORTED, exactly as if the module had
 * refused the command. Without a session it does nothing. */
void scp03_card_abort(scp03_card_session *s);

/* Entry point for every command APDU addressed to the security domain.
 *
 *   INITIALIZE UPDATE (CLA 80-83, INS 50) and, in the pending state,
 *   EXTERNAL AUTHENTICATE (secured CLA, INS 82) are answered by the module
 *   (SCP03_CARD_REPLY). Any other command is checked against the session:
 *   with no session, an unsecured command passes through unchanged and a
 *   secured one gets 6982; in an open session the C-MAC is verified, the
 *   MAC chaining value and encryption counter advance, the data is decrypted
 *   and unpadded, and the plain APDU (secure messaging bit cleared, Lc
 *   adjusted, Le kept, same short/extended form) is returned with
 *   SCP03_CARD_PROCESS. A security error answers 6982 and aborts the session.
 *
 *   Pass the bytes exactly as they arrived, malformed or not: the C-MAC
 *   covers the header as transmitted (an extended Lc is MACed as extended),
 *   and in an open session a command with a wrong length (Lc that does not
 *   match the data, trailing bytes, a truncated header) or CLA FF is a
 *   secure messaging error that closes the session (Amendment D 5.6) — a
 *   caller that parsed such bytes away first would keep it open.
 *
 * out must hold at least max(len, SCP03_CARD_REPLY_MAX) bytes; it may be the
 * apdu buffer itself (a card has one APDU buffer), but must not otherwise
 * overlap it. *sw is the
 * status word of a reply, 9000 for PROCESS. Negative returns are caller bugs
 * (then *sw = 6F00 when sw is not NULL and the session is unchanged). */
int scp03_card_command(scp03_card_session *s, const scp03_card_config *cfg,
                       const uint8_t *apdu, size_t len,
                       uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw);

/* Builds the response APDU for the command scp03_card_command last returned
 * with SCP03_CARD_PROCESS: data || [R-MAC] || SW, with the data encrypted
 * under R-ENCRYPTION. Error status words (anything but 9000, 62xx, 63xx) get
 * no R-MAC and, when R-MAC is on, no data either: only the SW. When the
 * command was not secured, the response passes through unchanged. out needs
 * len + SCP03_WRAP_OVERHEAD + 2 bytes. Wrap before any T=0 61xx chunking.
 * out may be data itself (in place). SCP03_ERR_CRYPTO (only possible with a
 * corrupted session) still leaves a response to send in out: 6F00, and the
 * session is aborted. */
int scp03_card_wrap_response(scp03_card_session *s, const uint8_t *data, size_t len, uint16_t sw,
                             uint8_t *out, size_t out_cap, size_t *out_len);

/* The two secure channel commands as separate handlers, for a caller that
 * dispatches INS itself. Same contract as scp03_card_command (they always
 * return SCP03_CARD_REPLY or a negative caller-bug code). */
int scp03_card_initialize_update(scp03_card_session *s, const scp03_card_config *cfg,
                                 const uint8_t *apdu, size_t len,
                                 uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw);
int scp03_card_external_authenticate(scp03_card_session *s, const uint8_t *apdu, size_t len,
                                     uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw);

/* SCP03_STATE_* of the session. */
unsigned scp03_card_state(const scp03_card_session *s);

/* GP Current Security Level: 0 without an open session, otherwise
 * SCP03_AUTHENTICATED | level bits. Applications gate commands on it (a
 * PUT KEY wants at least C-MAC). */
unsigned scp03_card_security_level(const scp03_card_session *s);

/* KVN of the key set the session was opened with (its DEK decrypts PUT KEY
 * data); 0 when no session is pending or open. */
unsigned scp03_card_kvn(const scp03_card_session *s);

/* Copies the open session's context. SCP03_ERR_STATE unless ACTIVE. Call it
 * between a wrapped response and the next command (CHANGE MODE: after its
 * own response has been wrapped with the outgoing keys). */
int scp03_card_export_context(const scp03_card_session *s, scp03_context *ctx);

/* Replaces the session with ctx and makes it ACTIVE: used both to install a
 * channel the host built (broadcast) and to restore a saved one. Keys are
 * re-scheduled here. Rejects a level outside 00/01/03/11/13/33, R-MAC without
 * has_rmac, or a bad key length (SCP03_ERR_PARAM; the session is unchanged). */
int scp03_card_import_context(scp03_card_session *s, const scp03_context *ctx);

/* ------------------------------------------------------------------------ */
/* Host side                                                                */
/* ------------------------------------------------------------------------ */

#define SCP03_HOST_IDLE 0u
#define SCP03_HOST_INIT_SENT 1u     /* INITIALIZE UPDATE built, response not yet checked */
#define SCP03_HOST_CARD_OK 2u       /* card authenticated, EXTERNAL AUTHENTICATE next */
#define SCP03_HOST_ACTIVE 3u
#define SCP03_HOST_FAILED 4u        /* a response failed its R-MAC: no more wrapping */

/* Off-card end of the channel. Holds the static ENC/MAC keys (to derive the
 * session keys and check a pseudo-random challenge); wipe with
 * scp03_host_close. Plain data, no pointers. */
typedef struct scp03_host_session {
    uint8_t state;
    uint8_t level;
    uint8_t i_param;
    uint8_t kvn;
    uint8_t key_len;            /* static keys */
    uint8_t s_key_len;          /* session keys (differs after importing a context) */
    uint8_t has_rmac;
    uint8_t aid_len;
    uint8_t aid[SCP03_AID_MAX];
    uint8_t key_enc[SCP03_KEY_MAX];
    uint8_t key_mac[SCP03_KEY_MAX];
    uint8_t host_challenge[8];
    uint8_t card_challenge[8];
    uint32_t sequence_counter;  /* from the last pseudo-random INITIALIZE UPDATE response */
    uint8_t counter[16];
    uint8_t chain[16];
    uint8_t s_enc[SCP03_KEY_MAX];
    uint8_t s_mac[SCP03_KEY_MAX];
    uint8_t s_rmac[SCP03_KEY_MAX];
    scp03_aes_key enc;
    scp03_aes_key mac;
    scp03_aes_key rmac;
} scp03_host_session;

/* Sets the static keys and, optionally, the security domain AID (NULL/0 to
 * skip the pseudo-random challenge check). */
int scp03_host_init(scp03_host_session *h, const uint8_t *key_enc, const uint8_t *key_mac,
                    size_t key_len, const uint8_t *aid, size_t aid_len);

/* Wipes everything. */
void scp03_host_close(scp03_host_session *h);

/* Builds 80 50 kvn 00 08 <host challenge> 00 (14 bytes). The host challenge
 * is the caller's: real hosts draw it at random, scripts and tests replay. */
int scp03_host_initialize_update(scp03_host_session *h, uint8_t kvn, const uint8_t host_challenge[8],
                                 uint8_t *apdu, size_t cap, size_t *len);

/* Checks the card's answer (data || SW): SW 9000, SCP '03', a supported i,
 * the KVN asked for (unless 0), the card cryptogram, and in pseudo-random
 * mode (with an AID set) that the challenge is the one its counter implies.
 * Derives the session keys. */
int scp03_host_check_initialize_update_response(scp03_host_session *h, const uint8_t *rsp, size_t len);

/* Prepares a session without the card, from a sequence counter known in
 * advance (campaign P_AUT): predicts the pseudo-random challenge of
 * INITIALIZE UPDATE number `counter` (the value the card will report) and
 * derives the session keys. Needs the AID and a pseudo-random i. */
int scp03_host_begin_offline(scp03_host_session *h, uint8_t kvn, uint8_t i_param,
                             uint32_t counter, const uint8_t host_challenge[8]);

/* Builds EXTERNAL AUTHENTICATE (84 82 level 00 10 cryptogram C-MAC) and
 * opens the session on the host side; the card must answer 9000. */
int scp03_host_external_authenticate(scp03_host_session *h, uint8_t level,
                                     uint8_t *apdu, size_t cap, size_t *len);

/* Wraps a plain command APDU (CLA without secure messaging) for the session
 * level. A short command whose wrapped Lc exceeds 255 is sent in extended
 * form (short Le 00 becomes 0000). out needs len + SCP03_WRAP_OVERHEAD + 4. */
int scp03_host_wrap(scp03_host_session *h, const uint8_t *plain, size_t len,
                    uint8_t *out, size_t cap, size_t *out_len);

/* Verifies and decrypts the response (data || [R-MAC] || SW) to the command
 * last wrapped. Writes the plain data and *sw. An R-MAC failure returns
 * SCP03_ERR_AUTH and closes the host session (SCP03_HOST_FAILED). */
int scp03_host_unwrap(scp03_host_session *h, const uint8_t *rsp, size_t len,
                      uint8_t *data, size_t cap, size_t *data_len, uint16_t *sw);

/* Same contract as the card side's export/import. */
int scp03_host_export_context(const scp03_host_session *h, scp03_context *ctx);
int scp03_host_import_context(scp03_host_session *h, const scp03_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CARDVM_SCP03_H */
