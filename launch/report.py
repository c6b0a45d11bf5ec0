#!/usr/bin/python3
"""alexnet report: a self-contained report (Markdown + PNG plots) from the files alexnet writes.

  report.py FILE|DIR ... --out DIR [--project 8,64,512 --link ib400 [--base FILE]]

Inputs, in any mix, told apart by their content (a folder stands for its *.json files):

- `alexnet bench --json` files: the scaling report (runs, throughput and efficiency, per-layer
  breakdown, communication), with an optional projection to sizes that cannot be run here;
- `--trace` files of `alexnet train` or `alexnet bench` (Chrome trace events, docs/trace.md): one
  step of the slowest rank drawn as a Gantt strip (gantt.png), with its phases and all-reduces;
- `alexnet train --json` files: loss, top-1/top-5, learning rate and images/s against steps, with
  the evaluation points (curves.png).

Every number in the tables and plots is read from the files. The projection (bench files only) is a
model, and its assumptions are printed with its numbers.
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

# Interconnects for the projection: bandwidth a ring all-reduce achieves per rank (GB/s, "bus
# bandwidth") and the per-hop latency (microseconds). Round, stated numbers, not measurements.
LINKS = {
    "nvlink": (150.0, 3.0, "NVLink 4 within a node (~150 GB/s bus bandwidth)"),
    "ib400": (45.0, 5.0, "InfiniBand NDR 400 Gb/s, one NIC per rank (~45 GB/s)"),
    "ib200": (22.0, 5.0, "InfiniBand HDR 200 Gb/s (~22 GB/s)"),
    "eth100": (11.0, 20.0, "100 Gb Ethernet / RoCE (~11 GB/s)"),
    "eth25": (2.8, 25.0, "25 Gb Ethernet (~2.8 GB/s)"),
    "eth10": (1.1, 30.0, "10 Gb Ethernet (~1.1 GB/s)"),
}

GROUPS = [  # stacked-bar groups: (name, row prefixes)
    ("conv1", ["conv1"]), ("conv2", ["conv2"]), ("conv3", ["conv3"]), ("conv4", ["conv4"]), ("conv5", ["conv5"]),
    ("fc6", ["fc6"]), ("fc7", ["fc7"]), ("fc8", ["fc8"]),
    ("LRN", ["norm"]), ("pool", ["pool"]), ("ReLU", ["relu"]), ("dropout", ["drop"]),
    ("tower exchange", ["exchange"]), ("loss", ["loss"]), ("update", ["update"]),
]

# The Gantt strip: the step's phases (docs/trace.md) with a palette of their own and short labels,
# and the colours of the other kinds of event. Layers take their group's colour in layers.png.
PHASES = {
    "data wait": ("#d9b36c", "data"), "forward": ("#6fa8dc", "fwd"), "backward": ("#76c28f", "bwd"),
    "all-reduce wait (exposed)": ("#e06666", "AR wait"), "step agreement": ("#b48ad6", "agree"),
    "update": ("#f0a04b", "upd"),
}
EXPOSED = "all-reduce wait (exposed)"
KIND_COLOURS = {"step": "#37474f", "checkpoint": "#8d6e63", "eval": "#78909c", "allreduce": "#00897b",
                "loader": "#a9a9a9", "other": "#cfd8dc"}


def classify(d):
    """What a parsed JSON file is: "bench", "trace", "train", or None for anything else."""
    if not isinstance(d, dict):
        return None
    if "traceEvents" in d:
        return "trace"
    return {"alexnet bench": "bench", "alexnet train": "train"}.get(d.get("tool"))


def load(paths):
    """The usable inputs among `paths` (files, or folders of *.json), by kind: (bench runs, traces,
    training records). Exits when a file is not JSON, or when no file is usable."""
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    runs, traces, trains = [], [], []
    for f in files:
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError) as e:
            sys.exit(f"report: cannot read {f}: {e}")
        kind = classify(d)
        if kind == "bench":
            train = next((m for m in d.get("modes", []) if m.get("mode") == "train"), None)
            if train is None:
                print(f"report: {f} has no training-step mode; skipped", file=sys.stderr)
                continue
            d["_file"], d["_train"] = f, train
            runs.append(d)
        elif kind == "trace":
            if not any(e.get("ph") == "X" and e.get("cat") == "step" for e in d["traceEvents"]):
                print(f"report: {f} is a trace without any step; skipped", file=sys.stderr)
                continue
            d["_file"] = f
            traces.append(d)
        elif kind == "train":
            if not d.get("step_s") and not d.get("log"):
                print(f"report: {f} is a training record without any step; skipped", file=sys.stderr)
                continue
            d["_file"] = f
            trains.append(d)
        else:
            print(f"report: {f} is not a bench, trace or train file; skipped", file=sys.stderr)
    if not (runs or traces or trains):
        sys.exit("report: nothing to report among " + (" ".join(files) or " ".join(paths) + " (no .json file)") +
                 ": give `alexnet bench --json` files (with a training step), `--trace` files or "
                 "`alexnet train --json` files")
    return runs, traces, trains


def number(v):
    """A JSON number as a float; null (a NaN or infinity written by alexnet) and non-numbers as NaN."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def fmt(v, spec=".3f", scale=1.0, suffix=""):
    """`v * scale` formatted, or "n/a" when missing or not finite."""
    v = number(v)
    return f"{v * scale:{spec}}{suffix}" if math.isfinite(v) else "n/a"


def per_rank_means(train, phase):
    """The mean of `phase` over steps, for every rank (seconds)."""
    return [statistics.mean(r[phase + "_s"]) for r in train.get("ranks", []) if r.get(phase + "_s")]


def summary(run):
    c, t = run["config"], run["_train"]
    exposed = per_rank_means(t, "all-reduce exposed")
    allreduce = per_rank_means(t, "all-reduce")
    return {
        "label": c.get("label") or "run",
        "ranks": c.get("ranks", 1),
        "batch": c["batch"],
        "global": c.get("global_batch", c["batch"]),
        "ips": t["images_per_s"],
        "step": t["mean_s"],
        "sd": t["sd_s"],
        "exposed": statistics.median(exposed) if exposed else 0.0,
        "allreduce": statistics.median(allreduce) if allreduce else 0.0,
        "run": run,
    }


def series(rows):
    out = {}
    for r in rows:
        out.setdefault(r["label"], []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r["ranks"])
    return out


