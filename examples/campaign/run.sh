#!/bin/sh
# run.sh — a full broadcast campaign (seed 004) on N cards (default 100):
# the applet package "greeter" (A0000006990201), loaded on every card at
# customization in version 1.0, is updated to 2.0 with the FIG.3 profile
# (BK wrapped under Kos, MAC with BK-MAC), then to 3.0 with the FIG.4 profile
# (DATASEND under Kos, MAC with K-MAC). Each update replaces the package
# and installs the applet in the same AUTHORIZE_ACTION.
#
#   examples/campaign/run.sh [BUILD_DIR] [N]
set -eu
BUILD=${1:-build}
N=${2:-100}
CARDVM=$BUILD/bin/cardvm
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/cardvm-campaign-XXXXXX)
trap 'rm -rf "$W"' EXIT

# Demo keys (a real issuer keeps them in its HSM).
MASTER=4D4153544552204B4559203030303031
KOS=4B4F5320434F4D4D4F4E204B45593031
KMAC=4B2D4D414320434F4D4D4F4E204B3031
APPLET=A000000699020101

for v in 1 2 3; do
  sed -e "s/^\t\.version 1\.0;/\t.version $v.0;/" \
      -e "s/bspush 1;\t\t\/\/ MAJOR/bspush $v;\t\t\/\/ MAJOR/" "$HERE/greeter.jca" > "$W/greeter-$v.jca"
  grep -q "version $v.0;" "$W/greeter-$v.jca" && grep -q "bspush $v;" "$W/greeter-$v.jca"
  "$CARDVM" asm "$W/greeter-$v.jca" -o "$W/greeter-$v.cap" >/dev/null
done

echo "== factory: $N cards with greeter 1.0 loaded"
"$CARDVM" campaign enroll --registry "$W/registry.db" --dir "$W/cards" --count "$N" \
  --master $MASTER --kos $KOS --kmac $KMAC --load "$W/greeter-1.cap" --fast --quiet

for fig in 3 4; do
  v=$((fig - 1))
  echo "== FIG.$fig: design system prepares P_SE once (greeter $v.0)"
  "$CARDVM" campaign design --package "$W/greeter-$v.cap" --profile $fig --kos $KOS --kmac $KMAC \
    --replace --install $APPLET --campaign "$W/fig$fig.cvc" --pse "$W/fig$fig.pse"
  echo "== FIG.$fig: management server precomputes P_AUT per card"
  "$CARDVM" campaign server --registry "$W/registry.db" --master $MASTER --campaign "$W/fig$fig.cvc"
  echo "== FIG.$fig: one terminal, one card, then the server records ST"
  FIRST=$(ls "$W/cards" | head -n 1 | sed -e 's/card-//' -e 's/\.img//')
  "$CARDVM" campaign terminal --registry "$W/registry.db" --pse "$W/fig$fig.pse" --serial "$FIRST"
  "$CARDVM" campaign server --registry "$W/registry.db" --master $MASTER --campaign "$W/fig$fig.cvc" --record
  echo "== FIG.$fig: the rest of the fleet"
  "$CARDVM" campaign run --registry "$W/registry.db" --master $MASTER --campaign "$W/fig$fig.cvc" \
    --pse "$W/fig$fig.pse" --fast --quiet
  "$CARDVM" campaign status --registry "$W/registry.db" --campaign "$W/fig$fig.cvc"
  echo "== a card now answers:"
  "$CARDVM" send "$W/cards/card-$FIRST.img" 00A4040008$APPLET 0020000000
done
