#!/usr/bin/env bash
# Certified accuracy against L2 radius on Fashion-MNIST for sigma in {0.25, 0.12, 0.5}: randomized
# smoothing of (a) the undefended target, (b) the same architecture trained with Gaussian noise at
# sigma (the upper reference), (c) denoised smoothing with IDFR trained for it (ID on Gaussian copies
# at sigma through the frozen target, then FR), and, with WITH_ID=1, (d) the ID alone. Each step is
# timed with /usr/bin/time -v (wall and CPU time) into OUT/times/.
# Usage: scripts/certify-fmnist.sh TARGET_DIR OUT_DIR [N] [N0] [IMAGES] [THREADS] [DENOISER_IMAGES]
set -euo pipefail
TARGET=${1:?target model folder}
OUT=${2:?output folder}
N=${3:-1000}
N0=${4:-100}
IMAGES=${5:-100}
THREADS=${6:-2}
DENOISER_IMAGES=${7:-3000}
IDFR="node bin/idfr.js"
mkdir -p "$OUT/times"
timed() { local name=$1; shift; /usr/bin/time -v -o "$OUT/times/$name.txt" "$@"; }
CERT="--n $N --n0 $N0 --images $IMAGES --alpha 0.001 --threads $THREADS --progress lines"
for SIGMA in 0.25 0.12 0.5; do
  if [ ! -f "$OUT/gaussian-$SIGMA/model.json" ]; then
    timed "train-gaussian-$SIGMA" $IDFR train-model --arch small-cnn --width 0.5 --epochs 4 --limit 6000 --mode gaussian --noise-sigma "$SIGMA" \
      --seed 0 --out "$OUT/gaussian-$SIGMA" --threads "$THREADS" --progress lines
  fi
  if [ ! -f "$OUT/denoiser-$SIGMA/fr.safetensors" ]; then
    timed "train-denoiser-$SIGMA" $IDFR defend --target "$TARGET" --data fashion-mnist --limit "$DENOISER_IMAGES" --out "$OUT/denoiser-$SIGMA" --cpu \
      --id-rows gaussian --sigma "$SIGMA" --rounds 1 --fr-sigma "$SIGMA" --resume --threads "$THREADS" --progress lines
  fi
  timed "certify-none-$SIGMA" $IDFR certify --model "$TARGET" --sigma "$SIGMA" $CERT --label "Undefended target" --out "$OUT/certify/none-$SIGMA.json"
  timed "certify-gaussian-$SIGMA" $IDFR certify --model "$OUT/gaussian-$SIGMA" --sigma "$SIGMA" $CERT --label "Target trained with noise" --out "$OUT/certify/gaussian-$SIGMA.json"
  timed "certify-idfr-$SIGMA" $IDFR certify --defense "$OUT/denoiser-$SIGMA" --sigma "$SIGMA" $CERT --label "ID+FR denoised" --out "$OUT/certify/idfr-$SIGMA.json"
  if [ "${WITH_ID:-0}" = 1 ]; then
    timed "certify-id-$SIGMA" $IDFR certify --defense "$OUT/denoiser-$SIGMA" --no-restorer --sigma "$SIGMA" $CERT --label "ID denoised" --out "$OUT/certify/id-$SIGMA.json"
  fi
done
$IDFR certify-report "$OUT"/certify/*.json --out "$OUT"