def layer_groups(run):
    """Seconds per step of each group (forward + backward), rank 0's, plus the all-reduce wait."""
    t = run["_train"]
    g = {name: 0.0 for name, _ in GROUPS}
    for row in t.get("layers", []):
        for name, prefixes in GROUPS:
            if any(row["name"].startswith(p) for p in prefixes):
                g[name] += row["forward_mean_s"] + row["backward_mean_s"]
                break
    ex = per_rank_means(t, "all-reduce exposed")
    g["all-reduce wait"] = ex[0] if ex else 0.0
    return g


# Custom links (--link RATE[,LATENCY]): bytes per second of each rate unit; the latency when none is
# given (a message through a TCP stack and a switch).
RATE_UNITS = {"gbit": 1e9 / 8, "mbit": 1e6 / 8, "gb/s": 1e9, "mb/s": 1e6}
DEFAULT_LATENCY_US = 30.0


def parse_link(text):
    """(bandwidth GB/s, latency us, description) of a named link or of RATE[,LATENCY]: 1gbit,
    10gbit,100us, 25GB/s,5us, 0.1ms."""
    if text in LINKS:
        return LINKS[text]
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(gbit|mbit|gb/s|mb/s)\s*(?:,\s*([0-9]*\.?[0-9]+)\s*(us|ms)\s*)?", text, re.I)
    if not m or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is neither a named link ({', '.join(sorted(LINKS))}) nor a rate "
                                         "with an optional latency (1gbit, 10gbit,100us, 25GB/s,5us)")
    bw = float(m[1]) * RATE_UNITS[m[2].lower()] / 1e9
    lat = float(m[3]) * (1000.0 if m[4].lower() == "ms" else 1.0) if m[3] else DEFAULT_LATENCY_US
    return (bw, lat, f"{m[1]} {m[2]} link ({bw:.3g} GB/s each way) with {lat:g} us per message")


def algorithm_of(run, choice):
    """How the run's all-reduce moves data: "ring" (NCCL on GPUs) or "pairwise" (MPI on the CPU)."""
    if choice != "auto":
        return choice
    return "pairwise" if run["config"].get("device", "cpu").startswith("cpu") else "ring"


# How fast an exchange with one peer over one TCP connection (Open MPI's TCP transport) goes each
# way, as a share of the link's rate: measured between namespace nodes with tbf links (100 Mbit/s
# to 1 Gbit/s) at 0.5-0.75 for exchanges of 1-5 MB, near 1 below 0.5 MB; a raw TCP socket manages
# 0.9 both ways at once, so it is Open MPI's one progress loop taking turns.
EXCHANGE_EFFICIENCY = 2 / 3


def allreduce_cost(size, n, bw, lat_us, algorithm, efficiency=EXCHANGE_EFFICIENCY):
    """Seconds for one all-reduce of `size` bytes per rank over n ranks, one rank per link.

    ring: NCCL's ring, each rank sends 2(n-1)/n * size to one neighbour while it receives from the
    other, 2(n-1) steps. pairwise: Open MPI's choice for large messages over TCP (recursive halving
    and doubling; with 2 ranks every algorithm is one exchange): the same bytes, in 2 log2(n) steps,
    each an exchange with one peer over one TCP connection carrying both directions, at
    `efficiency` of the link's rate each way."""
    if n <= 1:
        return 0.0
    volume = 2 * (n - 1) / n * size / (bw * 1e9)
    if algorithm == "ring":
        return volume + 2 * (n - 1) * lat_us * 1e-6
    return volume / efficiency + 2 * math.ceil(math.log2(n)) * lat_us * 1e-6


def predict(run, n, bw, lat_us, overlap, algorithm, host_s_per_byte=0.0, efficiency=EXCHANGE_EFFICIENCY,
            no_free_core=False):
    """(step, exposed, all-reduce total) in seconds of `run`'s measured compute on n ranks: forward,
    backward and update as the run measured them (rank 0's per-layer times), its buckets
    all-reduced one after another, each as soon as backward has produced it (overlap) or all after
    backward. A bucket takes the longer of the link's time and the hosts' own (host_s_per_byte:
    what moving a byte costs the machines where the link is no limit; TCP and the wire work as a
    pipeline, the slower stage sets the pace). no_free_core: the CPU's compute threads take every
    core of the rank, so an overlapped all-reduce waits in MPI, making no progress, until backward
    ends (seen with --trace: a 20 KB all-reduce posted as backward began took all of backward)."""
    t = run["_train"]
    rows = {r["name"]: r for r in t.get("layers", [])}
    fwd = sum(r["forward_mean_s"] for r in rows.values())
    update = rows.get("update", {}).get("backward_mean_s", 0.0)
    bwd_rows = [(name, r["backward_mean_s"]) for name, r in rows.items() if name != "update"]
    backward = sum(b for _, b in bwd_rows)
    # When each layer's gradients are complete: backward runs the rows in reverse execution order.
    done_at, clock = {}, 0.0
    for name, b in reversed(bwd_rows):
        clock += b
        done_at[name] = clock
    buckets = run.get("buckets", [])
    if n <= 1 or not buckets:
        return fwd + backward + update, 0.0, 0.0
    end, total, first = 0.0, 0.0, backward
    for b in buckets:
        size = b["floats"] * 4 * 2  # both towers' buckets share the rank's link
        cost = max(allreduce_cost(size, n, bw, lat_us, algorithm, efficiency), size * host_s_per_byte)
        total += cost
        ready = max(done_at.get(layer, backward) for layer in b["layers"]) if overlap else backward
        first = min(first, ready)
        end = max(end, backward if no_free_core else ready) + cost
    total += backward - first if no_free_core else 0.0  # the first one's time in MPI, waiting for a core
    exposed = max(0.0, end - backward)
    return fwd + backward + exposed + update, exposed, total


def project(base, ranks, link, overlap, algorithm="ring"):
    """Predicted (n, step, exposed, all-reduce total) of the base run's model on each n of `ranks`
    (weak scaling: batch per rank unchanged)."""
    bw, lat_us, _ = link
    return [(n, *predict(base, n, bw, lat_us, overlap, algorithm)) for n in ranks]


def save(fig, out, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)


