#!/bin/bash
# `recd train` and `recd eval` end to end on a tiny generated events CSV:
# they succeed and write what they promise, and bad flags fail with an exit
# code of 1 or 2 and a message naming the flag.
# Usage: cli_check.sh RECD_BINARY WORK_DIR
set -u
recd=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Two clusters of 10 items; 30 users, each viewing 6 items of one cluster
# and then clicking one, one event per second from 2024-01-01. Users take
# turns (round k is every user's k-th event), so a global time cut leaves
# every user events on both sides.
csv=$work/events.csv
awk 'BEGIN {
  srand(7); t = 1704067200
  print "user,item,type,timestamp"
  for (k = 0; k < 7; ++k) {
    for (u = 0; u < 30; ++u) {
      c = u % 2 ? "b" : "a"
      if (k < 6) {
        last[u] = int(rand() * 10)
        printf "u%d,%s%d,view,%d\n", u, c, last[u], t++
      } else {
        printf "u%d,%s%d,click,%d\n", u, c, last[u], t++
      }
    }
  }
}' > "$csv"

# Runs the command, keeping stdout+stderr in $work/last.log; returns its code.
run() {
  "$@" > "$work/last.log" 2>&1
}

# --- recd train ---------------------------------------------------------
out=$work/models
run "$recd" train --dataset "csv:$csv" --out "$out" --weight view=1 --weight click=2 \
  --iterations 3 --factors 8 --threads 1
code=$?
if [ $code -ne 0 ]; then
  fail "recd train exited $code"; cat "$work/last.log" >&2
fi
manifests=$(ls "$out"/*/MANIFEST 2>/dev/null | wc -l)
[ "$manifests" -eq 1 ] || fail "recd train: expected one $out/<version>/MANIFEST, found $manifests"
for f in vectors.bin labels.pb index.hnsw; do
  ls "$out"/*/"$f" > /dev/null 2>&1 || fail "recd train: no $f in the snapshot"
done
ls -d "$out"/*.tmp > /dev/null 2>&1 && fail "recd train left a .tmp directory"

# --- recd eval ----------------------------------------------------------
report=$work/report
run "$recd" eval --dataset "csv:$csv" --split time --ks 1,5 --iterations 3 --factors 8 \
  --threads 1 --out "$report" --work-dir "$work"
code=$?
if [ $code -ne 0 ]; then
  fail "recd eval exited $code"; cat "$work/last.log" >&2
fi
[ -s "$report/report.json" ] || fail "recd eval: no $report/report.json"
[ -s "$report/report.md" ] || fail "recd eval: no $report/report.md"
grep -q '"blend"' "$report/report.json" 2>/dev/null || fail "recd eval: report.json has no \"blend\""

# --- bad flags: exit 1 or 2, and the message names the flag ---------------
# expect_bad NAME_IN_MESSAGE ARGS...
expect_bad() {
  local want=$1
  shift
  run "$recd" "$@"
  local code=$?
  if [ $code -ne 1 ] && [ $code -ne 2 ]; then
    fail "recd $*: exit code $code, expected 1 or 2"; cat "$work/last.log" >&2
  elif ! grep -q -- "$want" "$work/last.log"; then
    fail "recd $*: message does not name $want:"; cat "$work/last.log" >&2
  fi
}
expect_bad --factors train --dataset "csv:$csv" --out "$work/bad" --factors abc
expect_bad --factors eval --dataset "csv:$csv" --factors abc --out "$work/bad"
expect_bad --bogus train --dataset "csv:$csv" --out "$work/bad" --bogus 1
expect_bad --bogus eval --dataset "csv:$csv" --bogus 1
expect_bad --dataset train --out "$work/bad"
expect_bad --dataset eval --out "$work/bad"
expect_bad --out train --dataset "csv:$csv"
expect_bad --ks eval --dataset "csv:$csv" --ks 1,x --out "$work/bad"
expect_bad --weight train --dataset "csv:$csv" --out "$work/bad" --weight view
expect_bad --iterations train --dataset "csv:$csv" --out "$work/bad" --iterations -1
[ -e "$work/bad" ] && [ -n "$(ls -A "$work/bad")" ] && fail "a refused command wrote into $work/bad"

if [ $failures -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "cli_check: all checks passed"
rm -rf "$work"
