#!/usr/bin/env bash
# The cardvm CLI as users run it: create, send, info, --trace, --help, and
# every error path (bad image, bad hex) exiting non-zero with the image untouched.
set -u
CARDVM="$1"
T=$(mktemp -d /tmp/cardvm-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }

"$CARDVM" --help | grep -q "create" || fail "--help lists commands"
for c in create send info; do
  "$CARDVM" $c --help | grep -q "usage: cardvm $c" || fail "$c --help"
done
"$CARDVM" nonsense >/dev/null 2>&1; expect_eq $? 2 "unknown command exit"

"$CARDVM" create --blank "$T/c.img" >/dev/null || fail "create"
"$CARDVM" create "$T/c.img" >/dev/null 2>&1 && fail "create over an existing image without --force"
out=$("$CARDVM" send "$T/c.img" 00A4040008A000000151000000 80DA00420212 80DA0042021234 80CA004200)
# 61xx is fetched with GET RESPONSE, 6Cxx re-sent with the right Le (as in
# scripts): the FCI 6F { 84 AID, A5 { 9F65 01 FF } }, 16 bytes
expect_eq "$out" "$(printf '6F108408A000000151000000A5049F6501FF9000\n6700\n9000\n420212349000')" "send output"
out=$("$CARDVM" send "$T/c.img" 00A4040008A000000151000000 80CA004201)
expect_eq "$out" "$(printf '6F108408A000000151000000A5049F6501FF9000\n420212349000')" "send settles 61xx and 6Cxx"
out=$("$CARDVM" send --raw "$T/c.img" 00A4040008A000000151000000 80CA004201)
expect_eq "$out" "$(printf '6112\n6C04')" "send --raw prints 61xx and 6Cxx"

before=$(sha256sum "$T/c.img")
"$CARDVM" send "$T/c.img" 80CA004200 8OCA >/dev/null 2>&1; rc=$?
expect_eq $rc 2 "malformed hex exit"
"$CARDVM" send "$T/c.img" 80DA0042021111 123 >/dev/null 2>&1 && fail "odd hex accepted"
expect_eq "$(sha256sum "$T/c.img")" "$before" "image untouched after bad hex"

printf 'not a card image' > "$T/bad.img"
before=$(sha256sum "$T/bad.img")
err=$("$CARDVM" send "$T/bad.img" 80CA004200 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] || fail "bad image exit"
echo "$err" | grep -q "not a cardvm card image" || fail "bad image message: $err"
"$CARDVM" info "$T/bad.img" >/dev/null 2>&1 && fail "info on bad image"
expect_eq "$(sha256sum "$T/bad.img")" "$before" "bad image untouched"
"$CARDVM" send "$T/missing.img" 80CA004200 >/dev/null 2>&1 && fail "missing image"

trace=$("$CARDVM" --trace send "$T/c.img" 80CA004200 2>&1 >/dev/null)
echo "$trace" | grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} => 80CA004200$' || fail "trace command line: $trace"
echo "$trace" | grep -Eq '<= 420212349000$' || fail "trace response line: $trace"

info=$("$CARDVM" info "$T/c.img")
echo "$info" | grep -q "NVM:          128 KiB in 64-byte pages" || fail "info NVM: $info"
echo "$info" | grep -q "page writes:" || fail "info wear"
"$CARDVM" create --blank --nvm-size 64K --page-size 128 --historical 8056414243 "$T/small.img" >/dev/null || fail "create with sizes"
"$CARDVM" info "$T/small.img" | grep -q "64 KiB in 128-byte pages" || fail "sizes"
"$CARDVM" info "$T/small.img" | grep -q "ATR:          3B858131FE45805641424318" || fail "historical bytes"
"$CARDVM" create --blank --page-size 100 "$T/x.img" >/dev/null 2>&1; expect_eq $? 2 "bad page size"

# The real lifecycle: a USER-mode card with the defaults, then one with options.
out=$("$CARDVM" create "$T/u.img") || fail "create (lifecycle): $out"
echo "$out" | grep -q "ENTER USER MODE .* -> 9000" || fail "lifecycle steps printed: $out"
info=$("$CARDVM" info "$T/u.img")
echo "$info" | grep -q "mode:         USER" || fail "info mode: $info"
echo "$info" | grep -q "key sets:     KVN 30" || fail "info keys: $info"
echo "$info" | grep -q "customization software: erased" || fail "info 201/300 erased: $info"
out=$("$CARDVM" send "$T/u.img" 00A4040008A00000015100000000 80F0000000 80CADF2100)
expect_eq "$out" "$(printf '6F108408A000000151000000A5049F6501FF9000\n43564F5301009000\nDF2101039000')" "USER card answers"
"$CARDVM" create --quiet --isd-aid A0000001510000 --keys 01:000102030405060708090A0B0C0D0E0F:101112131415161718191A1B1C1D1E1F:202122232425262728292A2B2C2D2E2F --scp-i 70 --serial 1122334455667788 "$T/o.img" || fail "create with options"
info=$("$CARDVM" info "$T/o.img")
echo "$info" | grep -q "security domain: A0000001510000, SCP03 i=70" || fail "isd aid: $info"
echo "$info" | grep -q "serial:       1122334455667788" || fail "serial: $info"
echo "$info" | grep -q "KVN 01" || fail "kvn: $info"
"$CARDVM" create --quiet --keys 01:00 "$T/bad.img" >/dev/null 2>&1; expect_eq $? 2 "bad --keys"
"$CARDVM" create --quiet --issuer "$T/i.img" || fail "create --issuer"
"$CARDVM" info "$T/i.img" | grep -q "mode:         ISSUER" || fail "issuer mode"

# seal + mask as separate parties
"$CARDVM" seal --help | grep -q "usage: cardvm seal" || fail "seal --help"
"$CARDVM" mask --help | grep -q "usage: cardvm mask" || fail "mask --help"
echo "cli: all checks passed"