def rank_axis(ax):
    """A log2 rank axis labelled with plain integers."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))


# ---- Bench files: the scaling report ----

def runs_section(rows):
    """The table of bench runs."""
    md = ["## Runs", "", "| label | ranks | batch/rank | global batch | images/s | step (s) | exposed all-reduce (ms, median rank) "
          "| host | device | layout | threads | libraries | file |", "|" + "---|" * 13]
    for r in rows:
        c, h, lib = r["run"]["config"], r["run"].get("host", {}), r["run"].get("libraries", {})
        gpus = h.get("gpus", [])
        dev = ", ".join(g["name"] for g in gpus) if gpus and c.get("device", "cpu") != "cpu" else h.get("cpu", "?")
        libs = ", ".join(v for k, v in lib.items() if k in ("onednn", "mpi", "cudnn", "nccl") and v)
        md.append(f"| {r['label']} | {r['ranks']} | {r['batch']} | {r['global']} | {r['ips']:.1f} | "
                  f"{r['step']:.3f} ± {r['sd']:.3f} | {1e3 * r['exposed']:.1f} | {h.get('hostname', '?')} | {dev} | "
                  f"{c.get('layout', '?')} | {c.get('threads', '?')} | {libs} | {os.path.basename(r['run']['_file'])} |")
    md.append("")
    return md


def throughput_section(by_label, out):
    """Images/s and scaling efficiency against ranks (throughput.png) and their table."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    md = ["## Throughput and scaling efficiency", "", "![throughput](throughput.png)", "",
          "| label | ranks | images/s | ideal images/s | efficiency |", "|---|---|---|---|---|"]
    for label, rs in by_label.items():
        base = rs[0]
        n = [r["ranks"] for r in rs]
        ips = [r["ips"] for r in rs]
        ideal = [base["ips"] * r["ranks"] / base["ranks"] for r in rs]
        eff = [100 * r["ips"] / i for r, i in zip(rs, ideal)]
        line, = ax[0].plot(n, ips, "o-", label=f"{label} (measured)")
        ax[0].plot(n, ideal, "--", alpha=0.6, color=line.get_color(), label=f"{label} (ideal)")
        ax[1].plot(n, eff, "o-", color=line.get_color(), label=label)
        for r, i, e in zip(rs, ideal, eff):
            md.append(f"| {label} | {r['ranks']} | {r['ips']:.1f} | {i:.1f} | {e:.0f}% |")
    ax[0].set(xlabel="ranks", ylabel="images/s", title="Training throughput")
    ax[1].set(xlabel="ranks", ylabel="% of ideal", title="Scaling efficiency", ylim=(0, 110))
    for x in ax:
        rank_axis(x)
        x.grid(alpha=0.3)
        x.legend(fontsize=8)
    save(fig, out, "throughput.png")
    md += ["", "Efficiency is measured images/s over the ideal line: the smallest run of the series times the "
           "rank ratio (weak scaling keeps the batch per rank, strong scaling the global batch).", ""]
    return md


def layers_section(rows, out):
    """Where each run's step goes, by layer group (layers.png), and its table."""
    fig, ax = plt.subplots(figsize=(11, 4.5))
    names = [f"{r['label']} n={r['ranks']}" for r in rows]
    groups = [layer_groups(r["run"]) for r in rows]
    keys = [k for k, _ in GROUPS] + ["all-reduce wait"]
    bottom = [0.0] * len(rows)
    cmap = plt.get_cmap("tab20")
    for i, k in enumerate(keys):
        vals = [1e3 * g[k] for g in groups]
        ax.bar(names, vals, bottom=bottom, label=k, color=cmap(i % 20))
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set(ylabel="ms per step (rank 0, forward + backward)", title="Where the training step goes")
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    save(fig, out, "layers.png")
    md = ["## Per-layer breakdown", "", "![layers](layers.png)", "",
          "| run | " + " | ".join(keys) + " | sum (ms) | measured step (ms) |", "|---|" + "---|" * (len(keys) + 2)]
    for nm, g, r in zip(names, groups, rows):
        md.append(f"| {nm} | " + " | ".join(f"{1e3 * g[k]:.1f}" for k in keys) +
                  f" | {1e3 * sum(g.values()):.1f} | {1e3 * r['step']:.1f} |")
    md.append("")
    return md


def communication_section(by_label, out):
    """All-reduce total and exposed against ranks (communication.png)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rs in by_label.items():
        n = [r["ranks"] for r in rs]
        ax.plot(n, [1e3 * r["exposed"] for r in rs], "o-", label=f"{label}: exposed")
        ax.plot(n, [1e3 * r["allreduce"] for r in rs], "s:", alpha=0.7, label=f"{label}: all-reduce total")
    ax.set(xlabel="ranks", ylabel="ms per step (median rank)", title="Gradient all-reduce: total and exposed")
    rank_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, out, "communication.png")
    return ["## Communication", "", "![communication](communication.png)", "",
            "All-reduce total is the time spent inside the bucket all-reduces; exposed is the part the step waited "
            "for after backward (the rest overlapped backward).", ""]


def projection_section(a, runs, rows, by_label):
    """The projected weak scaling onto `a.link` (projection.png), with the model's assumptions."""
    ranks = sorted({int(x) for x in a.project.split(",") if x.strip()})
    base = None
    if a.base:
        base = next((r for r in runs if os.path.samefile(r["_file"], a.base)), None)
    if base is None:
        cands = [r for r in rows if r["label"] == "weak"] or rows
        base = min(cands, key=lambda r: r["ranks"])["run"]
    bw, lat, desc = a.link_spec
    with_ov, without = project(base, [1] + ranks, a.link_spec, True), project(base, [1] + ranks, a.link_spec, False)
    t1 = with_ov[0][1]
    batch = base["config"]["batch"]
    md = ["## Projection", "",
          f"From `{os.path.basename(base['_file'])}` (batch {batch} per rank, its measured per-layer forward and "
          f"backward times, update time and gradient buckets), onto a {desc}.", "", "The model:", "",
          "- weak scaling: every rank keeps the measured compute (forward, backward, update) of the base run;",
          f"- a bucket of S bytes costs a ring all-reduce 2(n-1)/n * S/B + 2(n-1) * alpha with B = {bw} GB/s and "
          f"alpha = {lat} us; both towers' buckets share the rank's link (S counts both);",
          "- buckets are sent one after the other, each as soon as backward has produced it (with overlap) or all "
          "after backward (without); exposed = how far the last one ends after backward;",
          "- step = forward + backward + exposed + update; efficiency = step(1) / step(n).",
          "- not modelled: stragglers, congestion, NCCL's tree algorithms, the input pipeline, compute "
          "slowed by communication (measured here: overlap slows backward on shared cores).", "",
          "| ranks | step with overlap (s) | exposed (ms) | all-reduce total (ms) | efficiency | step without overlap (s) | efficiency |",
          "|---|---|---|---|---|---|---|"]
    for (n, s1, e1, c1), (_, s2, _, _) in zip(with_ov, without):
        md.append(f"| {n} | {s1:.3f} | {1e3 * e1:.1f} | {1e3 * c1:.1f} | {100 * t1 / s1:.0f}% | {s2:.3f} | "
                  f"{100 * t1 / s2:.0f}% |")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([x[0] for x in with_ov], [x[0] * batch / x[1] for x in with_ov], "o-", label=f"projected, overlap ({a.link})")
    ax.plot([x[0] for x in without], [x[0] * batch / x[1] for x in without], "s--", label=f"projected, no overlap ({a.link})")
    ax.plot([x[0] for x in with_ov], [x[0] * batch / t1 for x in with_ov], ":", color="gray", label="ideal")
    weak = by_label.get("weak", [])
    if weak:
        ax.plot([r["ranks"] for r in weak], [r["ips"] for r in weak], "k^", label="measured (weak)")
    ax.set(xlabel="ranks", ylabel="images/s", title="Projected weak scaling")
    rank_axis(ax)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, a.out, "projection.png")
    md += ["", "![projection](projection.png)", ""]
    print("\n".join(md))
    return md


