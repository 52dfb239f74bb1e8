; wallet.s — an electronic purse: credit, debit, balance, PIN with tries.
;
;   80 20 00 00 Lc PIN     VERIFY: 9000, 63Cx (x tries left), 6983 blocked
;   80 30 00 00 02 AMOUNT  CREDIT (PIN verified): answers the new balance
;   80 40 00 00 02 AMOUNT  DEBIT (PIN verified): answers the new balance
;   80 50 00 00 02         BALANCE
; Errors: 6982 PIN not verified, 6700 wrong length, 6A83 amount not in
; 1..1000, 6A84 balance would exceed 10000, 6A85 balance would go negative,
; 6D00 unknown INS, 6E00 CLA not 0x80. install() takes the initial PIN as
; its parameters. The PIN's validated state is transient: reset or
; deselect unverifies it. SELECT is refused (6999) once the PIN is blocked.

.package A0000000620300 1.0 applet

.equ INS_VERIFY   0x20
.equ INS_CREDIT   0x30
.equ INS_DEBIT    0x40
.equ INS_BALANCE  0x50
.equ MAX_BALANCE  10000
.equ MAX_AMOUNT   1000
.equ PIN_TRIES    3
.equ PIN_MAX      8
.equ SW_PIN_REQUIRED     0x6982
.equ SW_PIN_BLOCKED      0x6983
.equ SW_WRONG_PIN        0x63C0
.equ SW_WRONG_LENGTH     0x6700
.equ SW_BAD_AMOUNT       0x6A83
.equ SW_EXCEED_MAXIMUM   0x6A84
.equ SW_NEGATIVE_BALANCE 0x6A85
.equ SW_INS_UNKNOWN      0x6D00
.equ SW_CLA_UNKNOWN      0x6E00

.class Wallet extends Applet
.field balance
.field pin

; static void install(byte[] bArray, short bOffset, byte bLength)
.method install static args=3
    new Wallet
    astore_3
    aload_3
    sconst_3                    ; PIN_TRIES
    bspush PIN_MAX
    invokestatic OwnerPIN.new
    putfield_a Wallet.pin
    aload_3
    getfield_a Wallet.pin
    aload_0
    sload_1
    sload_2
    invokestatic OwnerPIN.update
    aload_3
    invokestatic Applet.register
    return
.end

; boolean select(): refuse when the PIN is blocked
.method select returns
    getfield_a_this Wallet.pin
    invokestatic OwnerPIN.getTriesRemaining
    ifeq refuse
    sconst_1
    sreturn
refuse:
    sconst_0
    sreturn
.end

.method deselect
    getfield_a_this Wallet.pin
    invokestatic OwnerPIN.reset
    return
.end

; locals: 0 this, 1 apdu, 2 buffer, 3 scratch, 4 amount
.method process args=2
    aload_1
    invokestatic APDU.getBuffer
    astore_2
    invokestatic Applet.selectingApplet
    ifeq check_cla
    return
check_cla:
    aload_2
    sconst_0
    baload
    bspush -128                 ; 0x80 as a signed byte
    if_scmpeq dispatch
    sspush SW_CLA_UNKNOWN
    invokestatic ISOException.throwIt
dispatch:
    aload_2
    sconst_1
    baload
    slookupswitch bad_ins 0x20:verify 0x30:credit 0x40:debit 0x50:balance

verify:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sstore_3
    getfield_a_this Wallet.pin
    aload_2
    sconst_5
    sload_3
    invokestatic OwnerPIN.check
    ifeq wrong_pin
    return
wrong_pin:
    getfield_a_this Wallet.pin
    invokestatic OwnerPIN.getTriesRemaining
    dup
    ifne tries_left
    sspush SW_PIN_BLOCKED
    invokestatic ISOException.throwIt
tries_left:
    sspush SW_WRONG_PIN
    sor
    invokestatic ISOException.throwIt
    return

credit:
    aload_0
    aload_1
    invokestatic Wallet.readAmount
    sstore 4
    getfield_s_this Wallet.balance
    sload 4
    sadd
    sspush MAX_BALANCE
    if_scmple credit_ok
    sspush SW_EXCEED_MAXIMUM
    invokestatic ISOException.throwIt
credit_ok:
    invokestatic JCSystem.beginTransaction
    getfield_s_this Wallet.balance
    sload 4
    sadd
    putfield_s_this Wallet.balance
    invokestatic JCSystem.commitTransaction
    goto balance

debit:
    aload_0
    aload_1
    invokestatic Wallet.readAmount
    sstore 4
    getfield_s_this Wallet.balance
    sload 4
    ssub
    ifge debit_ok
    sspush SW_NEGATIVE_BALANCE
    invokestatic ISOException.throwIt
debit_ok:
    invokestatic JCSystem.beginTransaction
    getfield_s_this Wallet.balance
    sload 4
    ssub
    putfield_s_this Wallet.balance
    invokestatic JCSystem.commitTransaction
    goto balance

balance:
    aload_2
    sconst_0
    getfield_s_this Wallet.balance
    invokestatic Util.setShort
    pop
    aload_1
    sconst_0
    sconst_2
    invokestatic APDU.setOutgoingAndSend
    return

bad_ins:
    sspush SW_INS_UNKNOWN
    invokestatic ISOException.throwIt
    return
.end

; short readAmount(Wallet this, APDU apdu): PIN check, length check, range check
.method readAmount static args=2 returns
    aload_0
    getfield_a Wallet.pin
    invokestatic OwnerPIN.isValidated
    ifne validated
    sspush SW_PIN_REQUIRED
    invokestatic ISOException.throwIt
validated:
    aload_1
    invokestatic APDU.setIncomingAndReceive
    sconst_2
    if_scmpeq length_ok
    sspush SW_WRONG_LENGTH
    invokestatic ISOException.throwIt
length_ok:
    aload_1
    invokestatic APDU.getBuffer
    sconst_5
    invokestatic Util.getShort
    sstore_2
    sload_2
    ifle bad_amount
    sload_2
    sspush MAX_AMOUNT
    if_scmpgt bad_amount
    sload_2
    sreturn
bad_amount:
    sspush SW_BAD_AMOUNT
    invokestatic ISOException.throwIt
    sconst_0
    sreturn
.end

.applet A000000062030101 Wallet install=install process=process select=select deselect=deselect
