#!/usr/bin/env bash
# One package format on the command line (issue #14): asm takes JCA, and
# disasm, verify, seal, gp --load and the script's load take CAP files
# (the script also JCA, assembled on the fly). Anything else — here a
# cardvm assembler source and a blob with the retired package magic — is
# refused with a message that names the expected format and a non-zero
# exit status (gp before it touches the card: the image stays as it was).
# usage: test_cap_only.sh CARDVM SOURCE_DIR
set -u
CARDVM="$1"; SRC="$2"
T=$(mktemp -d /tmp/cardvm-cap-only-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
HELLO_JCA="$SRC/examples/applets/hello/hello.jca"
[ -f "$HELLO_JCA" ] || fail "missing $HELLO_JCA"

printf '.package A0000000620100 1.0 applet\n' > "$T/old.s"
printf 'CVPK\001\001\000\000\001\000\007\240\000\000\000\142\001\000\000\000\000' > "$T/old.pkg"
"$CARDVM" create "$T/c.img" --quiet || fail "create"

refused() {   # refused WHAT PATTERN -- COMMAND...
  local what=$1 pat=$2; shift 3
  "$@" > "$T/out" 2>&1; local rc=$?
  [ $rc -ne 0 ] || { cat "$T/out"; fail "$what: accepted"; }
  grep -q -- "$pat" "$T/out" || { cat "$T/out"; fail "$what: no '$pat' in the message"; }
  echo "ok $what (exit $rc)"
}
refused "asm of a .s source" "expected a JCA source" -- "$CARDVM" asm "$T/old.s" -o "$T/x.cap"
[ -e "$T/x.cap" ] && fail "asm wrote an output for a .s source"
for f in old.s old.pkg; do
  refused "disasm $f" "not a CAP file" -- "$CARDVM" disasm "$T/$f"
  refused "verify $f" "not a CAP file" -- "$CARDVM" verify "$T/$f"
  refused "seal $f" "not a CAP file" -- "$CARDVM" seal "$T/$f" --unlock-key "$(printf '%064d' 0)" -o "$T/x.sealed"
  before=$(sha256sum < "$T/c.img")
  refused "gp --load $f" "not a CAP file" -- "$CARDVM" gp "$T/c.img" --load "$T/$f" --install
  [ "$(sha256sum < "$T/c.img")" = "$before" ] || fail "a refused gp --load changed the card image"
  printf 'open 30 404142434445464748494A4B4C4D4E4F 03\nload %s\n' "$T/$f" > "$T/load.script"
  refused "script load $f" "not a CAP file (FILE.cap) or JCA source (FILE.jca)" -- \
    "$CARDVM" script "$T/load.script" "$T/c.img"
done

# the script's load assembles a JCA source as `cardvm asm` would: the same
# load file as the CAP asm writes, so the applet installs and answers
"$CARDVM" asm "$HELLO_JCA" -o "$T/hello.cap" || fail "asm hello.jca"
cat > "$T/jca.script" <<EOS
open 30 404142434445464748494A4B4C4D4E4F 03
load $HELLO_JCA
install F063617264766D10 F063617264766D1001
close
select F063617264766D1001
send 0010000000 -> 48656C6C6F2C2063617264219000
EOS
"$CARDVM" script "$T/jca.script" "$T/c.img" > "$T/out" 2>&1 || { cat "$T/out"; fail "script load of a .jca"; }
echo "ok script load hello.jca, install, send"
"$CARDVM" disasm "$T/hello.cap" > "$T/hello2.jca" || fail "disasm hello.cap"
"$CARDVM" asm "$T/hello2.jca" -o "$T/hello2.cap" || fail "asm of the disassembly"
"$CARDVM" verify "$T/hello2.cap" | grep -q "OK (package F063617264766D10" || fail "verify of the round trip"
echo "all CAP-only checks passed"
