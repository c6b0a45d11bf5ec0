#!/usr/bin/env bash
# HDF5 input end to end, on real image files made here with Pillow: import (JPEG and PNG; grey,
# CMYK, palette and RGBA become RGB; a corrupt file is named and skipped, or fatal with --strict)
# -> inspect -> train -> eval (centre crop and ten crops); the devkit-style validation labels
# give the same labels as the CSV; h5py reads our shards, and our loader reads a set h5py wrote by
# io/FORMAT.md; each kind of damaged shard set is refused with the file named, non-zero, no crash.
. "$(dirname "$0")/common.sh"
cd "$tmp" || exit 1

"$py" - <<'PY' || fail "making the image folder"
import os, random
from PIL import Image
random.seed(3)
os.makedirs("val", exist_ok=True)
classes = ["n01440764", "n01443537", "n01484850"]
def picture(w, h, c):
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((60 * c + x) % 256, (90 + 40 * c + y) % 256, (x * y + 30 * c) % 256)
    return img
kinds = [("JPEG", "RGB", 300, 200), ("PNG", "RGB", 180, 260), ("JPEG", "L", 256, 256), ("JPEG", "CMYK", 220, 140),
         ("PNG", "P", 150, 150), ("PNG", "RGBA", 90, 70)]
for c, name in enumerate(classes):
    os.makedirs(f"train/{name}", exist_ok=True)
    for i, (fmt, mode, w, h) in enumerate(kinds):
        img = picture(w, h, c).convert(mode)
        img.save(f"train/{name}/{name}_{i}.{'JPEG' if fmt == 'JPEG' else 'png'}", fmt)
with open(f"train/{classes[2]}/broken.JPEG", "wb") as f:
    f.write(b"\xff\xd8\xff" + bytes(random.randrange(256) for _ in range(500)))
rows, ids = [], []
for i in range(6):
    c = i % 3
    picture(120 + 10 * i, 100, c).save(f"val/ILSVRC2012_val_{i + 1:08d}.JPEG", "JPEG")
    rows.append(f"ILSVRC2012_val_{i + 1:08d}.JPEG,{classes[c]}")
    ids.append(str([2, 3, 1][c]))  # the devkit's ids: synsets listed in another order
open("val.csv", "w").write("file,class\n" + "\n".join(rows) + "\n")
open("val_devkit.txt", "w").write("\n".join(ids) + "\n")
open("synsets.txt", "w").write("\n".join([classes[2], classes[0], classes[1]]) + "\n")
PY

# Import (JPEG encoding), the corrupt file named and skipped.
out=$("$bin" shards import --train train --val val --val-labels val.csv --out set --size 80 --per-shard 5 2>&1) ||
  fail "import: $out"
