#!/usr/bin/env bash
# Issue 18, item 6: option values are validated and the wrong one is named
# (exit 2, no whole usage); `cardvm pcscd` refuses one image named twice,
# whatever path names it (same device and inode); progress written into a
# file is plain lines, never the terminal's \r bar.
#
#   test_cli_options.sh CARDVM
set -u
CARDVM="$1"
T=$(mktemp -d /tmp/cardvm-options-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CARDVM" create --blank "$T/a.img" >/dev/null || fail "create"
ln "$T/a.img" "$T/hard.img"
ln -s a.img "$T/soft.img"
for pair in "$T/a.img $T/a.img" "$T/a.img $T/../$(basename "$T")/a.img" "$T/a.img $T/hard.img" "$T/soft.img $T/a.img" \
            "$T/new.img $T/./new.img"; do
  # shellcheck disable=SC2086
  err=$("$CARDVM" pcscd --pcscd /bin/false $pair 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || fail "pcscd $pair: exit $rc, expected 2 ($err)"
  echo "$err" | grep -q "are the same image" || fail "pcscd $pair: message '$err'"
done

if "$CARDVM" campaign --help >/dev/null 2>&1; then
  KOS=4B4F5320434F4D4D4F4E204B45593031
  check_bad() {   # OPTION VALUE ARGS...: exit 2 and a message naming OPTION and VALUE
    local opt="$1" val="$2"; shift 2
    err=$("$CARDVM" campaign "$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "campaign $*: exit $rc, expected 2"
    echo "$err" | grep -qF -- "$opt '$val'" || fail "campaign $*: message does not name $opt '$val': $err"
    [ "$(echo "$err" | wc -l)" -le 2 ] || fail "campaign $*: the whole usage printed instead of the reason"
  }
  check_bad --master 1234 enroll --registry "$T/r.db" --dir "$T/c" --count 1 --master 1234 --kos $KOS --kmac $KOS
  check_bad --kos zz design --example os-update --kos zz
  check_bad --profile 5 design --example os-update --profile 5 --kos $KOS
  check_bad --count 0 enroll --count 0
  check_bad --count 12x enroll --count 12x
  check_bad --vector 3 design --vector 3
  check_bad --chunk 8 design --chunk 8

  # 12 cards: the plain lines come at every tenth of the work, and no \r.
  "$CARDVM" campaign enroll --registry "$T/r.db" --dir "$T/cards" --count 12 --fast \
    --master 4D4153544552204B4559203030303031 --kos $KOS --kmac $KOS >/dev/null 2>"$T/progress" || fail "enroll"
  if grep -q $'\r' "$T/progress"; then fail "progress into a file has \\r"; fi
  grep -qx "enroll: 12/12  [0-9]*s" "$T/progress" || fail "last progress line: $(cat "$T/progress")"
  n=$(grep -c "^enroll: " "$T/progress")
  [ "$n" -ge 2 ] && [ "$n" -le 11 ] || fail "$n progress lines for 12 cards"
fi
echo "cli options: ok"
