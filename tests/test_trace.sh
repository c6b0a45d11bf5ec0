#!/usr/bin/env bash
# --trace (docs/trace.md): a 2-rank CPU run's trace parses; on every track events nest or do not
# overlap; each rank's `step N` lasts exactly that rank's step time in train --json; buckets are
# queued inside backward with --overlap on and after it with --overlap off; every track the run
# has (phases, both towers, the all-reduce, the loader threads) has events. bench --trace too.
# `alexnet report` draws the Gantt strip and the training curves from these files. Bad input
# (a range outside the run, an unwritable path, --trace-steps alone) exits 2 on every rank before
# training, naming the flag.
. "$(dirname "$0")/common.sh"
cd "$tmp" || exit 1
model=(--input-size 67 --classes 4 --width 0.25 --batch 16)
mpi=(timeout 300 mpiexec --oversubscribe -n 2 "$bin")

"$bin" shards synth --out set --samples 256 --classes 4 --size 72 --per-shard 64 >/dev/null 2>&1 || fail "shards synth"
"$bin" shards synth --out val --samples 64 --classes 4 --size 72 --per-shard 64 >/dev/null 2>&1 || fail "shards synth"

# check TRACE JSON OVERLAP KIND: the promises of docs/trace.md (KIND: train or bench).
check() {
  "$py" - "$@" <<'PY'
import collections, json, sys
trace, report, overlap, kind = sys.argv[1], sys.argv[2], sys.argv[3] == "on", sys.argv[4]
t = json.load(open(trace))
r = json.load(open(report))
other = t["otherData"]
first, last = other["steps"]
assert other["tool"] == "alexnet " + kind and other["ranks"] == 2, other
ev = [e for e in t["traceEvents"] if e["ph"] == "X"]
names = {(e["pid"], e["tid"]): e["args"]["name"] for e in t["traceEvents"]
         if e["ph"] == "M" and e["name"] == "thread_name"}
eps = 0.002  # microseconds: times are written with 3 decimals
tracks = collections.defaultdict(list)
for e in ev:
    assert e["dur"] >= 0, e
    tracks[(e["pid"], e["tid"])].append(e)
for key, es in tracks.items():
    assert key in names, f"events on an unnamed track {key}"
    es.sort(key=lambda e: (e["ts"], -e["dur"]))
    open_ = []
    for e in es:
        while open_ and e["ts"] >= open_[-1]["ts"] + open_[-1]["dur"] - eps:
            open_.pop()
        if open_ and e["ts"] + e["dur"] > open_[-1]["ts"] + open_[-1]["dur"] + eps:
            sys.exit(f"{names[key]} of rank {key[0]}: {e['name']} overlaps {open_[-1]['name']} without nesting")
        open_.append(e)
want = {"step": 0, "tower 0 (cpu)": 1, "tower 1 (cpu)": 2, "all-reduce (MPI)": 3}
if kind == "train":
    want.update({"loader thread 0": 10, "loader thread 1": 11})
for rank in (0, 1):
    for name, tid in want.items():
        assert names.get((rank, tid)) == name, (rank, tid, names.get((rank, tid)))
        assert tracks[(rank, tid)], f"rank {rank}: no events on {name}"
# Each rank's traced steps: exactly its step times in the report.
for rank in (0, 1):
    steps = {e["args"]["step"]: e["dur"] for e in ev if e["pid"] == rank and e["cat"] == "step"}
    assert sorted(steps) == list(range(first, last + 1)), (rank, sorted(steps))
    if kind == "train":
        mine = r["per_rank"][rank]["step_s"]
        offset = r["first_step"] + 1
    else:
        mine = next(m for m in r["modes"] if m["mode"] == "train")["step_s"] if rank == 0 else None
        offset = 1
    if mine is not None:
        for s, d in steps.items():
            assert abs(d * 1e-6 - mine[s - offset]) < 1e-6, (rank, s, d, mine[s - offset])
        total = sum(steps.values()) * 1e-6
        assert abs(total - sum(mine[s - offset] for s in steps)) < 1e-6 * len(steps)
    phases = [e for e in ev if e["pid"] == rank and e["cat"] == "phase"]
    for s in steps:
        ph = [e for e in phases if e["args"]["step"] == s]
        assert ph and abs(sum(e["dur"] for e in ph) - steps[s]) < 1.0, (rank, s)  # the phases tile the step
# Buckets: queued inside backward (overlap on) or after it (off); started after being queued.
buckets = [e for e in ev if e["cat"] == "allreduce"]
assert len(buckets) == 2 * 2 * (last - first + 1), len(buckets)  # 2 ranks x 2 towers x steps
for b in buckets:
    bw = [p for p in ev if p["pid"] == b["pid"] and p["name"] == "backward" and p["args"]["step"] == b["args"]["step"]]
    assert len(bw) == 1, b
    q, lo, hi = b["args"]["queued_us"], bw[0]["ts"], bw[0]["ts"] + bw[0]["dur"]
    inside = lo - eps <= q <= hi + eps
    assert inside == overlap, f"overlap {overlap}: {b['name']} queued at {q}, backward {lo}..{hi}"
    assert b["ts"] >= q - eps and b["args"]["bytes"] > 0, b
layers = {e["args"]["row"] for e in ev if e["cat"] == "layer"}
assert {"conv1", "fc8", "norm1", "update"} <= layers, layers
print(f"{trace}: {len(ev)} events of steps {first}..{last} ok")
PY
}

