#!/usr/bin/env bash
# Regenerates docs/example-run/ (a real 2-rank CPU training with evaluations and a trace) and
# renders it with the CPU sweep into docs/example-report/. Run from the repository after building;
# about a minute on 2 cores. The shard sets go to runs/example/ (not kept in the repository).
set -euo pipefail
cd "$(dirname "$0")/../.."
. launch/env.sh
data=runs/example
out=docs/example-run
# 2,560 training images of 10 synthetic classes, and 512 held-out images of the same classes.
"$ALEXNET_BIN" shards synth --out $data/train --samples 2560 --classes 10 --size 144 >/dev/null 2>&1
"$ALEXNET_BIN" shards synth --out $data/val --samples 512 --classes 10 --size 144 --first-sample 2560 >/dev/null 2>&1
launch/mpirun.sh -np 2 -- train --data $data/train --input-size 131 --classes 10 --width 0.5 --batch 16 --overlap on \
  --steps 400 --lr 0.01 --lr-steps 300 --eval-every 50 --eval-data $data/val --log-every 10 \
  --json $out/train.json --trace $out/trace.json --trace-steps 100:104 >$out/train.log 2>&1
"$ALEXNET_BIN" report docs/example-sweep $out/trace.json $out/train.json --out docs/example-report \
  --project 8,64,512 --link ib400 --title "alexnet-mpi example: CPU sweep on a 2-core machine"