def model_vs_measured_section(a, rows):
    """The network model against the runs, which ran on `a.link` (model.png): for every run of
    several ranks, the all-reduce, exposed all-reduce and step the model predicts from the run's own
    compute, next to what the run measured."""
    bw, lat, desc = a.link_spec
    host = {}  # ranks -> seconds per byte of the all-reduce on unlimited links, not overlapped (the transfer alone)
    for r in (summary(u) for u in load([a.unshaped])[0]) if a.unshaped else []:
        size = sum(b["floats"] for b in r["run"].get("buckets", [])) * 4 * 2
        if r["ranks"] > 1 and size > 0 and not r["run"]["config"].get("overlap", True):
            host[r["ranks"]] = r["allreduce"] / size
    md = ["## Model against measurement", "",
          f"The runs ran on a {desc}. For each run of several ranks the model (as in the projection, with the "
          "run's own per-layer compute, buckets and ranks) predicts the all-reduce time (the sum over the "
          "step's buckets), the exposed all-reduce and the step; measured: the median over ranks of each "
          "rank's mean, and the mean step. Error: predicted / measured - 1.", "",
          "The all-reduce of each bucket: " + (f"pairwise (Open MPI over TCP: the ring's bytes, each exchange with one "
          f"peer at {a.exchange_efficiency:.2g} of the link's rate each way)" if a.algorithm != "ring" else "ring") + (
          f"; bounded below by the same ranks' all-reduce on unlimited links without overlap (`{a.unshaped}`: the "
          "machines' own cost of moving the bytes)" if a.unshaped else "; hosts assumed infinitely fast "
          "(`--unshaped DIR` gives their cost)") + ". On the CPU, when the compute threads take every core a rank "
          "has" + (" (the nodes share this machine's cores: `--shared-cores`)" if a.shared_cores else "") +
          ", an overlapped all-reduce makes no progress until backward ends (no free core for it); its time "
          "waiting in MPI counts in the all-reduce.", "",
          "| ranks | overlap | algorithm | all-reduce measured (ms) | predicted | error | exposed measured (ms) | "
          "predicted | error | step measured (ms) | predicted | error |", "|" + "---|" * 12]
    points = []
    for r in sorted(rows, key=lambda r: (not r["run"]["config"].get("overlap", True), r["ranks"])):
        if r["ranks"] <= 1:
            continue
        run = r["run"]
        overlap = bool(run["config"].get("overlap", True))
        algorithm = algorithm_of(run, a.algorithm)
        c, h = run["config"], run.get("host", {})
        place = run.get("placement") or [{}]
        cores = h.get("hardware_threads", 1) / (r["ranks"] if a.shared_cores else place[0].get("local_size", 1))
        stalled = overlap and c.get("device", "cpu").startswith("cpu") and c.get("threads", 1) >= cores
        step, exposed, total = predict(run, r["ranks"], bw, lat, overlap, algorithm, host.get(r["ranks"], 0.0),
                                       a.exchange_efficiency, stalled)
        measured = (r["allreduce"], r["exposed"], r["step"])
        predicted = (total, exposed, step)
        cells = []
        for m, p in zip(measured, predicted):
            err = p / m - 1 if m > 0 else math.nan
            cells += [f"{1e3 * m:.1f}", f"{1e3 * p:.1f}", f"{100 * err:+.0f}%" if math.isfinite(err) else "n/a"]
        md.append(f"| {r['ranks']} | {'on' if overlap else 'off'} | {algorithm} | " + " | ".join(cells) + " |")
        points.append((r["ranks"], overlap, measured, predicted))
    if not points:
        return md + ["No run of several ranks.", ""]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for k, (ax, what) in enumerate(zip(axes, ["all-reduce", "exposed all-reduce", "step"])):
        for ov, marker in ((True, "o"), (False, "s")):
            xs = [p[2][k] * 1e3 for p in points if p[1] == ov]
            ys = [p[3][k] * 1e3 for p in points if p[1] == ov]
            ax.scatter(xs, ys, marker=marker, label=f"overlap {'on' if ov else 'off'}")
            for p in points:
                if p[1] == ov:
                    ax.annotate(f"{p[0]}", (p[2][k] * 1e3, p[3][k] * 1e3), fontsize=7, xytext=(3, 3),
                                textcoords="offset points")
        vals = [v * 1e3 for p in points for v in (p[2][k], p[3][k]) if v > 0]
        lo, hi = (min(vals) / 1.5, max(vals) * 1.5) if vals else (0.1, 1)
        xs = [lo, hi]
        ax.plot(xs, xs, "k-", lw=0.8, label="predicted = measured")
        ax.fill_between(xs, [x * 0.8 for x in xs], [x * 1.2 for x in xs], color="gray", alpha=0.2, label="±20%")
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel=f"measured {what} (ms)",
               ylabel=f"predicted {what} (ms)", title=what)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Model against measurement ({a.link})", fontsize=10)
    save(fig, a.out, "model.png")
    md += ["", "![model against measurement](model.png)", ""]
    return md


