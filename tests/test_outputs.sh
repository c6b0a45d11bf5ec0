#!/usr/bin/env bash
# Outputs made for comparison with other tools: eval --json and --dump-logits agree with the
# numbers eval prints and with each other (loss, top-k, per-class accuracy and the confusion matrix
# recomputed from the logits; the same logits on 1 and 2 ranks); train --augment off gives the same
# batches whatever the loader threads and augmentation seed (identical losses), on gives different
# ones for another augmentation seed; --eval-every reports evaluations without changing training;
# --config (flags win; bad files exit 2 naming the line) and the resolved options in every --json
# and checkpoint (they read back as a --config); option defaults print as written.
. "$(dirname "$0")/common.sh"
cd "$tmp" || exit 1
model=(--input-size 67 --classes 4 --width 0.25 --batch 16)

"$bin" shards synth --out set --samples 256 --classes 2 --size 72 --per-shard 128 >/dev/null 2>&1 || fail "shards synth"

# A model that tells the two classes apart (lr 0.1 without dropout learns them in ~60 steps).
out=$("$bin" train --data set "${model[@]}" --steps 60 --lr 0.1 --dropout 0 --log-every 1000 --checkpoint-dir ck \
      2>&1) || fail "train: $out"
ckpt=ck/ckpt-00000060.h5

# eval --json / --dump-logits on 1 rank (centre crop) and 2 ranks (centre crop and ten crops).
out=$("$bin" eval --data set --checkpoint $ckpt --batch 16 --json e1.json --dump-logits l1.h5 2>&1) ||
  fail "eval: $out"
line1=$(grep "^eval: 256 samples" <<<"$out") || fail "eval printed no result: $out"
out=$(timeout 300 mpiexec --oversubscribe -n 2 "$bin" eval --data set --checkpoint $ckpt --batch 16 --json e2.json \
      --dump-logits l2.h5 2>&1) || fail "2-rank eval: $out"
line2=$(grep "^eval: 256 samples" <<<"$out") || fail "2-rank eval printed no result: $out"
out=$(timeout 300 mpiexec --oversubscribe -n 2 "$bin" eval --data set --checkpoint $ckpt --batch 16 --ten-crop \
      --json e10.json --dump-logits l10.h5 2>&1) || fail "ten-crop eval: $out"
line10=$(grep "^eval: 256 samples, ten crops" <<<"$out") || fail "ten-crop eval printed no result: $out"
"$py" - "$line1" "$line2" "$line10" <<'PY' || fail "eval outputs disagree"
import json, re, sys
import h5py
import numpy as np

labels_true = np.concatenate([h5py.File(f"set/shard-{i:05d}.h5", "r")["labels"][:] for i in range(2)])

def check(line, report, logits_file, ten):
    e = json.load(open(report))
    m = re.search(r"top-1 error ([\d.]+)% \((\d+) right\), top-5 error ([\d.]+)% \((\d+) right\), loss ([\d.]+)", line)
    assert m, line
    n = e["samples"]
    assert n == 256 and e["crops"] == ("ten crops" if ten else "centre crop"), e["crops"]
    # What eval printed.
    assert round(e["top1"] * n) == int(m[2]) and round(e["top5"] * n) == int(m[4]), (e["top1"], line)
    assert abs(100 * e["top1_error"] - float(m[1])) < 0.006 and abs(e["loss"] - float(m[5])) < 6e-5, (e, line)
    # Per class and the confusion matrix: consistent with the totals.
    conf = np.array(e["confusion"])
    assert conf.shape == (e["data_classes"], e["model_classes"]) == (2, 4), conf.shape
    assert conf.sum() == n and np.trace(conf) == int(m[2]), conf
    assert list(conf.sum(axis=1)) == e["class_samples"] == [128, 128], (conf, e["class_samples"])
    assert np.allclose(np.diag(conf) / conf.sum(axis=1), e["class_top1"]), e["class_top1"]
    assert set(json.load(open(report))["options"]) >= {"data", "checkpoint", "batch", "json", "dump-logits"}
    # The logits, in the shard set's order.
    f = h5py.File(logits_file, "r")
    z = f["logits"][:]
    y = f["labels"][:]
    assert z.shape == (256, 4) and z.dtype == np.float32, (z.shape, z.dtype)
    assert (y == labels_true).all(), "labels not in the shard set's order"
    crops = f.attrs["crops"]
    assert (crops.decode() if isinstance(crops, bytes) else crops) == e["crops"] and f.attrs["step"] == 60, dict(f.attrs)
    if not ten:  # the metrics from the logits (with ten crops they come from the mean softmax instead)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = float(np.mean(-np.log(p[np.arange(n), y])))
        assert abs(loss - e["loss"]) < 1e-4 * max(1, loss), (loss, e["loss"])
        pred = z.argmax(axis=1)
        assert int((pred == y).sum()) == int(m[2]), ((pred == y).sum(), line)
        mine = np.zeros((2, 4), int)
        np.add.at(mine, (y, pred), 1)
        assert (mine == conf).all(), (mine, conf)
    return z, e

