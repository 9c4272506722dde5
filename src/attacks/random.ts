/**
 * Random draws that depend on the sample, not on the batch: each row's noise comes from its own
 * generator, seeded with a hash of (seed, sample id, stream). A sample attacked alone with the same
 * seed and id therefore starts from the same point as its row in any batch, and nothing here reads
 * or moves libtorch's global generator.
 */
import { seedFor } from "../core/seeds.js";
import { cat, Generator, rand, randn, tidy, type Device, type Tensor } from "../torch/index.js";

/** The engine seed of one sample's draws: a hash of the attack seed, the sample id and a stream number. */
export const sampleSeed: (seed: number, sampleId: number, stream?: number) => number = seedFor.sample;

type Draw = (shape: number[], options: { device: Device; generator: Generator }) => Tensor;

function perSample(draw: Draw, like: Tensor, sampleIds: readonly number[], seed: number, stream: number): Tensor {
  const rowShape = [1, ...like.shape.slice(1)];
  return tidy(() => {
    const rows = sampleIds.map((id) => {
      // Drawn on the CPU: a CPU generator seeded with s gives what manualSeed(s) gave, on every device.
      const generator = new Generator(sampleSeed(seed, id, stream));
      try {
        return draw(rowShape, { device: "cpu", generator });
      } finally {
        generator.dispose();
      }
    });
    return cat(rows, 0).to(like.device);
  });
}

/** U[0, 1) noise shaped like `like` (on its device), row i drawn from (seed, sampleIds[i], stream). */
export function uniformPerSample(like: Tensor, sampleIds: readonly number[], seed: number, stream = 0): Tensor {
  return perSample((shape, options) => rand(shape, options), like, sampleIds, seed, stream);
}

/** N(0, 1) noise shaped like `like` (on its device), row i drawn from (seed, sampleIds[i], stream). */
export function normalPerSample(like: Tensor, sampleIds: readonly number[], seed: number, stream = 0): Tensor {
  return perSample((shape, options) => randn(shape, options), like, sampleIds, seed, stream);
}
