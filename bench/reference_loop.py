"""The stdin protocol of the PyTorch benchmark references (see bench/reference.ts).

Prints "ready <torch version> <threads>", then for each workload name read on stdin runs it once
and prints the milliseconds it took.
"""
import sys
import time

import torch


def serve(workloads):
    print("ready", torch.__version__, torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        start = time.perf_counter()
        workloads[name]()
        print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
