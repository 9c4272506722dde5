/**
 * Random draws that depend on the sample, not on the batch: each row's noise comes from the
 * engine's generator seeded with a hash of (seed, sample id, stream). A sample attacked alone with
 * the same seed and id therefore starts from the same point as its row in any batch.
 */
import { seedFor } from "../core/seeds.js";
import { cat, manualSeed, rand, randn, tidy, type Tensor } from "../torch/index.js";

/** The engine seed of one sample's draws: a hash of the attack seed, the sample id and a stream number. */
export const sampleSeed: (seed: number, sampleId: number, stream?: number) => number = seedFor.sample;

function perSample(draw: (shape: number[], device: string) => Tensor, like: Tensor, sampleIds: readonly number[], seed: number, stream: number): Tensor {
  const rowShape = [1, ...like.shape.slice(1)];
  return tidy(() => {
    const rows = sampleIds.map((id) => {
      // The global generator, reseeded per sample, rather than a generator per sample: a stochastic
      // defense under EOT (TVM) draws on from the state this leaves, so the attacks' numbers stay
      // the same only while that state does.
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
