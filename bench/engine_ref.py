"""PyTorch reference for bench/engine.ts: the same three workloads, timed on request.

Reads workload names on stdin, one per line, runs each once and prints the milliseconds, so the
TypeScript side can interleave its runs with these in one session.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from reference_loop import serve
from reference_layers import ConvBnRelu

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


class Denoiser(nn.Module):
    def __init__(self, c=3):
        super().__init__()
        self.l1, self.l2 = ConvBnRelu(c, 32), ConvBnRelu(32, 32)
        self.l3, self.l4 = ConvBnRelu(32, 64, 2), ConvBnRelu(64, 64)
        self.l5 = ConvBnRelu(64, 128, 2)
        self.l6, self.l7 = ConvBnRelu(192, 192), ConvBnRelu(192, 64)
        self.l8 = ConvBnRelu(96, 96)
        self.l9 = nn.Conv2d(96, c, 3, padding=1)

    def forward(self, x):
        up = lambda a, b: F.interpolate(a, size=b.shape[2:], mode="bilinear", align_corners=False)
        h2 = self.l2(self.l1(x))
        h3 = self.l3(h2)
        h5 = self.l5(self.l4(h3))
        h7 = self.l7(self.l6(torch.cat([h3, up(h5, h3)], 1)))
        r = self.l9(self.l8(torch.cat([h2, up(h7, h2)], 1)))
        return (x + r).clamp(0, 1)


cnn = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10),
).eval()
for p in cnn.parameters():
    p.requires_grad_(False)
den = Denoiser()
adam = torch.optim.Adam(den.parameters(), lr=0.01)
x_train, y_train = torch.rand(32, 3, 32, 32), torch.randint(0, 10, (32,))
x, y = torch.rand(128, 3, 32, 32), torch.randint(0, 10, (128,))
EPS, STEP = 8 / 255, 0.03


def id_train_step():
    den.train()
    adam.zero_grad()
    F.cross_entropy(cnn(den(x_train)), y_train).backward()
    adam.step()


def defended_forward():
    den.eval()
    with torch.no_grad():
        cnn(den(x)).argmax(1)


def bim20():
    adv = x
    for _ in range(20):
        z = adv.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(cnn(z), y), [z])
        with torch.no_grad():
            adv = torch.min(torch.max(adv + STEP * g.sign(), x - EPS), x + EPS).clamp(0, 1)


WORKLOADS = {"id_train_step": id_train_step, "defended_forward": defended_forward, "bim20": bim20}

serve(WORKLOADS)
