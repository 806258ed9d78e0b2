#!/usr/bin/env python3
"""Issue 8's table on the torch side: every workload of bench/training.mjs in hand-written PyTorch,
at the same shapes, timed the same way, on this machine's CPU.

    python3 bench/torch/table.py [--threads 2] [--reps 10] [--only ntXent256,cnnStep256] [--serve]

Losses are forward + backward with respect to the embeddings (the gradient left in place, as
`loss.backward()` does); steps are one Adam step (zero_grad, forward, backward, step, the loss read
back). Every figure is the median wall time (ms) of `--reps` runs after at least 3 warm-up runs and
1.5 s. Prints one JSON line; bench/run.mjs --table stores it beside our rows as `torchTable.torch`.
The recipe epochs are bench/torch/recipe_epoch.py. `--serve` (one row): after the warm-up, the
runs are driven from stdin, one per `run` line (bench/run.mjs --table pairs them with ours).
"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import reference
from reference import nt_xent, reference_cnn, run_table, timed as timed_reps, view_labels

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--reps", type=int, default=10)
parser.add_argument("--only", default="")
parser.add_argument("--serve", action="store_true", help="one step or loss row, its runs driven from stdin (reference.timed)")
args = parser.parse_args()
reference.SERVE = args.serve
torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(0)


def timed(run):
    return timed_reps(run, args.reps)


# ---------------------------------------------------------------- losses (z: [n, d], raw embeddings)

def sup_con(z, labels, tau):
    """Khosla et al. 2020, L_out: mean over anchors of the mean log-probability of its positives."""
    n = z.shape[0]
    u = F.normalize(z, dim=1)
    logits = u @ u.t() / tau
    self_mask = torch.eye(n, dtype=torch.bool)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    per_anchor = -(log_prob.masked_fill(~pos, 0).sum(1)) / pos.sum(1)
    return per_anchor.mean()


def triplet_batch_hard(z, labels, margin):
    """Hermans et al. 2017: hardest positive and negative per anchor (mining without gradient)."""
    u = F.normalize(z, dim=1)
    with torch.no_grad():
        d = torch.cdist(u, u)
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool)
        hp = d.masked_fill(~same | eye, float("-inf")).argmax(1)
        hn = d.masked_fill(same, float("inf")).argmin(1)
    d_ap = (u - u[hp]).norm(dim=1)
    d_an = (u - u[hn]).norm(dim=1)
    return F.relu(d_ap - d_an + margin).mean()


def contrastive_all_pairs(z, labels, pos_margin=0.0, neg_margin=1.0):
    """Hadsell et al. 2006 over all pairs, Euclidean distance of normalised embeddings; the
    positive and negative terms each averaged over their non-zero entries (PML's default reducer)."""
    u = F.normalize(z, dim=1)
    n = z.shape[0]
    d = (2 - 2 * (u @ u.t())).clamp_min(0).sqrt()
    eye = torch.eye(n, dtype=torch.bool)
    same = (labels[:, None] == labels[None, :]) & ~eye
    diff = labels[:, None] != labels[None, :]
    pos = F.relu(d[same] - pos_margin)
    neg = F.relu(neg_margin - d[diff])
    def avg_non_zero(v):
        count = (v > 0).sum()
        return v.sum() / count if count > 0 else v.sum() * 0
    return avg_non_zero(pos) + avg_non_zero(neg)


def clip(a, b, tau):
    """Radford et al. 2021: symmetric cross-entropy over the a-b similarity matrix."""
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).t() / tau
    target = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def hcl(z, tau, beta, tau_plus):
    """Robinson et al. 2021 (hard negatives, debiased): SimCLR pairs, importance weights exp(beta s / tau)."""
    n = z.shape[0]
    half = n // 2
    u = F.normalize(z, dim=1)
    sim = torch.exp(u @ u.t() / tau)
    other = (torch.arange(n) + half) % n
    pos = sim[torch.arange(n), other]
    neg_mask = torch.ones(n, n, dtype=torch.bool)
    neg_mask[torch.arange(n), torch.arange(n)] = False
    neg_mask[torch.arange(n), other] = False
    neg = sim.masked_select(neg_mask).view(n, n - 2)
    count = n - 2
    imp = (beta * neg.log()).exp()
    reweight_neg = (imp * neg).sum(1) / imp.mean(1)
    ng = (-tau_plus * count * pos + reweight_neg) / (1 - tau_plus)
    ng = ng.clamp(min=count * math.e ** (-1 / tau))
    return (-torch.log(pos / (pos + ng))).mean()


def loss_row(compute, n, with_ref=False):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, 128, generator=g)
    ref = torch.randn(n, 128, generator=g) if with_ref else None

    def run():
        e = x.clone().requires_grad_(True)
        value = compute(e, ref) if with_ref else compute(e)
        value.backward()
        value.item()
    return timed(run)


# ---------------------------------------------------------------- models (PyTorch default init)

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128))

    def forward(self, x):
        return self.net(x)


def step_row(model, x):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        optimizer.zero_grad()
        loss = nt_xent(model(x), 0.5)
        loss.backward()
        optimizer.step()
        loss.item()
    return timed(run)


def matmul_row():
    out = {}
    for m, k, n in [(1024, 1024, 1024), (2048, 128, 2048)]:
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        r = timed(lambda: a @ b)
        out[f"{m}x{k}x{n}"] = {"ms": r["ms"], "gflops": round(2 * m * k * n / (r["ms"] * 1e6), 1), "times": r["times"]}
    return out


ROWS = {
    "ntXent256": lambda: loss_row(lambda e: nt_xent(e, 0.1), 512),
    "ntXent1024": lambda: loss_row(lambda e: nt_xent(e, 0.1), 2048),
    "supCon1024": lambda: loss_row(lambda e: sup_con(e, view_labels(512), 0.1), 1024),
    "tripletBatchHard1024": lambda: loss_row(lambda e: triplet_batch_hard(e, view_labels(512), 0.2), 1024),
    "contrastive1024": lambda: loss_row(lambda e: contrastive_all_pairs(e, view_labels(512)), 1024),
    "clip1024": lambda: loss_row(lambda e, r: clip(e, r, 0.07), 1024, with_ref=True),
    "hcl1024": lambda: loss_row(lambda e: hcl(e, 0.5, 1.0, 0.1), 2048),
    "mlpStep512": lambda: step_row(MLP(), torch.rand(512, 784)),
    "cnnStep256": lambda: step_row(reference_cnn(), torch.rand(512, 1, 28, 28)),
    "matMul": matmul_row,
}

run_table(ROWS, args.only, "torch", args.threads, args.reps)
