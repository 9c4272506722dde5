/**
 * The data both IDFR training algorithms consume: the clean training images, their adversarial
 * examples made by the attack model A(·) (Algorithm 1, lines 1–4), and Gaussian-augmented copies
 * x_e = clip(x + N(0, σ²)) drawn anew for every round and epoch (Jeong & Shin 2020).
 */
import { existsSync } from "node:fs";
import { makeAttack, type Attack, type AttackName, type AttackSettings, type PresetName } from "../../attacks/index.js";
import { imageSize, type ImageSet } from "../../data/types.js";
import { cleanFloats, labelTensor } from "../../data/tensors.js";
import type { LogitsModel } from "../../models/classifier.js";
import { loadSafetensors, randn, saveSafetensors, tensor, tidy, type Generator, type Tensor } from "../../torch/index.js";
import { Progress } from "../../core/progress.js";
import { imagesFingerprint } from "../../core/fingerprint.js";
import { weightsFingerprint } from "../../models/io.js";
import { computeSharded } from "../../distributed/shard.js";

/** How the training AEs are made. */
export interface AdversarialRecipe {
  attack: AttackName;
  /** l_inf radii; sample i uses eps[i % eps.length]. */
  eps: number[];
  preset: PresetName;
  /** Settings overriding the preset's (steps, stepSize, randomStart, ...). */
  options?: AttackSettings;
  /** Architecture of the attack model when it is not the target (recorded in the cache key). */
  attackModel?: string;
}

/**
 * Attacks images `rows` of `set` in batches and writes each AE into `out` (float NCHW, one slot per
 * image of `set`) at its image's position. Each image's id is its position, so random starts do
 * not depend on how the rows are batched, nor on which rank of a multi-process run attacks them
 * (every rank of the default group must call it with the same rows).
 */
export function attackImages(attack: Attack<object>, set: ImageSet, rows: readonly number[], out: Float32Array, batchSize = 128,
  onBatch?: (count: number) => void): void {
  const size = imageSize(set.shape);
  // With WORLD_SIZE > 1 each rank attacks its share of the rows and every rank gets them all.
  computeSharded(rows, size, out, (mine) => {
    // Progress counts all ranks' rows, estimated from this rank's (the shares are equal to one row).
    let reported = 0;
    for (let start = 0; start < mine.length; start += batchSize) {
      const idx = mine.slice(start, start + batchSize);
      const adv = tidy(() => {
        const x = tensor(cleanFloats(set, idx), [idx.length, ...set.shape.slice(1)]);
        return attack.run(x, labelTensor(set, idx), { sampleIds: idx }).adversarial.toTypedArray() as Float32Array;
      });
      idx.forEach((i, r) => out.set(adv.subarray(r * size, (r + 1) * size), i * size));
      const total = Math.round(((start + idx.length) * rows.length) / mine.length);
      onBatch?.(total - reported);
      reported = total;
    }
  });
}

/**
 * Adversarial examples of every image of `set` (float32 NCHW, same order), made on `model`.
 * Cached in `cachePath` when given: a cache made with the same recipe and image count is reused.
 */
export function craftTrainingAdversarials(model: LogitsModel, set: ImageSet, recipe: AdversarialRecipe,
  options: { batchSize?: number; cachePath?: string; progress?: "bar" | "lines" | "none" } = {}): Float32Array {
  // Keyed on the images and the attacked weights too: AEs of another dataset or target never answer.
  const key = JSON.stringify({ ...recipe, n: set.shape[0], shape: set.shape, data: imagesFingerprint(set), model: weightsFingerprint(model) });
  if (options.cachePath && existsSync(options.cachePath)) {
    const { tensors, metadata } = loadSafetensors(options.cachePath);
    const t = tensors.get("adversarial");
    if (metadata.recipe === key && t) {
      const data = t.toTypedArray() as Float32Array;
      t.dispose();
      return data;
    }
    for (const v of tensors.values()) v.dispose();
  }
  const n = set.shape[0];
  const size = imageSize(set.shape);
  const out = new Float32Array(n * size);
  const batchSize = options.batchSize ?? 128;
  const attacks = recipe.eps.map((eps) => makeAttack(recipe.attack, model, { eps, preset: recipe.preset, batchSize, ...recipe.options } as never));
  const progress = new Progress({ label: `craft ${recipe.attack} AEs`, total: n, mode: options.progress });
  let done = 0;
  try {
    recipe.eps.forEach((_, k) => {
      const rows: number[] = [];
      for (let i = k; i < n; i += recipe.eps.length) rows.push(i);
      attackImages(attacks[k], set, rows, out, batchSize, (count) => progress.update((done += count)));
    });
  } finally {
    progress.stop();
  }
  if (options.cachePath) {
    const t = tensor(out, set.shape);
    saveSafetensors(options.cachePath, { adversarial: t }, { recipe: key });
    t.dispose();
  }
  return out;
}

