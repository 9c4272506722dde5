/**
 * Random draws that depend on the sample, not on the batch: each row's noise comes from the
 * engine's generator seeded with a hash of (seed, sample id, stream). A sample attacked alone with
 * the same seed and id therefore starts from the same point as its row in any batch.
 */
import { fmix32 as mix } from "../data/random.js";
import { cat, manualSeed, rand, randn, tidy, type Tensor } from "../torch/index.js";

/** The engine seed of one sample's draws: a hash of the attack seed, the sample id and a stream number. */
export function sampleSeed(seed: number, sampleId: number, stream = 0): number {
  const a = mix((seed >>> 0) ^ 0x9e3779b9);
  const b = mix(a ^ mix((sampleId >>> 0) + 0x7f4a7c15) ^ Math.floor(sampleId / 2 ** 32));
  return mix(b ^ mix(stream + 0x165667b1));
}

function perSample(draw: (shape: number[], device: string) => Tensor, like: Tensor, sampleIds: readonly number[], seed: number, stream: number): Tensor {
  const rowShape = [1, ...like.shape.slice(1)];
  return tidy(() => {
    const rows = sampleIds.map((id) => {
      manualSeed(sampleSeed(seed, id, stream));
      return draw(rowShape, like.device);
    });
    return cat(rows, 0);
  });
}

/** U[0, 1) noise shaped like `like`, row i drawn from (seed, sampleIds[i], stream). Reseeds the engine's generator. */
export function uniformPerSample(like: Tensor, sampleIds: readonly number[], seed: number, stream = 0): Tensor {
  return perSample((shape, device) => rand(shape, { device }), like, sampleIds, seed, stream);
}

/** N(0, 1) noise shaped like `like`, row i drawn from (seed, sampleIds[i], stream). Reseeds the engine's generator. */
export function normalPerSample(like: Tensor, sampleIds: readonly number[], seed: number, stream = 0): Tensor {
  return perSample((shape, device) => randn(shape, { device }), like, sampleIds, seed, stream);
}
