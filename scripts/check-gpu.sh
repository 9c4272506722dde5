#!/usr/bin/env bash
# npm run check:gpu — what to run on a GPU machine (with the addon built against a CUDA libtorch,
# LIBTORCH=/path/to/libtorch npm run build:native): the engine on the GPU (smoke + engine bench),
# the suite's CUDA tests, a two-rank NCCL all-reduce when two GPUs exist, and a short ID training on
# CUDA, single-process and (with two GPUs) as two ranks. Without a CUDA device it says so and exits 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
idfr() { node --import tsx src/cli/main.ts "$@"; }
gpus=$(node --import tsx -e 'import("./src/torch/index.js").then((t) => console.log(t.cudaDeviceCount()))')
if [ "$gpus" -eq 0 ]; then
  echo "check:gpu: no CUDA device visible to the linked libtorch (a CPU build, or no GPU); nothing to check"
  exit 0
fi
backends=$(node --import tsx -e 'import("./src/distributed/index.js").then((d) => console.log(d.availableBackends().join(",")))')
echo "check:gpu: $gpus CUDA device(s); c10d backends: $backends"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== engine on cuda"
idfr smoke --device cuda
npm run --silent bench:engine

echo "== the suite's CUDA tests"
node --import tsx --expose-gc --test --test-name-pattern='[Cc][Uu][Dd][Aa]' test/torch/runtime.test.ts test/torch/creation.test.ts test/cli/engine.test.ts

if [ "$gpus" -ge 2 ]; then
  echo "== two-rank NCCL all-reduce"
  if [[ ",$backends," == *",nccl,"* ]]; then
    idfr launch --nproc 2 -- node --import tsx test/distributed/fixtures/rank-worker.ts nccl
  else
    echo "the addon has no NCCL (libtorch_cuda without ProcessGroupNCCL, or nccl.h not found at build time): skipped"
  fi
else
  echo "== two-rank NCCL all-reduce: skipped (one GPU)"
fi

echo "== short ID training on cuda"
idfr train-model --arch small-cnn --limit 2000 --epochs 1 --out "$work/target" --device cuda --progress lines
/usr/bin/time -f "single process: %e s" node --import tsx src/cli/main.ts train-id --target "$work/target" --limit 500 --cpu --id-epochs 2 --out "$work/id1" --device cuda --progress lines
if [ "$gpus" -ge 2 ] && [[ ",$backends," == *",nccl,"* ]]; then
  /usr/bin/time -f "two ranks: %e s" node --import tsx src/cli/main.ts launch --nproc 2 -- idfr train-id --target "$work/target" --limit 500 --cpu --id-epochs 2 --out "$work/id2" --device cuda --progress lines
fi
echo "check:gpu: done"
