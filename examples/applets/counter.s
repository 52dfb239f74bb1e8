; counter.s — a persistent counter changed under a transaction.
;
;   80 01 P1 00 00  add P1 (0..255) inside begin/commitTransaction; answers the new value
;   80 02 00 00 00  answers the value (2 bytes, big-endian)
;   80 03 00 00 00  adds 1, then abortTransaction: the value does not change
;   80 04 00 00 00  adds 1 inside a transaction, then fails with 6A80 while
;                   it is open: the VM aborts it, the value does not change
;   other INS       6D00

.package A0000000620200 1.0 applet

.equ INS_ADD        0x01
.equ INS_GET        0x02
.equ INS_ADD_ABORT  0x03
.equ INS_ADD_FAIL   0x04

.class Counter extends Applet
.field value

.method install static args=3
    new Counter
    invokestatic Applet.register
    return
.end

; locals: 0 this, 1 apdu, 2 buffer
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
    slookupswitch bad_ins 1:add 2:get 3:add_abort 4:add_fail
add:
    invokestatic JCSystem.beginTransaction
    aload_2
    sconst_2
    baload
    sspush 0xFF
    sand
    getfield_s_this Counter.value
    sadd
    putfield_s_this Counter.value
    invokestatic JCSystem.commitTransaction
    goto get
add_abort:
    invokestatic JCSystem.beginTransaction
    getfield_s_this Counter.value
    sconst_1
    sadd
    putfield_s_this Counter.value
    invokestatic JCSystem.abortTransaction
    goto get
add_fail:
    invokestatic JCSystem.beginTransaction
    getfield_s_this Counter.value
    sconst_1
    sadd
    putfield_s_this Counter.value
    sspush 0x6A80
    invokestatic ISOException.throwIt
    return
bad_ins:
    sspush 0x6D00
    invokestatic ISOException.throwIt
    return
get:
    aload_2
    sconst_0
    getfield_s_this Counter.value
    invokestatic Util.setShort
    pop
    aload_1
    sconst_0
    sconst_2
    invokestatic APDU.setOutgoingAndSend
    return
.end

.applet A000000062020101 Counter install=install process=process
