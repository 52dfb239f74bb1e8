; os.s — the masked bytecode of the default card (ROM, seed 000 part 200).
;
; Its commands are reached only through the vector table (301): the ROM
; descriptor says INS F0 uses vector slot 0 and INS F4 slot 1, and the
; customization software points those slots at methods 0 and 1 here.
; Without a vector table they answer 6985; a software update (303) can
; redirect a slot to new code.
;
;   80 F0 00 00 [Le]        GET OS VERSION: "CVOS" 01 00
;   80 F4 00 00 Lc data     OS CHECKSUM: Fletcher-16 of the data (2 bytes)

.package A0000006990100 1.0 library

.class OS

; static void version(APDU apdu): locals 0 apdu, 1 buffer
.method version static args=1
    aload_0
    invokestatic APDU.getBuffer
    astore_1
    aload_1
    sconst_0
    bspush 'C'
    bastore
    aload_1
    sconst_1
    bspush 'V'
    bastore
    aload_1
    sconst_2
    bspush 'O'
    bastore
    aload_1
    sconst_3
    bspush 'S'
    bastore
    aload_1
    sconst_4
    sconst_1
    bastore
    aload_1
    sconst_5
    sconst_0
    bastore
    aload_0
    sconst_0
    bspush 6
    invokestatic APDU.setOutgoingAndSend
    return
.end

; static void checksum(APDU apdu): Fletcher-16 over the command data.
; locals 0 apdu, 1 buffer, 2 length, 3 index, 4 sum1, 5 sum2
.method checksum static args=1
    aload_0
    invokestatic APDU.getBuffer
    astore_1
    aload_0
    invokestatic APDU.setIncomingAndReceive
    sstore_2
    sconst_0
    sstore_3
    sconst_0
    sstore 4
    sconst_0
    sstore 5
loop:
    sload_3
    sload_2
    if_scmpge done
    sload 4
    aload_1
    sload_3
    bspush 5
    sadd
    baload
    sspush 0x00FF
    sand
    sadd
    sspush 255
    srem
    sstore 4
    sload 5
    sload 4
    sadd
    sspush 255
    srem
    sstore 5
    sinc 3 1
    goto loop
done:
    aload_1
    sconst_0
    sload 5
    bastore
    aload_1
    sconst_1
    sload 4
    bastore
    aload_0
    sconst_0
    sconst_2
    invokestatic APDU.setOutgoingAndSend
    return
.end
