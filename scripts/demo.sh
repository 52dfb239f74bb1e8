#!/usr/bin/env bash
# The main job: the card's life end to end on a default card image in
# ./demo-card/ (created fresh each run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
CARDVM=./build/bin/cardvm
DIR=demo-card
IMG=$DIR/card.img
mkdir -p "$DIR"
rm -f "$IMG"

step() { printf '\n== %s\n' "$*"; }
step "create a card image: $IMG"
$CARDVM create "$IMG"
step "SELECT the security domain, PUT DATA / GET DATA, CPLC"
$CARDVM --trace send "$IMG" 00A4040008A000000151000000 80DA00420412345678 80CA004200 80CA9F7F00
step "card image information"
$CARDVM info "$IMG"
