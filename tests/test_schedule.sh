#!/usr/bin/env bash
# Epoch-based schedules count the data actually used: on a 600-image shard set, --lr-step-epochs
# and --epochs become steps of the global batch (epoch e begins at step ceil(e x 600 / global
# batch)), read back from train --json on 1 and 2 ranks; a resumed --epochs run stops at the same
# step; the log names the data set, its size and the resolved decay steps.
. "$(dirname "$0")/common.sh"
cd "$tmp" || exit 1
model=(--input-size 67 --classes 4 --width 0.25 --batch 16 --log-every 1000)

"$bin" shards synth --out set --samples 600 --classes 4 --size 72 --per-shard 200 >/dev/null 2>&1 || fail "shards synth"

# json FILE -> "first_step steps lr-change-steps..." (the 0-based steps whose rate differs from the
# step before), from the per-step rates.
changes() {
  "$py" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lr, first = d["lr"], d["first_step"]
out = [str(first), str(d["config"]["steps"])]
out += [str(first + i) for i in range(1, len(lr)) if lr[i] != lr[i - 1]]
print(" ".join(out))
PY
}

# 1 rank: global batch 16, an epoch is 37.5 steps: epoch 1 begins at step 38, epoch 2 at step 75.
out=$("$bin" train --data set "${model[@]}" --steps 80 --lr-step-epochs 1,2 --json one.json 2>&1) ||
  fail "1-rank train: $out"
grep -q "data: set (600 images of 4 classes); an epoch is 37.5 steps of the global batch 16" <<<"$out" ||
  fail "the log does not name the data set and its epoch: $out"
grep -q "x0.1 at steps 38,75 (epochs 1,2 begin at steps 38,75)" <<<"$out" || fail "resolved decay steps not logged: $out"
grep -q "synthetic" <<<"$out" && fail "train --data still says synthetic: $out"
[ "$(changes one.json)" = "0 80 38 75" ] || fail "1 rank: rate changes at $(changes one.json), expected steps 38 and 75"

# 2 ranks: global batch 32, an epoch is 18.75 steps: epochs 1 and 2 begin at steps 19 and 38.
out=$(timeout 300 mpiexec --oversubscribe -n 2 "$bin" train --data set "${model[@]}" --steps 40 --lr-step-epochs 1,2 \
      --json two.json 2>&1) || fail "2-rank train: $out"
[ "$(changes two.json)" = "0 40 19 38" ] || fail "2 ranks: rate changes at $(changes two.json), expected steps 19 and 38"

# --epochs: 2 epochs are 75 steps on 1 rank, 38 on 2 (37.5 rounded up); the rate drops at epoch 1.
out=$("$bin" train --data set "${model[@]}" --epochs 2 --lr-step-epochs 1 --json e1.json 2>&1) || fail "--epochs: $out"
[ "$(changes e1.json)" = "0 75 38" ] || fail "1 rank --epochs 2: $(changes e1.json), expected 75 steps, change at 38"
grep -q "step 75/75 epoch 2.00" <<<"$out" || fail "--epochs 2 did not end at epoch 2: $out"
out=$(timeout 300 mpiexec --oversubscribe -n 2 "$bin" train --data set "${model[@]}" --epochs 2 --lr-step-epochs 1 \
      --json e2.json 2>&1) || fail "2-rank --epochs: $out"
[ "$(changes e2.json)" = "0 38 19" ] || fail "2 ranks --epochs 2: $(changes e2.json), expected 38 steps, change at 19"

# Without --data the synthetic set's size counts (--synthetic-samples 320: an epoch is 20 steps).
out=$("$bin" train "${model[@]}" --synthetic-samples 320 --epochs 1.5 --lr-step-epochs 1 --json syn.json 2>&1) ||
  fail "synthetic --epochs: $out"
grep -q "data: synthetic, in memory (320 images of 4 classes); an epoch is 20 steps" <<<"$out" || fail "synthetic log: $out"
[ "$(changes syn.json)" = "0 30 20" ] || fail "synthetic: $(changes syn.json), expected 30 steps, change at 20"

# Resume: an --epochs run stopped early continues to the same step count.
"$bin" train --data set "${model[@]}" --steps 20 --checkpoint-dir ck >/dev/null 2>&1 || fail "first part"
out=$("$bin" train --data set "${model[@]}" --epochs 1 --lr-step-epochs 1 --resume auto --checkpoint-dir ck \
      --json resumed.json 2>&1) || fail "resumed --epochs: $out"
[ "$(changes resumed.json)" = "20 38" ] || fail "resumed --epochs 1: $(changes resumed.json), expected steps 20..38"
echo "schedule: ok"
