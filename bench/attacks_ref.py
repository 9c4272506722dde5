"""PyTorch reference for bench/attacks.ts: BIM-20 and APGD-CE-100 on the same VGG16-style network.

Reads workload names on stdin, one per line, runs each once and prints the milliseconds, so the
TypeScript side can interleave its runs with these in one session. The loops do the same work as
the TypeScript attacks: per-sample seeded random starts, the attack itself, then the final
predictions and per-sample L_inf / L2 norms.

usage: attacks_ref.py THREADS WIDTH BATCH
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_loop import serve

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
WIDTH = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 128
torch.set_num_threads(THREADS)
torch.manual_seed(0)

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16(width):
    layers, cin = [], 3
    for c in CFG:
        if c == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            w = round(c * width)
            layers += [nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            cin = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin, 10))


net = vgg16(WIDTH).eval()
for p in net.parameters():
    p.requires_grad_(False)
x = torch.rand(BATCH, 3, 32, 32)
y = torch.randint(0, 10, (BATCH,))
EPS = 8 / 255


def loss_grad(adv):
    z = adv.detach().requires_grad_(True)
    logits = net(z)
    loss = F.cross_entropy(logits, y, reduction="none")
    (g,) = torch.autograd.grad(loss.sum(), [z])
    return loss.detach(), g, logits.detach()


def finish(adv):
    with torch.no_grad():
        net(adv).argmax(1).tolist()
        d = (adv - x).flatten(1)
        d.norm(float("inf"), dim=1).tolist()
        d.norm(2, dim=1).tolist()


def bim20():
    lo, hi = (x - EPS).clamp(min=0), (x + EPS).clamp(max=1)
    adv = x.clone()
    for _ in range(20):
        _, g, _ = loss_grad(adv)
        with torch.no_grad():
            adv = torch.max(torch.min(adv + (2 / 255) * g.sign(), hi), lo)
    finish(adv)


def checkpoints(n):
    p = [0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return {math.ceil(q * n - 1e-9) for q in p[1:] if 0 < math.ceil(q * n - 1e-9) <= n}


def apgd100(steps=100, rho=0.75, alpha=0.75):
    lo, hi = (x - EPS).clamp(min=0), (x + EPS).clamp(max=1)
    proj = lambda a: torch.max(torch.min(a, hi), lo)
    rows = []
    for i in range(BATCH):  # per-sample seeded start, as the TypeScript attack draws it
        torch.manual_seed(i)
        rows.append(torch.rand(1, 3, 32, 32))
    t = torch.cat(rows).mul(2).sub(1)
    start = proj(x + EPS * t / t.flatten(1).abs().amax(1).clamp(min=1e-12).view(-1, 1, 1, 1))
    loss, grad, logits = loss_grad(start)
    cur, prev = start, start.clone()
    best, best_grad, best_loss = start.clone(), grad.clone(), loss.clone()
    broken = logits.argmax(1) != y
    found = start.clone()
    step = torch.full((BATCH, 1, 1, 1), 2 * EPS)
    increases = torch.zeros(BATCH)
    best_at_check, halved_at_check = loss.clone(), torch.zeros(BATCH, dtype=torch.bool)
    marks, last = checkpoints(steps), 0
    row = lambda m: m.view(-1, 1, 1, 1)
    for k in range(steps):
        a = 1.0 if k == 0 else alpha
        with torch.no_grad():
            z = proj(cur + grad.sign() * step)
            nxt = proj(cur + a * (z - cur) + (1 - a) * (cur - prev))
        prev = cur.clone()
        cur = nxt
        new_loss, grad, logits = loss_grad(cur)
        with torch.no_grad():
            hit = logits.argmax(1) != y
            found = torch.where(row(hit), cur, found)
            broken = broken | hit
            increases = increases + (new_loss > loss).float()
            loss = new_loss
            improved = loss > best_loss
            best = torch.where(row(improved), cur, best)
            best_grad = torch.where(row(improved), grad, best_grad)
            best_loss = torch.where(improved, loss, best_loss)
            if k + 1 in marks:
                since, last = k + 1 - last, k + 1
                halve = (increases < rho * since) | (~halved_at_check & (best_at_check >= best_loss))
                step = torch.where(row(halve), step * 0.5, step)
                cur = torch.where(row(halve), best, cur)
                grad = torch.where(row(halve), best_grad, grad)
                halved_at_check, best_at_check = halve, best_loss.clone()
                increases = increases * 0
    finish(torch.where(row(broken), found, best))


WORKLOADS = {"bim20": bim20, "apgd100": apgd100}

serve(WORKLOADS)
