#!/usr/bin/python3
"""alexnet report: a self-contained scaling report (Markdown + PNG plots) from `alexnet bench --json`
files, with an optional projection to sizes that cannot be run here.

  report.py RUN.json|DIR ... --out DIR [--project 8,64,512 --link ib400 [--base FILE]]

Every number in the tables and plots is read from the JSON files. The projection is a model, and
its assumptions are printed with its numbers.
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")
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


def load(paths):
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    runs = []
    for f in files:
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError) as e:
            sys.exit(f"report: cannot read {f}: {e}")
        if d.get("tool") != "alexnet bench":
            continue
        train = next((m for m in d.get("modes", []) if m.get("mode") == "train"), None)
        if train is None:
            print(f"report: {f} has no training-step mode; skipped", file=sys.stderr)
            continue
        d["_file"], d["_train"] = f, train
        runs.append(d)
    if not runs:
        sys.exit("report: no `alexnet bench --json` file with a training step among " + " ".join(paths))
    return runs


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


def project(base, ranks, link, overlap):
    """Predicted step of the base run's model on n ranks (weak scaling: batch per rank unchanged)."""
    bw, lat_us, _ = LINKS[link]
    t = base["_train"]
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
    buckets = base.get("buckets", [])
    out = []
    for n in ranks:
        if n <= 1 or not buckets:
            out.append((n, fwd + backward + update, 0.0, 0.0))
            continue
        end, total = 0.0, 0.0
        for b in buckets:
            size = b["floats"] * 4 * 2  # both towers' buckets share the rank's link
            cost = 2 * (n - 1) / n * size / (bw * 1e9) + 2 * (n - 1) * lat_us * 1e-6
            total += cost
            ready = max(done_at.get(layer, backward) for layer in b["layers"]) if overlap else backward
            end = max(end, ready) + cost
        exposed = max(0.0, end - backward)
        out.append((n, fwd + backward + exposed + update, exposed, total))
    return out


def save(fig, out, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)


def rank_axis(ax):
    """A log2 rank axis labelled with plain integers."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))


def main():
    ap = argparse.ArgumentParser(prog="alexnet report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="bench JSON files or folders of them")
    ap.add_argument("--out", required=True, help="folder for report.md and the PNG plots")
    ap.add_argument("--project", default="", help="rank counts to project to, e.g. 8,64,512")
    ap.add_argument("--link", default="ib400", choices=sorted(LINKS), help="interconnect of the projection")
    ap.add_argument("--base", default="", help="the run the projection starts from (default: the 1-rank weak run)")
    ap.add_argument("--title", default="alexnet-mpi scaling report")
    a = ap.parse_args()
    runs = load(a.inputs)
    os.makedirs(a.out, exist_ok=True)
    rows = sorted((summary(r) for r in runs), key=lambda r: (r["label"], r["ranks"]))
    by_label = series(rows)
    md = [f"# {a.title}", "",
          f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `alexnet report {' '.join(a.inputs)} --out {a.out}"
          + (f" --project {a.project} --link {a.link}" if a.project else "") + "` from "
          f"{len(runs)} `alexnet bench --json` run(s). Every number below is read from those files.", ""]

    # Table of runs.
    md += ["## Runs", "", "| label | ranks | batch/rank | global batch | images/s | step (s) | exposed all-reduce (ms, median rank) "
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

    # Throughput and efficiency.
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    md += ["## Throughput and scaling efficiency", "", "![throughput](throughput.png)", "",
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
    save(fig, a.out, "throughput.png")
    md += ["", "Efficiency is measured images/s over the ideal line: the smallest run of the series times the "
           "rank ratio (weak scaling keeps the batch per rank, strong scaling the global batch).", ""]

    # Per-layer breakdown.
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
    save(fig, a.out, "layers.png")
    md += ["## Per-layer breakdown", "", "![layers](layers.png)", "",
           "| run | " + " | ".join(keys) + " | sum (ms) | measured step (ms) |", "|---|" + "---|" * (len(keys) + 2)]
    for nm, g, r in zip(names, groups, rows):
        md.append(f"| {nm} | " + " | ".join(f"{1e3 * g[k]:.1f}" for k in keys) +
                  f" | {1e3 * sum(g.values()):.1f} | {1e3 * r['step']:.1f} |")
    md.append("")

    # Exposed communication.
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rs in by_label.items():
        n = [r["ranks"] for r in rs]
        ax.plot(n, [1e3 * r["exposed"] for r in rs], "o-", label=f"{label}: exposed")
        ax.plot(n, [1e3 * r["allreduce"] for r in rs], "s:", alpha=0.7, label=f"{label}: all-reduce total")
    ax.set(xlabel="ranks", ylabel="ms per step (median rank)", title="Gradient all-reduce: total and exposed")
    rank_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, a.out, "communication.png")
    md += ["## Communication", "", "![communication](communication.png)", "",
           "All-reduce total is the time spent inside the bucket all-reduces; exposed is the part the step waited "
           "for after backward (the rest overlapped backward).", ""]

    # Projection.
    if a.project:
        ranks = sorted({int(x) for x in a.project.split(",") if x.strip()})
        base = None
        if a.base:
            base = next((r for r in runs if os.path.samefile(r["_file"], a.base)), None)
        if base is None:
            cands = [r for r in rows if r["label"] == "weak"] or rows
            base = min(cands, key=lambda r: r["ranks"])["run"]
        bw, lat, desc = LINKS[a.link]
        with_ov, without = project(base, [1] + ranks, a.link, True), project(base, [1] + ranks, a.link, False)
        t1 = with_ov[0][1]
        batch = base["config"]["batch"]
        md += ["## Projection", "",
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
        print("\n".join(md[md.index("## Projection"):]))

    with open(os.path.join(a.out, "report.md"), "w") as fh:
        fh.write("\n".join(md) + "\n")
    print(f"report: wrote {os.path.join(a.out, 'report.md')} and its plots from {len(runs)} run(s)")


if __name__ == "__main__":
    main()