z1, e1 = check(sys.argv[1], "e1.json", "l1.h5", False)
z2, e2 = check(sys.argv[2], "e2.json", "l2.h5", False)
z10, e10 = check(sys.argv[3], "e10.json", "l10.h5", True)
assert np.allclose(z1, z2, rtol=1e-5, atol=1e-5), np.abs(z1 - z2).max()
assert e1["confusion"] == e2["confusion"] and abs(e1["loss"] - e2["loss"]) < 1e-6
assert not np.allclose(z1, z10), "ten crops gave the centre crop's logits"
assert np.diag(np.array(e1["confusion"])).min() > 0, "a class never predicted: the model did not learn"
print("eval outputs: ok")
PY

# --augment off: identical batches, whatever the loader threads and augmentation seed.
losses() { "$py" -c "import json,sys; print(' '.join(repr(v) for v in json.load(open(sys.argv[1]))['loss']))" "$1"; }
run=("$bin" train --data set "${model[@]}" --steps 6 --log-every 1000)
"${run[@]}" --augment off --loader-threads 1 --augment-seed 1 --json off1.json >/dev/null 2>&1 || fail "augment off"
"${run[@]}" --augment off --loader-threads 3 --augment-seed 9 --json off2.json >/dev/null 2>&1 || fail "augment off"
[ "$(losses off1.json)" = "$(losses off2.json)" ] ||
  fail "--augment off: losses differ with other threads and seed: $(losses off1.json) vs $(losses off2.json)"
"${run[@]}" --loader-threads 1 --augment-seed 1 --json on1.json >/dev/null 2>&1 || fail "augment on"
"${run[@]}" --loader-threads 3 --augment-seed 9 --json on2.json >/dev/null 2>&1 || fail "augment on"
[ "$(losses on1.json)" != "$(losses on2.json)" ] || fail "--augment-seed changes nothing"
[ "$(losses on1.json)" != "$(losses off1.json)" ] || fail "--augment off changes nothing"
"${run[@]}" --lighting-std 0 --augment-seed 1 --json dark.json >/dev/null 2>&1 || fail "--lighting-std 0"
[ "$(losses dark.json)" != "$(losses on1.json)" ] || fail "--lighting-std changes nothing"

