#!/usr/bin/env bash
# The `alexnet` command line: `info` prints the architecture with the paper's parameter count and
# the devices; bad commands and flags exit 2 with a message naming them; --help exits 0.
. "$(dirname "$0")/common.sh"

out=$("$bin" info 2>&1) || fail "alexnet info exited $?: $out"
grep -q "60,965,224" <<<"$out" || fail "info does not show 60,965,224 parameters: $out"
grep -q "Forward 1.449 GFLOP per image" <<<"$out" || fail "info does not show 1.449 GFLOP: $out"
grep -qE "^conv3 .*\(192, 13, 13\) +\(384, 13, 13\)" <<<"$out" || fail "conv3 row wrong: $out"
grep -qE "GPU( [0-9]+:|: none found \(.+\))" <<<"$out" || fail "info does not report GPUs or why none: $out"
grep -qE "CPU: oneDNN [0-9.]+ dispatching to [a-z0-9_]+" <<<"$out" || fail "info does not report oneDNN: $out"

out=$("$bin" info --width 0.5 --classes 10 --input-size 99 2>&1) || fail "small info exited $?"
grep -q "input 3x99x99, 10 classes" <<<"$out" || fail "model flags ignored: $out"

"$bin" info --classes 7 >/dev/null 2>/tmp/alexnet-cli-$$.err; rc=$?
[ $rc -eq 2 ] || fail "odd class count: exit $rc, expected 2"
grep -q "class count must be even" /tmp/alexnet-cli-$$.err || fail "no message for odd classes: $(cat /tmp/alexnet-cli-$$.err)"

"$bin" info --no-such-flag >/dev/null 2>/tmp/alexnet-cli-$$.err; rc=$?
[ $rc -eq 2 ] || fail "unknown flag: exit $rc, expected 2"
grep -q "no-such-flag" /tmp/alexnet-cli-$$.err || fail "unknown flag not named: $(cat /tmp/alexnet-cli-$$.err)"

"$bin" frobnicate >/dev/null 2>/tmp/alexnet-cli-$$.err; rc=$?
[ $rc -eq 2 ] || fail "unknown command: exit $rc, expected 2"
grep -q "unknown command 'frobnicate'" /tmp/alexnet-cli-$$.err || fail "unknown command not named"

# A value holding one of Boost's message placeholders (found by fuzzing: what() looped for ever).
for v in '%value%' 'a%canonical_option%b' '%option%%original_token%'; do
  timeout 20 "$bin" train --steps "$v" >/dev/null 2>/tmp/alexnet-cli-$$.err; rc=$?
  [ $rc -eq 2 ] || fail "--steps '$v': exit $rc, expected 2 (124: it hung)"
  grep -qF "the argument ('$v') for option '--steps' is invalid" /tmp/alexnet-cli-$$.err ||
    fail "--steps '$v' not named as given: $(head -3 /tmp/alexnet-cli-$$.err)"
done

"$bin" info --help >/dev/null 2>&1 || fail "info --help failed"
"$bin" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no command: exit $rc, expected 2"
rm -f /tmp/alexnet-cli-$$.err
echo "cli: ok"