def bench_sections(a, runs, beside_layers):
    """The scaling report of the bench runs; `beside_layers` (Markdown lines) follows the per-layer breakdown."""
    rows = sorted((summary(r) for r in runs), key=lambda r: (r["label"], r["ranks"]))
    by_label = series(rows)
    md = runs_section(rows) + throughput_section(by_label, a.out) + layers_section(rows, a.out) + beside_layers
    md += communication_section(by_label, a.out)
    if a.compare:
        md += model_vs_measured_section(a, rows)
    if a.project:
        md += projection_section(a, runs, rows, by_label)
    return md


# ---- Trace files: one step as a Gantt strip ----

def step_number(e):
    """The 1-based step an event belongs to (`args.step`, else a number in a `step N` name), or None."""
    s = e.get("args", {}).get("step")
    if s is None:
        m = re.search(r"step (\d+)", e.get("name", ""))
        s = int(m.group(1)) if m else None
    return s


def overlaps(e, t0, t1):
    """Whether event `e` (microseconds) shares time with [t0, t1]; an instant counts when inside it."""
    a, b = e["ts"], e["ts"] + e.get("dur", 0)
    return (a < t1 and b > t0) or (a == b and t0 <= a <= t1)


def nesting(events, slack_us=1.0):
    """Each event with its nesting depth on its track and whether other events nest inside it. An
    event nests in an open one that contains it to within `slack_us` (the file's rounding); one that
    merely touches or overlaps the open one by the rounding follows it."""
    out, stack = [], []  # stack: indices into out of the events still open
    for e in sorted(events, key=lambda e: (e["ts"], -e.get("dur", 0))):
        end = e["ts"] + e.get("dur", 0)
        while stack:
            top = out[stack[-1]][0]
            top_end = top["ts"] + top.get("dur", 0)
            if e["ts"] < top_end - slack_us and end <= top_end + slack_us:
                break
            stack.pop()
        if stack:
            out[stack[-1]][2] = True
        out.append([e, len(stack), False])
        stack.append(len(out) - 1)
    return out


