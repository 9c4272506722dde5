"""PyTorch reference for bench/serve.ts: the defended forward of IDFR (ID, then the small CNN's
encoder, the FR, the head) in eager PyTorch, on the weights of a served defense folder.

Usage: serve_ref.py DEFENSE_DIR MODEL_DIR THREADS CHECK_JSON. Writes the logits of a fixed batch to
CHECK_JSON (so the TypeScript side can confirm both run the same weights), then serves workloads
"b1", "b16", "b128": a no-grad eval forward at that batch size, answered with
"<wall ms> <cpu ms>" (the CPU time of this process: on a busy machine, the time it computed).
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import time
from reference_layers import ConvBnRelu

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[v["dtype"]]) if b > a else torch.zeros(0, dtype=DTYPES[v["dtype"]])
        out[k] = t.reshape(v["shape"]).clone()
    return out


def out_ch(sd, key):
    return sd[key].shape[0]


class Denoiser(nn.Module):
    """Table 6's U-Net as idfr builds it (variant "paper"): widths read from the weights."""

    def __init__(self, sd):
        super().__init__()
        c = sd["l1.conv.weight"].shape[1]
        w = {i: out_ch(sd, f"l{i}.conv.weight") for i in range(1, 9)}
        self.l1, self.l2 = ConvBnRelu(c, w[1]), ConvBnRelu(w[1], w[2])
        self.l3, self.l4 = ConvBnRelu(w[2], w[3], 2), ConvBnRelu(w[3], w[4])
        self.l5 = ConvBnRelu(w[4], w[5], 2)
        self.l6, self.l7 = ConvBnRelu(w[3] + w[5], w[6]), ConvBnRelu(w[6], w[7])
        self.l8 = ConvBnRelu(w[2] + w[7], w[8])
        self.l9 = nn.Conv2d(w[8], c, 3, padding=1)

    def forward(self, x):
        up = lambda a, b: F.interpolate(a, size=b.shape[2:], mode="bilinear", align_corners=False)
        h2 = self.l2(self.l1(x))
        h3 = self.l3(h2)
        h5 = self.l5(self.l4(h3))
        h7 = self.l7(self.l6(torch.cat([h3, up(h5, h3)], 1)))
        r = self.l9(self.l8(torch.cat([h2, up(h7, h2)], 1)))
        return (x + r).clamp(0, 1)


class SmallCnn(nn.Module):
    def __init__(self, sd, mean, std):
        super().__init__()
        c, c1, c2 = sd["encoder.0.conv.weight"].shape[1], out_ch(sd, "encoder.0.conv.weight"), out_ch(sd, "encoder.3.conv.weight")
        self.encoder = nn.Sequential(
            ConvBnRelu(c, c1), ConvBnRelu(c1, c1), nn.MaxPool2d(2),
            ConvBnRelu(c1, c2), ConvBnRelu(c2, c2), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(sd["encoder.7.weight"].shape[1], sd["encoder.7.weight"].shape[0]), nn.ReLU())
        self.head = nn.Linear(sd["head.weight"].shape[1], sd["head.weight"].shape[0])
        self.register_buffer("mean", torch.tensor(mean).reshape(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).reshape(1, -1, 1, 1), persistent=False)

    def embed(self, x):
        return self.encoder((x - self.mean) / self.std)


def restorer(sd):
    sizes = [sd[f"net.{i}.weight"].shape for i in range(0, 12, 2)]
    layers = []
    for out_f, in_f in sizes:
        layers += [nn.Linear(in_f, out_f), nn.ReLU()]
    return nn.Sequential(*layers)


defense_dir, model_dir, threads, check_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
info = json.load(open(f"{model_dir}/model.json"))
if info["arch"] != "small-cnn":
    sys.exit(f"serve_ref.py: only the small CNN is transcribed here, got {info['arch']}")
msd = read_safetensors(f"{model_dir}/model.safetensors")
target = SmallCnn(msd, info.get("mean", [0.0]), info.get("std", [1.0]))
target.load_state_dict(msd)
dsd = read_safetensors(f"{defense_dir}/id.safetensors")
den = Denoiser(dsd)
den.load_state_dict(dsd)
rsd = read_safetensors(f"{defense_dir}/fr.safetensors")
fr = restorer(rsd)
fr.load_state_dict({k.removeprefix("net."): v for k, v in rsd.items()})
for m in (target, den, fr):
    m.eval()


def defended(x):
    with torch.no_grad():
        return target.head(fr(target.embed(den(x))))


shape = [int(d) for d in info["inputShape"]]
size = shape[0] * shape[1] * shape[2]
check = torch.tensor([((i * 7919) % 1000) / 999 for i in range(4 * size)], dtype=torch.float32).reshape(4, *shape)
json.dump(defended(check).flatten().tolist(), open(check_path, "w"))
inputs = {n: torch.rand(n, *shape, generator=torch.Generator().manual_seed(0)) for n in (1, 16, 128)}
print("ready", torch.__version__, torch.get_num_threads(), flush=True)
for line in sys.stdin:
    n = int(line.strip().removeprefix("b"))
    wall, cpu = time.perf_counter(), time.process_time()
    defended(inputs[n])
    print(f"{(time.perf_counter() - wall) * 1000:.3f} {(time.process_time() - cpu) * 1000:.3f}", flush=True)