/**
 * Where the adversarial rows of an {@link AugmentedSet} come from: AEs made beforehand (one per
 * image, float NCHW), "craft" (the rows hold the clean image; the trainer attacks them at every
 * step: the adaptive adversary), or "none" (Gaussian copies only: a denoiser for randomized smoothing).
 */
export type AdversarialRows = Float32Array | "craft" | "none";

/**
 * Rows of the ID training set: row k < n is the AE of image k (unless the set has no adversarial
 * rows); the rest are Gaussian-augmented copies of image k mod n, one round of n after another.
 * `batch` builds the input tensor of a list of rows.
 */
export class AugmentedSet {
  readonly size: number;
  readonly n: number;
  readonly sample: number;
  /** Rows before the first Gaussian copy (n, or 0 without adversarial rows). */
  readonly adversarialCount: number;
  readonly adversarial: Float32Array | null;
  /** Whether x + noise is clipped to [0, 1] (the smoothing distribution is not). */
  readonly clip: boolean;
  constructor(readonly clean: ImageSet, adversarial: AdversarialRows, readonly gaussianRounds: number, readonly sigma: number, options: { clip?: boolean } = {}) {
    this.n = clean.shape[0];
    if (this.n === 0) throw new RangeError("the training set is empty");
    this.sample = imageSize(clean.shape);
    if (adversarial instanceof Float32Array) {
      if (adversarial.length !== this.n * this.sample) throw new RangeError(`adversarial examples: expected ${this.n * this.sample} values, got ${adversarial.length}`);
      this.adversarial = adversarial;
    } else if (adversarial === "craft" || adversarial === "none") {
      this.adversarial = null;
    } else {
      throw new TypeError(`adversarial rows: expected AEs (a Float32Array), "craft" or "none", got ${JSON.stringify(adversarial)}`);
    }
    if (!Number.isInteger(gaussianRounds) || gaussianRounds < 0) throw new TypeError(`gaussianRounds: expected a non-negative integer, got ${gaussianRounds}`);
    if (!(sigma >= 0)) throw new RangeError(`sigma: expected a non-negative number, got ${sigma}`);
    this.adversarialCount = adversarial === "none" ? 0 : this.n;
    if (this.adversarialCount === 0 && gaussianRounds === 0) throw new RangeError("gaussianRounds: expected at least 1 round when the set has no adversarial rows");
    this.clip = options.clip ?? true;
    this.size = this.adversarialCount + this.n * gaussianRounds;
  }

  /** Source image of a row. */
  source(row: number): number {
    return row % this.n;
  }

  /** Whether a row is an adversarial example (else a Gaussian-augmented clean image). */
  isAdversarial(row: number): boolean {
    return row < this.adversarialCount;
  }

  /**
   * Inputs [B, C, H, W] for `rows` (noise drawn on the CPU from `generator`, default the engine's
   * global generator) and their labels; with `withClean`, also the clean images they came from
   * (the feature-l1 and stability losses need them). Adversarial rows of a "craft" set hold the
   * clean image.
   */
  batch(rows: ArrayLike<number>, withClean = false, generator?: Generator): { x: Tensor; y: Tensor; clean: Tensor | null } {
    return tidy(() => {
      const b = rows.length;
      const shape = [b, ...this.clean.shape.slice(1)];
      const sources = Array.from(rows, (r) => this.source(r));
      const base = cleanFloats(this.clean, sources);
      const clean = withClean ? tensor(base, shape) : null;
      const noisy = new Float32Array(b);
      for (let k = 0; k < b; k++) {
        if (!this.isAdversarial(rows[k])) noisy[k] = this.sigma;
        else if (this.adversarial) base.set(this.adversarial.subarray(sources[k] * this.sample, (sources[k] + 1) * this.sample), k * this.sample);
      }
      const sigma = tensor(noisy, [b, 1, 1, 1]);
      const x = tensor(base, shape).add(randn(shape, { generator }).mul(sigma));
      return { x: this.clip ? x.clamp(0, 1) : x, y: labelTensor(this.clean, sources), clean };
    });
  }
}
