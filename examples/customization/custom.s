; custom.s — the customization software of seed 000 (part 300).
;
; The client seals this package with its unlocking key (cardvm seal); the
; manufacturer masks only the sealed bytes. After UNLOCK the LOADER runs
; method 0 for every CUSTOMIZATION-mode command (except GET DATA and ENTER
; USER MODE, which are masked ROM code) that arrived through the
; customization channel (SCP03, docs/loader.md); it sees the command
; unwrapped, with CLA 80. It completes the card through the
; LOADER's privileged natives, which exist in CUSTOMIZATION mode only:
;
;   80 30  SET VECTOR           slot, method (2), AID length, AID       (301)
;   80 32  LOAD PACKAGE block   P1 block number, P2 80 = last; block 0
;                               starts with C4 and the package length  (302, 303)
;   80 34  INSTALL APPLET       package AID, applet AID, instance AID,
;                               [parameters]: each a length and bytes
;   80 36  PUT KEY SET          KVN, ENC, MAC, DEK key blocks under the DEK
;   80 38  PUT COMMON KEY       P1 = 1 Kos, 2 K-MAC; a key block under the DEK
;   80 3A  SET SECURITY DOMAIN  i, AID length, AID, [diversification data]
;
; Any other INS answers 6D00; a CLA other than 80 answers 6E00.

.package A0000006990200 1.0 customization

.native Loader.setVector          0x8000
.native Loader.loadBlock          0x8001
.native Loader.install            0x8002
.native Loader.putKeySet          0x8003
.native Loader.putCommonKey       0x8004
.native Loader.setSecurityDomain  0x8005

.equ SW_INS_NOT_SUPPORTED 0x6D00
.equ SW_CLA_NOT_SUPPORTED 0x6E00
.equ OFFSET_CDATA 5

.class Customization

; static void process(APDU apdu): locals 0 apdu, 1 buffer, 2 Lc, 3 INS
.method process static args=1 locals=4 stack=6
    aload_0
    invokestatic APDU.getBuffer
    astore_1
    aload_1
    sconst_0
    baload
    sspush 0x00FF
    sand
    sspush 0x0080
    if_scmpeq cla_ok
    sspush SW_CLA_NOT_SUPPORTED
    invokestatic ISOException.throwIt
cla_ok:
    aload_0
    invokestatic APDU.setIncomingAndReceive
    sstore_2
    aload_1
    sconst_1
    baload
    sstore_3
    sload_3
    slookupswitch unknown 0x30:set_vector 0x32:load_block 0x34:install 0x36:put_key_set 0x38:put_common_key 0x3A:set_sd
set_vector:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    invokestatic Loader.setVector
    return
load_block:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    aload_1
    sconst_2
    baload
    aload_1
    sconst_3
    baload
    invokestatic Util.makeShort
    invokestatic Loader.loadBlock
    return
install:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    invokestatic Loader.install
    return
put_key_set:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    invokestatic Loader.putKeySet
    return
put_common_key:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    aload_1
    sconst_2
    baload
    invokestatic Loader.putCommonKey
    return
set_sd:
    aload_1
    bspush OFFSET_CDATA
    sload_2
    invokestatic Loader.setSecurityDomain
    return
unknown:
    sspush SW_INS_NOT_SUPPORTED
    invokestatic ISOException.throwIt
    return
.end
