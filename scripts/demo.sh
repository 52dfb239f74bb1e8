#!/usr/bin/env bash
# The main job: a card's whole life, end to end, on a default card image in
# ./demo-card/card.img (made fresh each run), each party doing its own step.
# Every APDU is printed with its status word.
#
# CARDVM_DEMO_BUILD=DIR uses an existing build tree (no packages installed,
# nothing built) and CARDVM_DEMO_DIR=DIR puts the card elsewhere: the tests
# run the demo that way and search its whole output for key bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${CARDVM_DEMO_BUILD:-}
if [ -z "$BUILD" ]; then
  BUILD=build
  ./scripts/deps.sh >/dev/null
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
BUILD=$(cd "$BUILD" && pwd)
CARDVM=$BUILD/bin/cardvm
DIR=${CARDVM_DEMO_DIR:-demo-card}
IMG=$DIR/card.img
mkdir -p "$DIR"
rm -rf "$DIR"/card.img "$DIR"/*.sealed "$DIR"/*.cap "$DIR"/*.exp "$DIR"/classes

step() { printf '\n== %s\n' "$*"; }
send() { $CARDVM --trace send "$@" 2>&1 >/dev/null | grep -v '^ATR' | sed 's/^[0-9:.]* /  /'; }

step "1. client: assemble the customization software, seal it with the unlocking key"
$CARDVM asm examples/customization/custom.jca -o "$DIR/custom.cap"
KEY=C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF
HASH=$($CARDVM seal "$DIR/custom.cap" --unlock-key $KEY -o "$DIR/custom.sealed" | awk '{print $3}')
echo "  hash code $HASH (the client keeps it, with the key)"

step "2. manufacturer: mask an ISSUER-mode chip (ROM part + sealed software only)"
$CARDVM mask "$IMG" --sealed "$DIR/custom.sealed"
$CARDVM info "$IMG" | grep -E "^(mode|OTP trace|serial|customization)" | sed 's/^/  /'

step "3. card mounter: electrical test, serial number; nothing else works without the key"
send "$IMG" 8010000000 80120000080000000000000042 80CADF2000 00A4040008A000000151000000 8030000001FF

step "4. client: UNLOCK, then in the customization channel (SCP03 keyed from the unlocking key and serial): security domain, keys, vector table, ENTER USER MODE"
$CARDVM personalize "$IMG" --unlock-key $KEY --hash $HASH

step "5. USER mode: security domain, the masked OS through its vectors, an SCP03 INITIALIZE UPDATE"
send "$IMG" 00A4040008A00000015100000000 80F0000000 80F400000548656C6C6F00 80CA00E000 \
     8050300008000102030405060700 80CADF2100
step "6. issuer: load, install, run and delete an applet over SCP03 (GlobalPlatform, scripted)"
echo "  (the example applets are Java Card applets: the build compiles examples/applets/*/src with"
echo "  javac against cardvm's API stubs and converts them with cardvm convert; docs/applets.md)"
$CARDVM script examples/scripts/hello.script "$IMG" -I "$BUILD/examples/applets"
COUNTER=$BUILD/examples/applets/counter.cap
if command -v javac >/dev/null && [ -f "$BUILD/share/cardvm-api.jar" ]; then
  echo "  applet developer: the counter applet from Java, javac against the API stubs, then cardvm convert"
  rm -rf "$DIR/classes"
  javac -g -nowarn --release 8 -cp "$BUILD/share/cardvm-api.jar" -d "$DIR/classes" \
        examples/applets/counter/src/cardvm/examples/counter/CounterApplet.java
  $CARDVM convert --classes "$DIR/classes" --package cardvm.examples.counter --aid F063617264766D11 \
        --version 1.0 --applet F063617264766D1101 CounterApplet --debug -o "$DIR/counter.cap"
  $CARDVM verify "$DIR/counter.cap" | sed "s|^$DIR/||;s/^/  /"
  COUNTER=$DIR/counter.cap
fi
echo "  cardvm gp: load and install the counter applet at level 33, then list the card"
$CARDVM gp "$IMG" --kvn 30 --sl 33 --load "$COUNTER" --install --list
echo "  the counter: add 5, add 255, add 1 and abort, add 1 then fail inside the transaction (6A80), get"
$CARDVM send "$IMG" 00A4040009F063617264766D1101 8001050000 8001FF0000 8003000000 8004000000 8002000000 | sed 's/^/  /'

step "6b. applet developer: a Java Card applet in JCA, assembled to a CAP file, verified, loaded over SCP03, run"
$CARDVM asm examples/jca/echo.jca -o "$DIR/echo.cap" --verify
$CARDVM verify "$DIR/echo.cap"
$CARDVM gp "$IMG" --kvn 30 --sl 33 --load "$DIR/echo.cap" --install
echo "  SELECT, echo AABBCC (INS 10), a call counter (INS 20, twice), an unknown INS (6D00)"
$CARDVM send "$IMG" 00A4040009F063617264766D0101 8010000003AABBCC00 8020000000 8020000000 80EE000000 | sed 's/^/  /'

step "6c. applet developer: debugging a faulty applet; the client sees status words, --trace says why"
$CARDVM gp "$IMG" --kvn 30 --sl 33 --load "$BUILD/examples/applets/faulty.cap" --install --params 04
$CARDVM --trace --debug-cap "$BUILD/examples/applets/faulty.cap" send "$IMG" 00A4040009F063617264766D1F01 \
     8010030000 8010050000 8020000000 2>&1 >/dev/null | grep -v '^ATR' | sed 's/^[0-9:.]* /  /'

step "7. broadcast OS update (seed 004): one P_SE for a fleet of 20 cards, FIG.3 then FIG.4"
examples/campaign/run.sh "$BUILD" 20

step "card image after its lifecycle"
$CARDVM info "$IMG" | sed 's/^/  /'
echo
echo "demo done: $IMG"
