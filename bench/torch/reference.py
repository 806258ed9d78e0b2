"""What both torch scripts of bench/torch/ train: RECIPE.md's CNN and SimCLR's NT-Xent (Chen et al. 2020).

Imported by table.py (the CNN step row, every NT-Xent row) and recipe_epoch.py (the recipe epochs),
so the step row and the epochs time one model and one loss.
"""
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
