#!/usr/bin/env bash
# One-step set-up on Debian/Ubuntu: system packages (libtorch, the Fashion-MNIST data set, PyTorch
# for the benchmark reference), npm dependencies, and the native addon. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
if [ -z "${LIBTORCH:-}" ] && [ ! -f /usr/include/ATen/ATen.h ]; then need+=(libtorch-dev); fi
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
command -v g++ >/dev/null 2>&1 || need+=(g++ make python3)
# Gloo's headers, for torch's c10d process groups in the addon (Debian's libtorch links libgloo0).
if [ -z "${LIBTORCH:-}" ] && [ ! -f /usr/include/gloo/algorithm.h ]; then need+=(libgloo-dev); fi
# Headless Chromium renders the HTML report in the tests.
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "idfr setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm runs the package's install script, which builds the addon when it is missing or stale, and
# then its prepare script, which compiles src/ to dist/ (a type error stops here).
npm install --no-audit --no-fund --loglevel=error
node --input-type=module -e "const t = await import('./dist/torch/index.js'); console.log('idfr setup: done (libtorch ' + t.libtorchVersion() + ', ' + t.getNumThreads() + ' threads, CUDA ' + (t.cudaAvailable() ? 'yes' : 'no') + ')')"
