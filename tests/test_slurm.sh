#!/usr/bin/env bash
# Slurm for real: a single-node cluster on 127.0.0.1 (munge, slurmctld, slurmd) runs
# launch/alexnet.sbatch with 2 CPU tasks (a short bench, a short train), `scancel --signal=USR1`
# pre-empts a training job (checkpoint, exit 0), launch/scaling.sh sweeps 1, 2 and 4 ranks inside an
# allocation, and `alexnet report` renders the sweep. Exit 77 (skipped) without root or Slurm.
set -u
bin=$(readlink -f "${1:?usage: test_slurm.sh path/to/alexnet repo-root}")
root=$(readlink -f "${2:?usage: test_slurm.sh path/to/alexnet repo-root}")
fail() {
  echo "FAIL: $*"
  for f in "${cluster:-/nonexistent}"/log/slurmd.log "${cluster:-/nonexistent}"/log/slurmctld.log; do
    [ -f "$f" ] && { echo "--- last lines of $(basename "$f")"; tail -25 "$f"; }
  done
  exit 1
}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm cluster needs root"; exit 77; }
for b in sbatch slurmctld slurmd munged; do command -v $b >/dev/null || { echo "SKIP: $b missing"; exit 77; }; done
tmp=$(mktemp -d)
chmod 711 "$tmp"  # munged wants every folder above its socket searchable by all
cluster=$tmp/cluster
trap 'bash "$root/launch/slurm_local.sh" stop "$cluster"; [ -n "${KEEP_SLURM_LOGS:-}" ] && cp -r "$cluster/log" "$KEEP_SLURM_LOGS"; rm -rf "$tmp"' EXIT
env_line=$(bash "$root/launch/slurm_local.sh" start "$cluster" 4) && [ -n "$env_line" ] ||
  fail "the local Slurm cluster did not start: $(cat "$cluster"/log/*.log 2>/dev/null | tail -20)"
eval "$env_line"
cd "$tmp" || exit 1
export ALEXNET_BIN=$bin ALEXNET_ROOT=$root
model="--input-size 67 --classes 10 --width 0.25 --batch 8"

. "$root/tests/slurm_jobs.sh"  # wait_job

# 1. bench with 2 tasks.
id=$(ALEXNET_CMD=bench ALEXNET_OUT=$tmp/bench ALEXNET_ARGS="$model --steps 3 --warmup 1" \
     sbatch --parsable -n 2 -o "$tmp/bench-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch bench"
st=$(wait_job "$id" 300)
grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "bench job: $st: $(cat "$tmp/bench-$id.out")"
grep -q "Training step across 3 steps" "$tmp/bench-$id.out" || fail "bench log: $(cat "$tmp/bench-$id.out")"
grep -q "Training step across 2 ranks" "$tmp/bench-$id.out" || fail "bench log lacks the cross-rank table"
grep -q '"ranks":2' "$tmp/bench/bench.json" || fail "bench JSON: $(head -c 300 "$tmp/bench/bench.json")"

# 2. train with 2 tasks: checkpoint and JSON.
id=$(ALEXNET_CMD=train ALEXNET_OUT=$tmp/train ALEXNET_ARGS="$model --steps 6 --log-every 3" \
     sbatch --parsable -n 2 -o "$tmp/train-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch train"
st=$(wait_job "$id" 300)
grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "train job: $st: $(cat "$tmp/train-$id.out")"
grep -q "Training finished: steps 0..6 on 2 ranks" "$tmp/train-$id.out" || fail "train log: $(cat "$tmp/train-$id.out")"
[ -f "$tmp/train/checkpoints/ckpt-00000006.h5" ] || fail "no checkpoint: $(ls -R "$tmp/train")"
grep -q '"ranks":2' "$tmp/train/train.json" || fail "train JSON"

# 3. Pre-emption: scancel --signal=USR1 makes the job checkpoint and exit cleanly.
id=$(ALEXNET_CMD=train ALEXNET_OUT=$tmp/pre ALEXNET_ARGS="$model --steps 1000000 --log-every 20" \
     sbatch --parsable -n 2 -o "$tmp/pre-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch pre-emption"
for _ in $(seq 300); do grep -q "step [0-9]*/" "$tmp/pre-$id.out" 2>/dev/null && break; sleep 0.2; done
grep -q "step [0-9]*/" "$tmp/pre-$id.out" || fail "the pre-emption job never trained: $(cat "$tmp/pre-$id.out")"
scancel --signal=USR1 "$id" || fail "scancel --signal=USR1"
st=$(wait_job "$id" 120)
grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "pre-empted job: $st: $(tail -20 "$tmp/pre-$id.out")"
grep -q "stopped early by SIGUSR1 at step" "$tmp/pre-$id.out" || fail "no pre-emption summary: $(tail -5 "$tmp/pre-$id.out")"
ls "$tmp/pre/checkpoints"/ckpt-*.h5 >/dev/null 2>&1 || fail "the pre-empted job wrote no checkpoint"

# 4. A scaling sweep inside an allocation, then the report.
salloc -n 4 --overcommit bash "$root/launch/scaling.sh" --ranks 1,2,4 --batch 8 --out "$tmp/sweep" -- \
  --input-size 67 --classes 10 --width 0.25 --steps 3 --warmup 1 >"$tmp/sweep.log" 2>&1 || fail "sweep: $(tail -20 "$tmp/sweep.log")"
for f in weak-n1 weak-n2 weak-n4 strong-n1 strong-n2 strong-n4; do
  [ -f "$tmp/sweep/$f.json" ] || fail "sweep: no $f.json: $(cat "$tmp/sweep.log")"
done
"$bin" report "$tmp/sweep" --out "$tmp/report" --project 8,64 --link ib400 >"$tmp/report.log" 2>&1 || fail "report: $(cat "$tmp/report.log")"
for f in report.md throughput.png layers.png communication.png projection.png; do
  [ -s "$tmp/report/$f" ] || fail "report: no $f"
done
grep -q "| weak | 4 | 8 | 32 |" "$tmp/report/report.md" || fail "report lacks the 4-rank weak run: $(head -30 "$tmp/report/report.md")"
echo "slurm: ok"
