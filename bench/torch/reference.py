"""What the torch scripts of bench/torch/ share: RECIPE.md's CNN and SimCLR's NT-Xent (Chen et al.
2020), view labels, the timing of a table row, the loop over a table's rows with its JSON line, and
the CPU's name.

Imported by table.py (the CNN step row, every NT-Xent row), recipe_epoch.py (the recipe epochs) and
pml.py (the timing), so the step row and the epochs time one model and one loss, and the
hand-written torch and PML rows are timed alike.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def reference_cnn():
    """RECIPE.md's encoder (conv3x3 1->32, ReLU, maxpool2, conv3x3 32->64, ReLU, maxpool2, flatten,
    linear 3136->128, ReLU = h) and its projection head (128->128, ReLU, 128->64 = z); PyTorch's
    default init, 445,120 parameters."""
    encoder = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
    )
    head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
    return nn.Sequential(encoder, head)


def nt_xent(z, tau):
    """NT-Xent over 2N rows: the positive of i is (i + N) mod 2N, the denominator every a != i, the
    mean over all 2N anchors."""
    n2 = z.shape[0]
    u = F.normalize(z, dim=1)
    logits = (u @ u.t()) / tau
    logits = logits.masked_fill(torch.eye(n2, dtype=torch.bool), float('-inf'))
    targets = (torch.arange(n2) + n2 // 2) % n2
    return F.cross_entropy(logits, targets)


WARMUP = 3

# table.py --serve: the runs after the warm-up are driven from stdin (see `timed`).
SERVE = False


def timed(run, reps):
    """Median wall time (ms) of `reps` runs of `run` after at least WARMUP warm-up runs and 1.5 s.
    With SERVE, after the warm-up: one timed run per `run` line of stdin, its time written to stdout
    as `@ms <ms>`, until a `done` line (bench/run.mjs --table pairs them with bench/training.mjs
    --serve, run by run)."""
    warm_until = time.perf_counter() + 1.5
    i = 0
    while i < WARMUP or time.perf_counter() < warm_until:
        run()
        i += 1
    times = []
    if SERVE:
        print("@ready", flush=True)
        while True:
            line = sys.stdin.readline().strip()
            if line in ("", "done"):
                break
            if line != "run":
                raise ValueError(f"--serve: expected 'run' or 'done', got {line!r}")
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1000)
            print(f"@ms {times[-1]}", flush=True)
        return {"ms": round(statistics.median(times), 1), "min": round(min(times), 1), "runs": len(times), "times": [round(t, 2) for t in times]}
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return {"ms": round(statistics.median(times), 1), "min": round(min(times), 1), "runs": reps, "times": [round(t, 2) for t in times]}


def view_labels(pairs):
    """Labels of `pairs` pairs of views: 0..pairs-1 twice (the second view of i is row i + pairs)."""
    return torch.arange(pairs).repeat(2)


def run_table(rows, only, tag, threads, reps, extra=None, method_note=""):
    """Each row function of `rows` (a dict name -> function returning its figures), or only those
    named in the comma-separated `only`; every result printed to stderr as `[tag] name: {...}`, then
    the whole table as one JSON line on stdout (`extra` first: what else the script ran on; the
    torch build, threads, CPU, date, method + `method_note`, rows, seconds)."""
    started = time.time()
    names = [name for name in only.split(",") if name]
    out = {}
    for name, run in rows.items():
        if names and name not in names:
            continue
        out[name] = run()
        print(f"[{tag}] {name}: {json.dumps(out[name])}", flush=True, file=sys.stderr)
    runs = "runs driven from stdin (--serve)" if SERVE else f"median of {reps} runs"
    print(json.dumps({
        **(extra or {}),
        "torch": torch.__version__,
        "threads": threads,
        "cpu": cpu_model(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": f"{runs} after >= {WARMUP} warm-up runs and 1.5 s, ms{method_note}",
        "rows": out,
        "seconds": round(time.time() - started),
    }))


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or 'unknown'."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