# Train, 2 ranks, overlap on, with evaluations during training and a checkpoint inside the window.
out=$("${mpi[@]}" train --data set "${model[@]}" --steps 8 --log-every 2 --overlap on --trace on.json --trace-steps 2:5 \
      --eval-every 4 --eval-data val --checkpoint-dir ck --checkpoint-every 3 --json on-run.json 2>&1) ||
  fail "traced train: $out"
grep -q "trace: steps 2 to 5 of 2 ranks written to on.json" <<<"$out" || fail "trace not logged: $out"
check on.json on-run.json on train || fail "the trace of a run with overlap"
"$py" - on.json <<'PY' || fail "checkpoint and evaluation events"
import json, sys
ev = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "X"]
assert sorted(e["args"]["step"] for e in ev if e["cat"] == "checkpoint" and e["pid"] == 0) == [3], "checkpoint of step 3"
assert sorted(e["args"]["step"] for e in ev if e["cat"] == "eval" and e["pid"] == 1) == [4], "evaluation after step 4"
r = json.load(open("on-run.json"))  # images/s: of all ranks, as bench reports it
assert abs(r["images_per_s"] * r["mean_step_s"] - r["config"]["global_batch"]) < 1e-6 * r["config"]["global_batch"], r
PY

out=$("${mpi[@]}" train --data set "${model[@]}" --steps 4 --overlap off --trace off.json --json off-run.json 2>&1) ||
  fail "traced train, overlap off: $out"
check off.json off-run.json off train || fail "the trace of a run without overlap (default steps: all 4)"

out=$("${mpi[@]}" bench "${model[@]}" --steps 4 --warmup 1 --modes forward,train --overlap on --trace bench.json \
      --trace-steps 2:3 --json bench-run.json 2>&1) || fail "traced bench: $out"
check bench.json bench-run.json on bench || fail "the trace of bench"

# The report: the Gantt strip of one step and the training curves, from these files.
out=$("$bin" report on.json on-run.json --out rep 2>&1) || fail "report from a trace and a train record: $out"
for f in report.md gantt.png curves.png; do [ -s "rep/$f" ] || fail "report: no $f: $out"; done
grep -q "## Timeline of one step" rep/report.md && grep -q "## Training curves" rep/report.md ||
  fail "report sections missing: $(cat rep/report.md)"

# Bad input: exit 2 on every rank, before training, naming the flag; no file written.
expect_usage() {  # MESSAGE ARGS...
  local want=$1
  shift
  out=$("${mpi[@]}" train "${model[@]}" "$@" 2>&1)
  rc=$?
  [ $rc -eq 2 ] || fail "$* exited $rc, expected 2: $out"
  [ "$(grep -cF -- "$want" <<<"$out")" -eq 1 ] || fail "$*: expected '$want' once: $out"
  grep -q "step 1/" <<<"$out" && fail "$*: training started: $out"
  return 0
}
expect_usage "--trace-steps 3:9 is outside the run, which runs steps 1 to 4" --steps 4 --trace t.json --trace-steps 3:9
expect_usage "--trace-steps 0:2: expected A:B" --steps 4 --trace t.json --trace-steps 0:2
expect_usage "--trace-steps needs --trace FILE" --steps 4 --trace-steps 1:2
expect_usage "--trace missing/t.json: its folder missing does not exist" --steps 4 --trace missing/t.json
expect_usage "--trace $tmp: is a folder, not a file" --steps 4 --trace "$tmp"
expect_usage "--json missing/r.json: its folder missing does not exist" --steps 4 --json missing/r.json
[ -e t.json ] && fail "a trace was written by a run that was refused"
# Resumed past the range: the range is checked against the steps this run trains.
out=$("${mpi[@]}" train --data set "${model[@]}" --steps 12 --resume auto --checkpoint-dir ck --trace t.json \
      --trace-steps 2:3 2>&1)
[ $? -eq 2 ] && grep -qF -- "--trace-steps 2:3 is outside the run, which runs steps 9 to 12" <<<"$out" ||
  fail "a range before the resumed step: $out"
echo "trace: ok"
