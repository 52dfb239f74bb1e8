; os_update.s — a software update of the masked OS (seed 000 part 303).
;
; Loaded during customization (or by a broadcast update), it provides a new
; GET OS VERSION; redirecting vector slot 0 to its method 0 changes what
; 80 F0 runs, without touching ROM.
;
;   80 F0 00 00 [Le]        GET OS VERSION: "CVOS" 02 00

.package A0000006990101 2.0 update

.class OSUpdate

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
    sconst_2
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