def trace_timeline(tr):
    """What the Gantt strip shows: the slowest rank (longest mean traced step), its median step, that
    step's events by track, its phases and all-reduces, and every rank's means (microseconds)."""
    events = [e for e in tr["traceEvents"] if e.get("ph") == "X" and "ts" in e]
    procs = {e.get("pid"): e.get("args", {}).get("name", "") for e in tr["traceEvents"]
             if e.get("ph") == "M" and e.get("name") == "process_name"}
    tracks = {(e.get("pid"), e.get("tid")): e.get("args", {}).get("name", "") for e in tr["traceEvents"]
              if e.get("ph") == "M" and e.get("name") == "thread_name"}
    steps, phases = {}, {}  # rank: step events; (rank, step, phase): microseconds
    for e in events:
        if e.get("cat") == "step":
            steps.setdefault(e["pid"], []).append(e)
        elif e.get("cat") == "phase":
            k = (e["pid"], step_number(e), e["name"])
            phases[k] = phases.get(k, 0.0) + e.get("dur", 0)

    def host(pid):
        m = re.search(r"\((.*)\)\s*$", procs.get(pid, ""))
        return m.group(1) if m else "?"

    ranks = [{"rank": pid, "host": host(pid), "steps": len(ss), "mean_us": statistics.mean(e["dur"] for e in ss),
              "exposed_us": statistics.mean(phases.get((pid, step_number(e), EXPOSED), 0.0) for e in ss)}
             for pid, ss in sorted(steps.items())]
    slow = max(ranks, key=lambda r: r["mean_us"])
    ss = sorted(steps[slow["rank"]], key=lambda e: e["dur"])
    step = ss[(len(ss) - 1) // 2]
    n, t0, t1 = step_number(step), step["ts"], step["ts"] + step["dur"]
    mine = [e for e in events if e["pid"] == slow["rank"]]
    shown = [e for e in mine if overlaps(e, t0, t1)]
    lanes = [(tid, tracks.get((slow["rank"], tid)) or f"track {tid}",
              [e for e in shown if e.get("tid", 0) == tid]) for tid in sorted({e.get("tid", 0) for e in shown})]
    step_phases = sorted((e for e in mine if e.get("cat") == "phase" and step_number(e) == n), key=lambda e: e["ts"])
    buckets = [e for e in mine if e.get("cat") == "allreduce" and step_number(e) == n] or \
        [e for e in shown if e.get("cat") == "allreduce"]
    return {"rank": slow, "ranks": ranks, "step": step, "n": n, "t0": t0, "t1": t1, "lanes": lanes,
            "phases": step_phases, "buckets": sorted(buckets, key=lambda e: e["ts"])}


def layer_group(e):
    """The GROUPS index of a layer event's row (`args.row`, else its name less the direction), or None."""
    row = e.get("args", {}).get("row") or re.sub(r" (forward|backward)$", "", e.get("name", ""))
    return next((i for i, (_, prefixes) in enumerate(GROUPS) if any(row.startswith(p) for p in prefixes)), None)


def event_style(e):
    """How the Gantt strip draws an event: (colour, legend entry, labels from the longest to the shortest)."""
    cat, name, args = e.get("cat", ""), e.get("name", ""), e.get("args", {})
    if cat == "layer":
        g = layer_group(e)
        if g is not None:
            row = args.get("row") or name.split(" ")[0]
            return plt.get_cmap("tab20")(g % 20), GROUPS[g][0], [row]
    if cat == "phase":
        colour, short = PHASES.get(name, (KIND_COLOURS["other"], name))
        return colour, f"phase: {name}", [name, short]
    if cat == "allreduce":
        b, tower = args.get("bucket"), args.get("tower")
        labels = [name]
        if b is not None:
            labels += ([f"b{b:g} t{tower:g}"] if tower is not None else []) + [f"b{b:g}"]
        return KIND_COLOURS["allreduce"], "all-reduce bucket", labels
    if cat == "loader":
        n = step_number(e)
        return KIND_COLOURS["loader"], "loader batch", [name] + ([f"s{n}"] if n is not None else [])
    if cat in KIND_COLOURS:
        return KIND_COLOURS[cat], {"step": "step", "eval": "evaluation"}.get(cat, cat), [name]
    return KIND_COLOURS["other"], cat or "other", [name]


def gantt(tl, tr, path):
    """Draws the step of `tl` (from trace_timeline) as one lane per track to `path`."""
    t0, t1 = tl["t0"], tl["t1"]
    span = (t1 - t0) / 1e3
    lanes = tl["lanes"]
    height = max(3.4, 1.3 + 0.6 * len(lanes))
    fig, ax = plt.subplots(figsize=(13, height))
    axes_in = 13 * 0.62  # about the axes' width, the legend beside it
    legend = {}
    strip = 0.16  # the height of a band for the events that others nest in

    def fits(label, width_ms, size=7):
        return width_ms / span * axes_in * 72 > 0.62 * size * len(label) + 4

    for y, (_, _, evs) in enumerate(lanes):
        nested = nesting(evs)
        bands = 1 + max((d for _, d, parent in nested if parent), default=-1)
        for e, depth, parent in nested:
            a = (max(e["ts"], t0) - t0) / 1e3
            b = (min(e["ts"] + e.get("dur", 0), t1) - t0) / 1e3
            colour, key, labels = event_style(e)
            legend.setdefault(key, colour)
            if parent:  # a thin band on top; what nests inside it fills the lane below
                top, h = y - 0.4 + depth * strip, strip * 0.85
            else:
                top, h = y - 0.4 + bands * strip, 0.8 - bands * strip
            ax.barh(top, max(b - a, span * 1e-4), left=a, height=h, align="edge", color=colour,
                    edgecolor=colour if parent else "white", linewidth=0.3)
            label = next((lb for lb in labels if fits(lb, b - a)), None)
            if label and not parent:
                ax.text((a + b) / 2, top + h / 2, label, ha="center", va="center", fontsize=7, clip_on=True)
            q = e.get("args", {}).get("queued_us") if e.get("cat") == "allreduce" else None
            if isinstance(q, (int, float)) and t0 <= q <= t1:
                ax.plot((q - t0) / 1e3, y - 0.4, marker="v", color="black", markersize=5, zorder=4, clip_on=False)
                legend.setdefault("queued (handed to the all-reduce)", None)
        if y:
            ax.axhline(y - 0.5, color="#dddddd", linewidth=0.6)
    ax.set_yticks(range(len(lanes)), [name for _, name, _ in lanes])
    ax.set_ylim(len(lanes) - 0.5, -0.55)
    ax.set_xlim(0, span)
    ax.grid(axis="x", alpha=0.3)
    r = tl["rank"]
    ax.set(xlabel=f"ms from the start of step {tl['n']}",
           title=f"Rank {r['rank']} ({r['host']}), step {tl['n']}: {span:.1f} ms "
                 f"(the median traced step{' of the slowest rank' if len(tl['ranks']) > 1 else ''}; "
                 f"{os.path.basename(tr['_file'])})")
    order = ["step"] + [f"phase: {p}" for p in PHASES] + [g for g, _ in GROUPS] + \
        ["all-reduce bucket", "queued (handed to the all-reduce)", "loader batch"]
    handles = []
    for key, colour in sorted(legend.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)):
        if colour is None:
            handles.append(matplotlib.lines.Line2D([], [], marker="v", color="black", linestyle="none", label=key))
        else:
            handles.append(matplotlib.patches.Patch(color=colour, label=key))
    rows = max(1, int(height * 72 / (7 * 2.0)))
    ax.legend(handles=handles, fontsize=7, ncol=1 + (len(handles) - 1) // rows, bbox_to_anchor=(1.01, 1),
              loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def timeline_section(traces, out):
    """One step of each trace (gantt.png; gantt-2.png ... for more traces) and its tables."""
    md = ["## Timeline of one step", ""]
    for i, tr in enumerate(traces):
        tl = trace_timeline(tr)
        png = "gantt.png" if i == 0 else f"gantt-{i + 1}.png"
        gantt(tl, tr, os.path.join(out, png))
        od, r, t0 = tr.get("otherData", {}), tl["rank"], tl["t0"]
        ms = lambda us: f"{(us - t0) / 1e3:.1f}"  # noqa: E731 (ms from the step's start)
        if len(traces) > 1:
            md += [f"### {os.path.basename(tr['_file'])}", ""]
        steps = od.get("steps") or []
        nranks = od.get("ranks", len(tl["ranks"]))
        what = [f"`{od.get('tool', '?')}`", f"{nranks} rank" + ("s" if nranks != 1 else "")]
        if len(steps) == 2:
            what.append(f"steps {fmt(steps[0], 'g')} to {fmt(steps[1], 'g')}")
        if od.get("communicator") not in (None, "", "none"):
            what.append(str(od["communicator"]))
        if "overlap" in od and nranks != 1:
            what.append("overlap " + ("on" if od["overlap"] else "off"))
        rtt = [x for x in od.get("clock_sync_rtt_us", []) if isinstance(x, (int, float))]
        several = len(tl["ranks"]) > 1
        md += [f"![gantt]({png})", "",
               f"From `{os.path.basename(tr['_file'])}` ({', '.join(what)}): rank {r['rank']} ({r['host']}) "
               + (f"has the longest traced steps (mean {r['mean_us'] / 1e3:.1f} ms); its median one"
                  if several else "is the only rank; its median traced step")
               + f", step {tl['n']}, took {tl['step']['dur'] / 1e3:.1f} ms. One lane per track of that rank, times in "
               "ms from the step's start"
               + (" on rank 0's clock" + (f" (the ranks' clocks aligned at start-up, round trip at most {max(rtt):.0f} "
                                          "us)" if rtt else "") if several else "")
               + ("; a triangle marks when backward handed a bucket over." if tl["buckets"] else "."), "",
               "| phase | ms |", "|---|---|"]
        md += [f"| {e['name']} | {e['dur'] / 1e3:.1f} |" for e in tl["phases"]]
        md += [f"| step {tl['n']} (whole) | {tl['step']['dur'] / 1e3:.1f} |", ""]
        if tl["buckets"]:
            md += ["| bucket | bytes | queued at (ms) | start (ms) | end (ms) |", "|---|---|---|---|---|"]
            for e in tl["buckets"]:
                a = e.get("args", {})
                q = a.get("queued_us")
                md.append(f"| {e['name']} | {fmt(a.get('bytes'), ',.0f')} | "
                          f"{ms(q) if isinstance(q, (int, float)) else 'n/a'} | {ms(e['ts'])} | "
                          f"{ms(e['ts'] + e.get('dur', 0))} |")
            total = sum(e.get("dur", 0) for e in tl["buckets"])
            bwd = next((p for p in tl["phases"] if p["name"] == "backward"), None)
            exposed = sum(p["dur"] for p in tl["phases"] if p["name"] == EXPOSED)
            if bwd is None:
                md += ["", f"The buckets took {total / 1e3:.1f} ms in all; the step has no backward phase to "
                       "overlap them with."]
            else:
                b0, b1 = bwd["ts"], bwd["ts"] + bwd["dur"]
                inside = sum(max(0.0, min(b1, e["ts"] + e.get("dur", 0)) - max(b0, e["ts"])) for e in tl["buckets"])
                md += ["", f"Of the {total / 1e3:.1f} ms the buckets took (summed over buckets), "
                       f"{inside / 1e3:.1f} ms ({100 * inside / total if total else 0:.0f}%) ran inside backward "
                       f"({ms(b0)} to {ms(b1)} ms); the step then waited {exposed / 1e3:.1f} ms for the rest "
                       "(all-reduce wait (exposed))."]
        else:
            md.append("No all-reduce in this step (one rank, or the trace has none).")
        md += ["", "| rank | host | traced steps | mean step (ms) | mean exposed all-reduce (ms) |",
               "|---|---|---|---|---|"]
        for x in tl["ranks"]:
            md.append(f"| {x['rank']}{' (shown)' if x is r else ''} | {x['host']} | {x['steps']} | "
                      f"{x['mean_us'] / 1e3:.1f} | {x['exposed_us'] / 1e3:.1f} |")
        md.append("")
    return md


# ---- Training records: curves against steps ----

def train_labels(trains):
    """A legend label per training record: its configuration's label, else its file's name."""
    labels = []
    for d in trains:
        label = d.get("config", {}).get("label") or d.get("options", {}).get("label")
        labels.append(str(label) if label else os.path.basename(d["_file"]))
    return [lb if labels.count(lb) == 1 else f"{lb} ({os.path.basename(d['_file'])})" for lb, d in zip(labels, trains)]


def curves(trains, labels, path):
    """Loss, accuracy, learning rate and images/s against steps, one colour per record, to `path`."""
    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    loss_ax, acc_ax, lr_ax, ips_ax = ax[0][0], ax[0][1], ax[1][0], ax[1][1]
    any_eval = any(d.get("eval") for d in trains)
    any_nan = False
    positive_lr = []
    for k, (d, label) in enumerate(zip(trains, labels)):
        colour = f"C{k % 10}"
        first = int(d.get("first_step", 0) or 0)
        loss = [number(v) for v in d.get("loss", [])]
        steps = [first + i + 1 for i in range(len(loss))]
        loss_ax.plot(steps, [v if math.isfinite(v) else math.nan for v in loss], "-", color=colour, linewidth=0.7,
                     alpha=0.55, label=label)
        bad = [s for s, v in zip(steps, loss) if not math.isfinite(v)]
        if bad:
            any_nan = True
            loss_ax.plot(bad, [0.0] * len(bad), "x", color=colour, markersize=5, clip_on=False,
                         transform=loss_ax.get_xaxis_transform())
        log = d.get("log") or []
        ev = d.get("eval") or []
        ls = [e.get("step") for e in log]
        es = [e.get("step") for e in ev]
        loss_ax.plot(ls, [number(e.get("loss")) for e in log], "o", color=colour, markersize=3.5)
        loss_ax.plot(es, [number(e.get("loss")) for e in ev], "D", color=colour, markeredgecolor="black",
                     markersize=6)
        acc_ax.plot(ls, [100 * number(e.get("top1")) for e in log], "-", color=colour, linewidth=1.2)
        acc_ax.plot(ls, [100 * number(e.get("top5")) for e in log], "--", color=colour, linewidth=1.2)
        acc_ax.plot(es, [100 * number(e.get("top1")) for e in ev], "D", color=colour, markeredgecolor="black",
                    markersize=6)
        acc_ax.plot(es, [100 * number(e.get("top5")) for e in ev], "s", color=colour, markeredgecolor="black",
                    markersize=6)
        lr = [number(v) for v in d.get("lr", [])]
        positive_lr += [v for v in lr if math.isfinite(v) and v > 0]
        lr_ax.plot([first + i + 1 for i in range(len(lr))], lr, "-", color=colour, drawstyle="steps-post")
        ips_ax.plot(ls, [number(e.get("images_per_s")) for e in log], "o-", color=colour, markersize=3,
                    linewidth=1)
    style = [matplotlib.lines.Line2D([], [], color="black", linewidth=0.7, alpha=0.55, label="per step"),
             matplotlib.lines.Line2D([], [], color="black", marker="o", markersize=3.5, linestyle="none",
                                     label="mean of a log window")]
    if any_eval:
        style.append(matplotlib.lines.Line2D([], [], color="white", marker="D", markeredgecolor="black",
                                             markerfacecolor="gray", markersize=6, linestyle="none",
                                             label="evaluation"))
    if any_nan:
        style.append(matplotlib.lines.Line2D([], [], color="black", marker="x", linestyle="none",
                                             label="non-finite loss"))
    runs = [matplotlib.patches.Patch(color=f"C{k % 10}", label=lb) for k, lb in enumerate(labels)]
    loss_ax.legend(handles=runs + style, fontsize=8)
    acc_style = [matplotlib.lines.Line2D([], [], color="black", linestyle="-", label="training top-1"),
                 matplotlib.lines.Line2D([], [], color="black", linestyle="--", label="training top-5")]
    if any_eval:
        acc_style += [matplotlib.lines.Line2D([], [], color="white", marker=m, markeredgecolor="black",
                                              markerfacecolor="gray", markersize=6, linestyle="none", label=lb)
                      for m, lb in (("D", "evaluation top-1"), ("s", "evaluation top-5"))]
    acc_ax.legend(handles=acc_style, fontsize=8)
    loss_ax.set(xlabel="step", ylabel="cross-entropy", title="Loss")
    acc_ax.set(xlabel="step", ylabel="%", title="Top-1 and top-5 accuracy", ylim=(0, 102))
    lr_ax.set(xlabel="step", ylabel="learning rate", title="Learning rate")
    if positive_lr and max(positive_lr) >= 10 * min(positive_lr):
        lr_ax.set_yscale("log")
    ips_ax.set(xlabel="step", ylabel="images/s", title="Throughput (per log window)")
    ips_ax.set_ylim(bottom=0)
    for x in (loss_ax, acc_ax, lr_ax, ips_ax):
        x.grid(alpha=0.3)
    save(fig, os.path.dirname(path), os.path.basename(path))


def curves_section(trains, out):
    """The training curves (curves.png), a table of the records and one of their evaluations."""
    labels = train_labels(trains)
    curves(trains, labels, os.path.join(out, "curves.png"))
    files = [os.path.basename(d["_file"]) for d in trains]
    with_file = labels != files  # a column for the files when the labels are not their names
    md = ["## Training curves", "", "![curves](curves.png)", "",
          "| run | steps | global batch | mean step (s) | images/s | non-finite losses | last logged loss |" +
          (" file |" if with_file else ""), "|---|---|---|---|---|---|---|" + ("---|" if with_file else "")]
    for d, label, f in zip(trains, labels, files):
        c, log = d.get("config", {}), d.get("log") or []
        first = d.get("first_step", 0)
        last = d.get("last_step", first + len(d.get("step_s", [])))
        nonfinite = sum(1 for v in d.get("loss", []) if not math.isfinite(number(v)))
        md.append(f"| {label} | {first + 1} to {last} | {c.get('global_batch', c.get('batch', '?'))} | "
                  f"{fmt(d.get('mean_step_s'))} | {fmt(d.get('images_per_s'), '.1f')} | {nonfinite} | "
                  f"{fmt(log[-1].get('loss')) if log else 'n/a'} |" + (f" {f} |" if with_file else ""))
    md.append("")
    evals = [(label, e) for d, label in zip(trains, labels) for e in d.get("eval") or []]
    without = [label for d, label in zip(trains, labels) if not d.get("eval")]
    if evals:
        md += ["| run | step | samples | loss | top-1 | top-5 | seconds |", "|---|---|---|---|---|---|---|"]
        md += [f"| {label} | {e.get('step', '?')} | {e.get('samples', '?')} | {fmt(e.get('loss'))} | "
               f"{fmt(e.get('top1'), '.1f', 100, '%')} | {fmt(e.get('top5'), '.1f', 100, '%')} | "
               f"{fmt(e.get('seconds'), '.1f')} |" for label, e in evals]
        md.append("")
    if without:
        md += [("No evaluation was run" if not evals else "No evaluation in " + ", ".join(without)) +
               " (`alexnet train --eval-every K --eval-data DIR`).", ""]
    return md


def describe(runs, traces, trains, long):
    """What the report was made from, e.g. "6 `alexnet bench --json` run(s) and 1 trace"."""
    parts = []
    if runs:
        parts.append(f"{len(runs)} `alexnet bench --json` run(s)" if long else f"{len(runs)} run(s)")
    if traces:
        parts.append(f"{len(traces)} trace(s)" + (" (`--trace`)" if long else ""))
    if trains:
        parts.append(f"{len(trains)} " + ("`alexnet train --json` record(s)" if long else "training record(s)"))
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def main():
    ap = argparse.ArgumentParser(prog="alexnet report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="`alexnet bench --json` files, `--trace` files, `alexnet train --json` "
                                              "files, or folders of them (their *.json), in any mix")
    ap.add_argument("--out", required=True, help="folder for report.md and the PNG plots")
    ap.add_argument("--project", default="", help="rank counts to project to, e.g. 8,64,512 (needs bench files)")
    ap.add_argument("--link", default="ib400", help="interconnect of the projection: " + ", ".join(sorted(LINKS)) +
                    ", or a rate with an optional latency per message: 1gbit, 10gbit,100us, 25GB/s,5us")
    ap.add_argument("--compare", action="store_true", help="the bench runs ran on --link: add a table and plot of "
                    "the network model against them (all-reduce, exposed all-reduce, step)")
    ap.add_argument("--unshaped", default="", help="for --compare: bench runs of the same rank counts on links "
                    "without a rate limit, overlap off (a folder or file): the hosts' own cost of an all-reduce")
    ap.add_argument("--exchange-efficiency", type=float, default=EXCHANGE_EFFICIENCY,
                    help="for --compare, pairwise: the share of the link's rate each way of an exchange with one peer "
                         "(default %(default).2f, measured for Open MPI over TCP)")
    ap.add_argument("--shared-cores", action="store_true", help="for --compare: every rank ran on this one "
                    "machine's cores (nodes of launch/netns_cluster.sh), not on its node's own")
    ap.add_argument("--algorithm", default="auto", choices=["auto", "ring", "pairwise"],
                    help="all-reduce of the model for --compare: ring (NCCL), pairwise (MPI over TCP); auto: by "
                         "each run's device")
    ap.add_argument("--base", default="", help="the run the projection starts from (default: the 1-rank weak run)")
    ap.add_argument("--title", help="the report's heading (default: alexnet-mpi scaling report, with bench files; "
                                    "alexnet-mpi report otherwise)")
    a = ap.parse_args()
    try:
        a.link_spec = parse_link(a.link)  # (bandwidth GB/s, latency us, description)
    except argparse.ArgumentTypeError as e:
        ap.error(f"--link: {e}")
    if not 0 < a.exchange_efficiency <= 1:
        ap.error(f"--exchange-efficiency must be in (0, 1], got {a.exchange_efficiency}")
    runs, traces, trains = load(a.inputs)
    if a.compare and not any(r["config"].get("ranks", 1) > 1 for r in runs):
        sys.exit("report: --compare needs `alexnet bench --json` runs of several ranks; none among " + " ".join(a.inputs))
    if a.project and not runs:
        sys.exit("report: --project needs `alexnet bench --json` files (with a training step); none among " +
                 " ".join(a.inputs))
    os.makedirs(a.out, exist_ok=True)
    title = a.title or ("alexnet-mpi scaling report" if runs else "alexnet-mpi report")
    md = [f"# {title}", "",
          f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `alexnet report {' '.join(a.inputs)} --out {a.out}"
          + (f" --project {a.project}" if a.project else "") + (f" --link {a.link}" if a.project or a.compare else "")
          + (" --compare" if a.compare else "") + "` from "
          f"{describe(runs, traces, trains, True)}. Every number below is read from those files.", ""]
    timeline = timeline_section(traces, a.out) if traces else []
    md += bench_sections(a, runs, timeline) if runs else timeline
    if trains:
        md += curves_section(trains, a.out)
    with open(os.path.join(a.out, "report.md"), "w") as fh:
        fh.write("\n".join(md) + "\n")
    print(f"report: wrote {os.path.join(a.out, 'report.md')} and its plots from "
          f"{describe(runs, traces, trains, False)}")


if __name__ == "__main__":
    main()
