; greeter.s — the applet package the example campaigns update on 100 cards
; (examples/campaign/run.sh). run.sh makes versions 2.0 and 3.0 of it by
; changing the two .equ lines and the .package version.
;
;   00 20 00 00 [Le]   answers "GV" MAJOR MINOR

.package A0000006990201 1.0 applet

.equ MAJOR 1
.equ MINOR 0

.class Greeter extends Applet

.method install static args=3
    new Greeter
    invokestatic Applet.register
    return
.end

; void process(APDU apdu): locals 0 this, 1 apdu, 2 buffer
.method process args=2
    aload_1
    invokestatic APDU.getBuffer
    astore_2
    invokestatic Applet.selectingApplet
    ifeq answer
    return
answer:
    aload_2
    sconst_0
    bspush 'G'
    bastore
    aload_2
    sconst_1
    bspush 'V'
    bastore
    aload_2
    sconst_2
    bspush MAJOR
    bastore
    aload_2
    sconst_3
    bspush MINOR
    bastore
    aload_1
    sconst_0
    sconst_4
    invokestatic APDU.setOutgoingAndSend
    return
.end

.applet A000000699020101 Greeter install=install process=process
