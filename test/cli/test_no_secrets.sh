#!/usr/bin/env bash
# Issue 16: no key material in any output. Runs the demo (on this build
# tree), `cardvm --trace create` and `--trace personalize` with keys of its
# own, and `--trace send` of an UNLOCK and of a PUT KEY in clear, and
# searches everything they print (stdout and stderr) for the key bytes it
# set: any 6-byte run of any key, in hex, whatever the case or spacing.
# Also checks that the masking says so ("<key hidden>", "bytes hidden").
#
#   test_no_secrets.sh CARDVM SOURCE_DIR BUILD_DIR
set -u
CARDVM="$1"
SRC="$2"
BUILD="$3"
T=$(mktemp -d /tmp/cardvm-secrets-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The keys this test sets (the demo's are its defaults).
DEMO_UNLOCK=C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
DEMO_ISD=404142434445464748494A4B4C4D4E4F
DEMO_MASTER=4D4153544552204B4559203030303031   # examples/campaign/run.sh
DEMO_KOS=4B4F5320434F4D4D4F4E204B45593031
DEMO_KMAC=4B2D4D414320434F4D4D4F4E204B3031
UNLOCK=5A17E3C09B2D4F6188A1C3E5F7092B4D6E8FA1B3C5D7E9FB0D1F3142536475A6
ENC=1F2E3D4C5B6A79880716253443526170
MAC=A1B2C3D4E5F60718293A4B5C6D7E8F90
DEK=0A1B2C3D4E5F60718293A4B5C6D7E8F9
KOS=77665544332211009988AABBCCDDEEFF
KMAC=F0E1D2C3B4A5968778695A4B3C2D1E0F
KEYS="$DEMO_UNLOCK $DEMO_ISD $DEMO_MASTER $DEMO_KOS $DEMO_KMAC $UNLOCK $ENC $MAC $DEK $KOS $KMAC"

# Fails when FILE shows any 6-byte window of any key.
no_keys_in() {
  local file=$1 what=$2 flat key i
  flat=$(tr -d ' \t\n\r:' < "$file" | tr 'a-f' 'A-F')
  for key in $KEYS; do
    for ((i = 0; i + 12 <= ${#key}; i += 2)); do
      case "$flat" in
        *"${key:i:12}"*) fail "$what shows key bytes ${key:i:12} (of $key)";;
      esac
    done
  done
}

# 1. The demo, whole.
CARDVM_DEMO_BUILD="$BUILD" CARDVM_DEMO_DIR="$T/demo" "$SRC/scripts/demo.sh" > "$T/demo.out" 2>&1 ||
  { cat "$T/demo.out"; fail "demo failed"; }
grep -q "UNLOCK  *<key hidden>  -> 9000" "$T/demo.out" || fail "demo: UNLOCK <key hidden>"
grep -q "INITIALIZE UPDATE  *80503F" "$T/demo.out" || fail "demo: step 4 opens the customization channel"
grep -q "ENTER USER MODE  *843E" "$T/demo.out" || fail "demo: ENTER USER MODE inside the channel"
no_keys_in "$T/demo.out" "the demo"

# 2. create and personalize with --trace, keys of our own.
"$CARDVM" --trace create --unlock-key $UNLOCK --keys 31:$ENC:$MAC:$DEK --kos $KOS --kmac $KMAC "$T/c.img" \
  > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "create"; }
grep -q "bytes hidden: UNLOCK>" "$T/create.out" || fail "--trace says the UNLOCK data is hidden"
no_keys_in "$T/create.out" "create --trace"

"$CARDVM" asm "$SRC/examples/customization/custom.jca" -o "$T/custom.cap" >/dev/null || fail "asm"
HASH=$("$CARDVM" seal "$T/custom.cap" --unlock-key $UNLOCK -o "$T/custom.sealed" | awk '{print $3}')
"$CARDVM" mask "$T/p.img" --sealed "$T/custom.sealed" >/dev/null || fail "mask"
"$CARDVM" send "$T/p.img" 80120000080102030405060708 >/dev/null || fail "serial"
"$CARDVM" --trace personalize "$T/p.img" --unlock-key $UNLOCK --hash "$HASH" --keys 31:$ENC:$MAC:$DEK \
  --kos $KOS --kmac $KMAC > "$T/perso.out" 2>&1 || { cat "$T/perso.out"; fail "personalize"; }
grep -q "card is in USER mode\|ENTER USER MODE .* -> 9000" "$T/perso.out" || fail "personalize reached USER mode"
no_keys_in "$T/perso.out" "personalize --trace"

# 3. Secrets typed by hand in clear: the trace hides them and says so.
"$CARDVM" mask "$T/s.img" --sealed "$T/custom.sealed" >/dev/null || fail "mask"
"$CARDVM" --trace send "$T/s.img" 8014000040$UNLOCK$HASH 80D8008117${ENC:0:32}0000000000000000 \
  > "$T/send.out" 2>&1
grep -q "=> 8014000040 <64 bytes hidden: UNLOCK>" "$T/send.out" || { cat "$T/send.out"; fail "send --trace: UNLOCK hidden"; }
grep -q "bytes hidden: PUT KEY>" "$T/send.out" || { cat "$T/send.out"; fail "send --trace: plain PUT KEY hidden"; }
no_keys_in "$T/send.out" "send --trace"
echo "ok: no key bytes in the demo, create/personalize/send --trace"
