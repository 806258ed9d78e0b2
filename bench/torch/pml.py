#!/usr/bin/env python3
"""Issue 8's PML column on this machine: the loss rows of the table computed by
pytorch-metric-learning (Musgrave et al. 2020), at the same shapes, timed like table.py.

    python3 bench/torch/pml.py [--threads 2] [--reps 10] [--only supCon1024] [--memory-gb 16] [--serve]

Each loss is called the way PML documents it: `loss(embeddings, labels)` with the default
distance (LpDistance of L2-normalised embeddings, or CosineSimilarity for NT-Xent / SupCon) and
reducer; batch-hard triplet is `TripletMarginLoss(margin=0.2)(e, labels, BatchHardMiner()(e, labels))`,
the mining timed. Forward + backward with respect to the embeddings, the loss read back. The
address space is capped at `--memory-gb` (RLIMIT_AS) so that PML's NT-Xent at 1,024 pairs, which
asks for a [2048, 2048 x 2046] matrix (34 GB), fails with an allocation error instead of waking the
kernel's OOM killer; such a row is recorded as {"oom": "<message>"}. Prints one JSON line;
bench/run.mjs --table stores it as `torchTable.pmlHere` and each row's `pml`. `--serve` (one row): the
runs after the warm-up are driven from stdin, as table.py's (bench/run.mjs takes them in turns with ours).
"""
import argparse
import resource

import torch

import reference
from reference import run_table, timed, view_labels

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--reps", type=int, default=10)
parser.add_argument("--only", default="")
parser.add_argument("--memory-gb", type=float, default=16)
parser.add_argument("--serve", action="store_true", help="one row, its runs driven from stdin (reference.timed)")
args = parser.parse_args()
reference.SERVE = args.serve

limit = int(args.memory_gb * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

import pytorch_metric_learning  # noqa: E402  (after the cap: the import maps memory too)
from pytorch_metric_learning import losses, miners  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)


def loss_row(compute, n, labels):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, 128, generator=g)

    def run():
        e = x.clone().requires_grad_(True)
        value = compute(e, labels)
        value.backward()
        value.item()
    try:
        return timed(run, args.reps)
    except RuntimeError as error:
        if "alloc" not in str(error) and "memory" not in str(error):
            raise
        return {"oom": str(error).splitlines()[0][:200]}


def triplet_batch_hard():
    miner = miners.BatchHardMiner()
    loss = losses.TripletMarginLoss(margin=0.2)
    return lambda e, labels: loss(e, labels, miner(e, labels))


ROWS = {
    "ntXent256": lambda: loss_row(losses.NTXentLoss(temperature=0.1), 512, view_labels(256)),
    "ntXent1024": lambda: loss_row(losses.NTXentLoss(temperature=0.1), 2048, view_labels(1024)),
    "supCon1024": lambda: loss_row(losses.SupConLoss(temperature=0.1), 1024, view_labels(512)),
    "tripletBatchHard1024": lambda: loss_row(triplet_batch_hard(), 1024, view_labels(512)),
    "contrastive1024": lambda: loss_row(losses.ContrastiveLoss(pos_margin=0, neg_margin=1), 1024, view_labels(512)),
}

run_table(ROWS, args.only, "pml", args.threads, args.reps, {"pml": pytorch_metric_learning.__version__},
          f"; address space capped at {args.memory_gb:g} GB")