grep -q "train: 18 images written, 1 skipped" <<<"$out" || fail "import counts: $out"
grep -q "skipped: .*train/n01484850/broken.JPEG" <<<"$out" || fail "the broken file is not named: $out"
grep -q "val: 6 images written, 0 skipped" <<<"$out" || fail "val import: $out"
out=$("$bin" shards import --train train --out strict --size 80 --strict 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "broken.JPEG" <<<"$out" || fail "--strict: exit $rc: $out"
"$bin" shards import --train train --val val --val-labels val_devkit.txt --devkit-synsets synsets.txt --out devkit \
  --size 80 --per-shard 5 >/dev/null 2>&1 || fail "devkit-style import"
"$bin" shards import --train train --out raw --size 80 --encoding raw >/dev/null 2>&1 || fail "raw import"

# Inspect, train, eval.
out=$("$bin" shards inspect set/train --decode 2>&1) || fail "inspect: $out"
grep -q "18 samples in 4 shards, 3 classes" <<<"$out" || fail "inspect summary: $out"
"$bin" shards inspect set/val >/dev/null 2>&1 || fail "inspect val"
"$bin" shards inspect raw/train >/dev/null 2>&1 || fail "inspect raw"
model=(--input-size 67 --classes 4 --width 0.25)
out=$("$bin" train --data set/train "${model[@]}" --batch 4 --steps 6 --log-every 3 --checkpoint-dir ck 2>&1) ||
  fail "train on shards: $out"
grep -q "step 6/6 epoch 1.33" <<<"$out" || fail "train log: $out"
"$bin" train --data raw/train "${model[@]}" --batch 4 --steps 2 --shuffle shard --shuffle-buffer 3 >/dev/null 2>&1 ||
  fail "train on raw shards with --shuffle shard"
for mode in "" "--ten-crop"; do
  out=$("$bin" eval --data set/val --checkpoint ck/ckpt-00000006.h5 --batch 4 $mode 2>&1) || fail "eval $mode: $out"
  grep -qE "eval: 6 samples, (centre crop|ten crops): top-1 error [0-9.]+% \([0-6] right\), top-5 error" <<<"$out" ||
    fail "eval $mode output: $out"
done
out=$(timeout 120 mpiexec --oversubscribe -n 2 "$bin" eval --data set/val --checkpoint ck/ckpt-00000006.h5 --batch 2 2>&1) ||
  fail "eval on 2 ranks: $out"
grep -q "eval: 6 samples" <<<"$out" || fail "2-rank eval counted wrong: $out"

# h5py: reads what we wrote; writes a set our loader reads; damaged sets are refused.
"$py" - <<'PY' || fail "h5py interop"
import h5py, numpy as np, io, os, shutil
from PIL import Image
ix = h5py.File("set/train/index.h5", "r")
assert ix.attrs["format"] in (b"alexnet-mpi shards", "alexnet-mpi shards")
shards = ix.attrs["shards"].decode().split() if isinstance(ix.attrs["shards"], bytes) else ix.attrs["shards"].split()
assert len(shards) == len(ix["shard_counts"]) and sum(ix["shard_counts"][...]) == 18
s = h5py.File(os.path.join("set/train", shards[0]), "r")
off, data = s["jpeg_offsets"][...], s["jpeg"][...]
img = Image.open(io.BytesIO(data[off[0]:off[1]].tobytes()))
assert img.size == (80, 80) and img.mode == "RGB", img
r = h5py.File("raw/train/shard-00000.h5", "r")
assert r["images"].dtype == np.uint8 and r["images"].shape[1:] == (80, 80, 3) and r["images"].chunks[0] == 1
val_csv = np.concatenate([h5py.File(f"set/val/{n}", "r")["labels"][...] for n in ("shard-00000.h5", "shard-00001.h5")])
val_dev = np.concatenate([h5py.File(f"devkit/val/{n}", "r")["labels"][...] for n in ("shard-00000.h5", "shard-00001.h5")])
assert (val_csv == val_dev).all(), (val_csv, val_dev)
assert list(val_csv) == [0, 1, 2, 0, 1, 2], val_csv

def write_set(d, encoding, n=6, s=72, classes=3):
    os.makedirs(d, exist_ok=True)
    names = []
    for k in range(2):
        f = h5py.File(f"{d}/part{k}.h5", "w")
        f.attrs["format"], f.attrs["format_version"], f.attrs["encoding"] = "alexnet-mpi shard", 1, encoding
        f.attrs["count"], f.attrs["image_size"] = n, s
        f["labels"] = (np.arange(n) % classes).astype(np.int32)
        imgs = np.random.RandomState(k).randint(0, 255, (n, s, s, 3)).astype(np.uint8)
        if encoding == "raw":
            f.create_dataset("images", data=imgs, chunks=(1, s, s, 3))
        else:
            blobs = []
            for im in imgs:
                b = io.BytesIO(); Image.fromarray(im).save(b, "JPEG"); blobs.append(np.frombuffer(b.getvalue(), np.uint8))
            f["jpeg_offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
            f["jpeg"] = np.concatenate(blobs)
        f.close()
        names.append(f"part{k}.h5")
    i = h5py.File(f"{d}/index.h5", "w")
    i.attrs.update({"format": "alexnet-mpi shards", "format_version": 1, "encoding": encoding, "image_size": s,
                    "num_samples": 2 * n, "num_classes": classes, "class_names": "a\nb\nc\n", "shards": "\n".join(names)})
    i["shard_counts"] = np.array([n, n], np.int64)
    i["mean"], i["pca_eigval"] = np.array([120, 115, 100], np.float32), np.array([50, 20, 5], np.float32)
    i["pca_eigvec"] = np.eye(3, dtype=np.float32)
    i.close()

write_set("h5py_raw", "raw")
write_set("h5py_jpeg", "jpeg")

# Damaged copies of the raw set: (folder, what to do, the words the error must contain).
cases = []
def case(name, words, edit):
    d = f"bad_{name}"
    shutil.copytree("h5py_raw", d)
    edit(d)
    cases.append((d, words))
def attr(d, f, k, v):
    with h5py.File(f"{d}/{f}", "r+") as h: h.attrs[k] = v
def redo(d, f, name, data, **kw):
    with h5py.File(f"{d}/{f}", "r+") as h:
        del h[name]; h.create_dataset(name, data=data, **kw)
case("missing_shard", ["part1.h5", "does not exist"], lambda d: os.remove(f"{d}/part1.h5"))
case("truncated", ["part0.h5"], lambda d: os.truncate(f"{d}/part0.h5", 1000))
case("not_hdf5", ["part1.h5", "not an HDF5 file"], lambda d: open(f"{d}/part1.h5", "w").write("hello"))
case("renamed", ["part0.h5", "dataset 'labels' is missing"], lambda d: h5py.File(f"{d}/part0.h5", "r+").move("labels", "lbl"))
case("dtype", ["part0.h5", "wrong type"], lambda d: redo(d, "part0.h5", "labels", np.zeros(6, np.float32)))
case("shape", ["part1.h5", "images is not [6, 72, 72, 3]"], lambda d: redo(d, "part1.h5", "images", np.zeros((6, 36, 72, 3), np.uint8)))
case("count", ["part0.h5", "count 5 but the index says 6"], lambda d: attr(d, "part0.h5", "count", 5))
case("labels_count", ["part1.h5", "labels has 5 entries for 6 images"], lambda d: redo(d, "part1.h5", "labels", np.zeros(5, np.int32)))
case("label_range", ["part1.h5", "label 99 of sample 4"], lambda d: redo(d, "part1.h5", "labels", np.array([0, 1, 2, 0, 99, 1], np.int32)))
case("empty", ["index.h5", "the shard set is empty"], lambda d: attr(d, "index.h5", "num_samples", 0))
case("absurd", ["index.h5", "absurd num_samples"], lambda d: attr(d, "index.h5", "num_samples", 1 << 40))
case("absurd_size", ["index.h5", "absurd image_size"], lambda d: attr(d, "index.h5", "image_size", 1 << 30))
case("no_index", ["index.h5", "does not exist"], lambda d: os.remove(f"{d}/index.h5"))
case("encoding", ["part0.h5", "encoding differs"], lambda d: attr(d, "part0.h5", "encoding", "jpeg"))
shutil.copytree("h5py_jpeg", "bad_offsets")
redo("bad_offsets", "part0.h5", "jpeg_offsets", np.array([0, 10, 5, 20, 30, 40, 50], np.int64))
cases.append(("bad_offsets", ["part0.h5", "jpeg_offsets of sample 1"]))
with open("cases.txt", "w") as f:
    for d, words in cases: f.write(d + "\t" + "\t".join(words) + "\n")
PY

for set in h5py_raw h5py_jpeg; do
  "$bin" shards inspect "$set" >/dev/null 2>&1 || fail "our loader rejects the h5py-written $set: $("$bin" shards inspect "$set" 2>&1)"
  out=$("$bin" train --data "$set" "${model[@]}" --batch 4 --steps 2 2>&1) || fail "train on h5py-written $set: $out"
done
while IFS=$'\t' read -r dir words; do
  out=$(timeout 60 "$bin" shards inspect "$dir" 2>&1); rc=$?
  [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ $rc -ne 124 ] || fail "$dir: exit $rc (crash or hang?): $out"
  IFS=$'\t' read -r -a expect <<<"$words"
  for w in "${expect[@]}"; do grep -qF -- "$w" <<<"$out" || fail "$dir: the error lacks '$w': $out"; done
done <cases.txt
out=$("$bin" train --data bad_label_range "${model[@]}" --batch 4 --steps 2 2>&1); rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qF "label 99 of sample 4" <<<"$out" || fail "train on a bad set: exit $rc: $out"
out=$("$bin" train --data h5py_raw "${model[@]}" --batch 16 --steps 2 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "fewer than one global batch" <<<"$out" || fail "too little data: exit $rc: $out"
echo "data: ok ($(wc -l <cases.txt) damaged sets refused)"
