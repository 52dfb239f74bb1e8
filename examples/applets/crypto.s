; crypto.s — AES, AES-CMAC, SHA-256 and random through the native API.
;
; install() takes the AES-128 key (16 bytes) as its parameters.
;   80 10 00 00 Lc DATA   SHA-256(DATA)                      -> 32 bytes
;   80 20 00 00 Lc DATA   AES-ECB encrypt (Lc multiple of 16)
;   80 22 00 00 Lc DATA   AES-ECB decrypt
;   80 30 00 00 Lc DATA   AES-CBC encrypt, IV zero
;   80 32 00 00 Lc DATA   AES-CBC decrypt, IV zero
;   80 40 00 00 Lc DATA   AES-CMAC(DATA)                     -> 16 bytes
;   80 50 P1 00 00        P1 random bytes
; 6A80 bad install parameters, 6F00 bad data length (CryptoException).

.package A0000000620400 1.0 applet

.equ MODE_DECRYPT 1
.equ MODE_ENCRYPT 2
.equ CLEAR_ON_DESELECT 2

.class Crypto extends Applet
.field key
.field iv

.method install static args=3
    sload_2
    bspush 16
    if_scmpeq ok
    sspush 0x6A80
    invokestatic ISOException.throwIt
ok:
    new Crypto
    astore_3
    aload_3
    bspush 16
    newarray byte
    putfield_a Crypto.key
    aload_3
    bspush 16
    sconst_2                    ; CLEAR_ON_DESELECT
    invokestatic JCSystem.makeTransientByteArray
    putfield_a Crypto.iv
    aload_0
    sload_1
    aload_3
    getfield_a Crypto.key
    sconst_0
    bspush 16
    invokestatic Util.arrayCopy
    pop
    aload_3
    invokestatic Applet.register
    return
.end

; locals: 0 this, 1 apdu, 2 buffer, 3 Lc, 4 result length, 5 mode
.method process args=2
    aload_1
    invokestatic APDU.getBuffer
    astore_2
    invokestatic Applet.selectingApplet
    ifeq dispatch
    return
dispatch:
    aload_2
    sconst_1
    baload
    slookupswitch bad_ins 0x10:sha 0x20:ecb_enc 0x22:ecb_dec 0x30:cbc_enc 0x32:cbc_dec 0x40:cmac 0x50:random

sha:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sstore_3
    aload_2
    sconst_5
    sload_3
    aload_2
    sconst_0
    invokestatic Crypto.sha256
    sstore 4
    goto send

ecb_enc:
    sconst_2
    sstore 5
    goto ecb
ecb_dec:
    sconst_1
    sstore 5
ecb:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sstore_3
    sload 5
    getfield_a_this Crypto.key
    sconst_0
    bspush 16
    aload_2
    sconst_5
    sload_3
    aload_2
    sconst_0
    invokestatic Crypto.aesEcb
    sstore 4
    goto send

cbc_enc:
    sconst_2
    sstore 5
    goto cbc
cbc_dec:
    sconst_1
    sstore 5
cbc:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sstore_3
    ; the IV array is transient and all zero: clear it anyway, it is cheap
    getfield_a_this Crypto.iv
    sconst_0
    bspush 16
    sconst_0
    invokestatic Util.arrayFillNonAtomic
    pop
    sload 5
    getfield_a_this Crypto.key
    sconst_0
    bspush 16
    getfield_a_this Crypto.iv
    sconst_0
    aload_2
    sconst_5
    sload_3
    aload_2
    sconst_0
    invokestatic Crypto.aesCbc
    sstore 4
    goto send

cmac:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sstore_3
    getfield_a_this Crypto.key
    sconst_0
    bspush 16
    aload_2
    sconst_5
    sload_3
    aload_2
    sconst_0
    invokestatic Crypto.aesCmac
    sstore 4
    goto send

random:
    aload_2
    sconst_2
    baload
    sspush 0xFF
    sand
    sstore 4
    aload_2
    sconst_0
    sload 4
    invokestatic Crypto.random
    goto send

bad_ins:
    sspush 0x6D00
    invokestatic ISOException.throwIt
    return

send:
    aload_1
    sconst_0
    sload 4
    invokestatic APDU.setOutgoingAndSend
    return
.end

.applet A000000062040101 Crypto install=install process=process