# --eval-every: evaluations at steps 3 and 6 in the log and the JSON; training itself unchanged.
out=$("${run[@]}" --eval-every 3 --eval-data set --json ev.json 2>&1) || fail "--eval-every: $out"
[ "$(grep -c "eval: step [36]: loss [0-9.]* top-1 [0-9.]*% top-5 [0-9.]*% (256 samples of set" <<<"$out")" -eq 2 ] ||
  fail "--eval-every 3 did not evaluate after steps 3 and 6: $out"
[ "$(losses ev.json)" = "$(losses on1.json)" ] || fail "--eval-every changed the training: $(losses ev.json)"
"$py" - <<'PY' || fail "train --json log and eval records"
import json
d = json.load(open("ev.json"))
assert [e["step"] for e in d["eval"]] == [3, 6] and all(e["samples"] == 256 for e in d["eval"]), d["eval"]
assert all(0 <= e["top1"] <= 1 and e["loss"] > 0 for e in d["eval"]), d["eval"]
assert [p["step"] for p in d["log"]] == [6] and d["log"][0]["images_per_s"] > 0, d["log"]
assert d["options"]["eval-every"] == "3" and d["options"]["lr"] == "0.01", d["options"]
PY
out=$("${run[@]}" --eval-every 3 2>&1)
[ $? -eq 2 ] && grep -q -- "--eval-every K and --eval-data DIR go together" <<<"$out" || fail "--eval-every alone: $out"
out=$("${run[@]}" --eval-every 3 --eval-data nowhere 2>&1)
[ $? -ne 0 ] && grep -q "nowhere" <<<"$out" || fail "--eval-data of a missing set: $out"

# --config: the file's values under the command line's; the resolved options read back.
printf '# a run\nlr = 0.05\nmomentum = 0.8\n--steps = 2\nprofile-layers = true\n\ndata = set\n' >run.ini
out=$("$bin" train --config run.ini "${model[@]}" --lr 0.02 --log-every 1000 --json cfg.json 2>&1) ||
  fail "--config: $out"
grep -q "Per-layer times over 2 profiled steps" <<<"$out" || fail "--config: profile-layers = true not applied: $out"
"$py" - <<'PY' || fail "--config values"
import json
d = json.load(open("cfg.json"))
o = d["options"]
assert (o["lr"], o["momentum"], o["steps"], o["profile-layers"], o["data"]) == ("0.02", "0.8", "2", "true", "set"), o
assert o["weight-decay"] == "0.0005" and d["config"]["steps"] == 2, o
with open("back.ini", "w") as f:
    f.writelines(f"{k} = {v}\n" for k, v in o.items() if k != "json")
PY
"$bin" train --config back.ini --json back.json >/dev/null 2>&1 || fail "the resolved options do not read back"
[ "$(losses back.json)" = "$(losses cfg.json)" ] || fail "the options read back give another run"
"$py" -c "
import h5py; o = h5py.File('ck/ckpt-00000060.h5', 'r').attrs['options']
o = o.decode() if isinstance(o, bytes) else o
assert 'steps = 60' in o and 'lr = 0.1' in o and 'dropout = 0' in o, o" || fail "the checkpoint does not hold the options"

bad() {  # TEXT MESSAGE: a --config holding TEXT exits 2 with MESSAGE
  printf '%b' "$1" >bad.ini
  out=$(timeout 60 "$bin" train --config bad.ini "${model[@]}" 2>&1)
  [ $? -eq 2 ] && grep -qF -- "$2" <<<"$out" || fail "--config '$1': expected exit 2 and '$2': $out"
}
bad 'steps = 2\nbogus = 1\n' "--config bad.ini line 2: 'bogus' is not an option of alexnet train"
bad 'steps 2\n' "--config bad.ini line 1: 'steps 2' is not a name = value line"
bad 'steps = 2\nlr = fast\n' "--config bad.ini line 2: the argument ('fast') for option 'lr' is invalid"
bad '[train]\nsteps = 2\n' "--config bad.ini line 1: sections are not used"
bad 'steps = 2\nsteps = 3\n' "--config bad.ini line 2: steps is given twice"
bad 'steps = 2\nprofile-layers = maybe\n' "profile-layers is a switch: write true or false, not 'maybe'"
bad 'steps = 2\nlr = %value%\n' "--config bad.ini line 2: the argument ('%value%') for option 'lr' is invalid"  # hung
out=$("$bin" train --config missing.ini 2>&1)
[ $? -eq 2 ] && grep -qF -- "--config missing.ini: cannot read the file" <<<"$out" || fail "missing --config: $out"

# Defaults print as written.
help=$("$bin" train --help)
grep -q -- "--momentum arg (=0.9) " <<<"$help" && grep -q -- "--weight-decay arg (=0.0005)" <<<"$help" ||
  fail "defaults do not print as written: $(grep -E 'momentum|weight-decay' <<<"$help")"
grep -q "0000000" <<<"$help" && fail "a default prints with spurious digits: $(grep 0000000 <<<"$help")"
out=$("$bin" eval --data set --checkpoint $ckpt --dump-logits missing/l.h5 2>&1)
[ $? -eq 2 ] && grep -qF -- "--dump-logits missing/l.h5: its folder missing does not exist" <<<"$out" ||
  fail "unwritable --dump-logits: $out"
echo "outputs: ok"
