/*
 * layout.h — where the masked LOADER keeps things on the chip.
 *
 *   ROM   offset 0    identity block (ATR), see apdu/atr.h
 *         offset 64   LOADER descriptor (below), written by `cardvm mask`
 *   OTP   bits 0..4   lifecycle trace (seed 000, part 304); bytes 8..15 serial
 *   NVM   0..255      LOADER system area (below)
 *         heap        key sets, vector table (301), sealed customization
 *                     software (201), load staging; packages (300, 302,
 *                     303) and applets belong to the VM's own heap blocks
 *
 * The lifecycle mode is *derived from OTP*: the highest burnt trace bit wins.
 * The system area keeps a mirror of it (so that a glance at NVM tells the
 * mode), written in the same APDU as the OTP burn; both commit together, and
 * the LOADER refuses to run when they disagree (a tampered or broken image).
 */
#ifndef CARDVM_LOADER_LAYOUT_H
#define CARDVM_LOADER_LAYOUT_H

#include <stdint.h>

/* ---- lifecycle ---- */
enum loader_mode {
    LOADER_MODE_NONE = 0,          /* chip without LOADER (blank, built-in SD) */
    LOADER_MODE_ISSUER = 1,
    LOADER_MODE_CUSTOMIZATION = 2,
    LOADER_MODE_USER = 3,
    LOADER_MODE_TERMINATED = 4,
};

/* OTP trace bits: each transition burns one, in this order only. */
#define OTP_BIT_ISSUER 0u          /* burnt by masking */
#define OTP_BIT_SERIAL 1u          /* WRITE SERIAL NUMBER done */
#define OTP_BIT_CUSTOMIZATION 2u   /* UNLOCK succeeded (entered once) */
#define OTP_BIT_USER 3u            /* ENTER USER MODE done */
#define OTP_BIT_TERMINATED 4u      /* UNLOCK tries exhausted */
#define OTP_SERIAL_OFFSET 8u
#define OTP_SERIAL_LEN 8u

/* ---- ROM: LOADER descriptor at ROM offset 64 ----
 *   0   4  magic "CVML"
 *   4   1  descriptor version (1)
 *   5   1  UNLOCK tries (1..15)
 *   6   1  number of vectored commands (0..LOADER_MAX_VECTORED)
 *   7   1  number of masked packages (0..LOADER_MAX_MASKED)
 *   8   2*n vectored commands: INS, vector slot
 *   40  8*m masked package directory: ROM offset u32 LE, length u32 LE
 * Masked package bytes follow the descriptor (ROM offset 256 onward). */
#define ROM_LOADER_OFFSET 64u
#define ROM_LOADER_SIZE 192u
#define ROM_PACKAGES_OFFSET 256u
#define LOADER_MAX_VECTORED 16u
#define LOADER_MAX_MASKED 8u
#define LOADER_VECTOR_SLOTS 16u

/* ---- NVM system area (CHIP_NVM_SYSTEM_SIZE = 256 bytes at NVM 0) ---- */
#define SYS_MAGIC 0u               /* 4  "LDRS"                             */
#define SYS_VERSION 4u             /* 1  1                                  */
#define SYS_MODE 5u                /* 1  enum loader_mode, mirror of OTP    */
#define SYS_TRIES_LEFT 6u          /* 1  UNLOCK tries left                  */
#define SYS_TRIES_MAX 7u           /* 1                                     */
#define SYS_ISD_AID_LEN 8u         /* 1                                     */
#define SYS_ISD_AID 9u             /* 16                                    */
#define SYS_SCP_I 25u              /* 1  SCP03 "i" parameter                */
#define SYS_DIV_DATA 26u           /* 10 key diversification data           */
#define SYS_CUSTOM_AID_LEN 36u     /* 1  AID of the customization package   */
#define SYS_CUSTOM_AID 37u         /* 16                                    */
#define SYS_TRANSPORT_KEY 64u      /* 32 K-CUST: root of the customization
                                         channel's keys (seal.c), only between
                                         UNLOCK and ENTER USER MODE */
#define SYS_STAGING_NEXT 96u       /* 1  next expected LOAD block number    */
#define SYS_SIZE 128u

/* ---- NVM heap block kinds owned by the LOADER (0x4Cxx: 'L') ---- */
#define KIND_KEYSET 0x4C01u        /* id = KVN: struct stored_keyset        */
#define KIND_COMMON_KEY 0x4C02u    /* id 1 = Kos, 2 = K-MAC: len u8 + key   */
#define KIND_VECTORS 0x4C03u       /* the vector table (301)                */
#define KIND_SEALED 0x4C04u        /* encrypted customization software (201) */
#define KIND_STAGING 0x4C05u       /* package being loaded, block by block  */

/* Stored key set (KIND_KEYSET), 104 bytes:
 *   kvn, key_len, enc[32], mac[32], dek[32], counter u32 LE, absent, 1 reserved
 * absent: bit id-1 set for a key (1 ENC, 2 MAC, 3 DEK) deleted by DELETE [key]
 * or never put (PUT KEY of single keys); its bytes are zero. 0 in images
 * written before the byte had a meaning: every key present. */
#define KEYSET_RECORD_SIZE 104u
#define KEYSET_ABSENT_ALL 0x07u
/* Vector table (KIND_VECTORS): LOADER_VECTOR_SLOTS entries of 20 bytes:
 *   aid_len (0 = empty slot), aid[16], method u16 LE, 1 reserved */
#define VECTOR_ENTRY_SIZE 20u

#endif
