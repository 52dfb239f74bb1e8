; hello.s — the smallest useful applet.
;
; SELECT answers 9000; INS 0x10 answers "Hello, card!" (or the first Le
; bytes of it); any other INS answers 6D00, any CLA other than 0x00/0x80
; answers 6E00.

.package A0000000620100 1.0 applet

.equ INS_HELLO      0x10
.equ SW_INS_UNKNOWN 0x6D00
.equ SW_CLA_UNKNOWN 0x6E00
.equ GREETING_LEN   12

.class Hello extends Applet

; static void install(byte[] bArray, short bOffset, byte bLength)
.method install static args=3
    new Hello
    invokestatic Applet.register
    return
.end

; void process(APDU apdu): locals 0 this, 1 apdu, 2 buffer, 3 length
.method process args=2
    aload_1
    invokestatic APDU.getBuffer
    astore_2
    invokestatic Applet.selectingApplet
    ifeq not_selecting
    return
not_selecting:
    aload_2
    sconst_0
    baload
    bspush 0x7C            ; CLA bits that must be 0 (keep secure messaging/channel bits free)
    sand
    ifeq cla_ok
    sspush SW_CLA_UNKNOWN
    invokestatic ISOException.throwIt
cla_ok:
    aload_2
    sconst_1
    baload
    bspush INS_HELLO
    if_scmpeq hello
    sspush SW_INS_UNKNOWN
    invokestatic ISOException.throwIt
hello:
    ; write the greeting at offset 0 of the APDU buffer
    aload_2
    sconst_0
    bspush 'H'
    bastore
    aload_2
    sconst_1
    bspush 'e'
    bastore
    aload_2
    sconst_2
    bspush 'l'
    bastore
    aload_2
    sconst_3
    bspush 'l'
    bastore
    aload_2
    sconst_4
    bspush 'o'
    bastore
    aload_2
    sconst_5
    bspush ','
    bastore
    aload_2
    bspush 6
    bspush ' '
    bastore
    aload_2
    bspush 7
    bspush 'c'
    bastore
    aload_2
    bspush 8
    bspush 'a'
    bastore
    aload_2
    bspush 9
    bspush 'r'
    bastore
    aload_2
    bspush 10
    bspush 'd'
    bastore
    aload_2
    bspush 11
    bspush '!'
    bastore
    ; length = min(Le, GREETING_LEN)
    aload_1
    invokestatic APDU.setOutgoing
    sstore_3
    sload_3
    bspush GREETING_LEN
    if_scmple send
    bspush GREETING_LEN
    sstore_3
send:
    aload_1
    sconst_0
    sload_3
    invokestatic APDU.setOutgoingAndSend
    return
.end

.applet A000000062010101 Hello install=install process=process
