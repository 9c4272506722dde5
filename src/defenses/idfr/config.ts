/**
 * Every IDFR hyperparameter, with the paper's value as default (§4.1: ID 100 epochs, FR 80 epochs,
 * Adam, lr 0.01) and, where the paper is silent, our documented choice. `CPU_PRESET` shrinks the
 * work so a defense trains in minutes on a laptop-class CPU.
 */
import type { AttackName, PresetName } from "../../attacks/index.js";
import type { DenoiserVariant } from "./denoiser.js";
import type { FrPairing } from "./pairing.js";

export interface IdConfig {
  /** Training epochs (paper: 100). */
  epochs: number;
  /** Adam learning rate (paper: 0.01). */
  lr: number;
  batchSize: number;
  /** Width multiplier of the U-Net (1 = Table 6). */
  width: number;
  /** "paper" (Table 6) or "reference-code" (the authors' code: BN+ReLU last layer, layer-1 skip). */
  variant: DenoiserVariant;
  /** "ce": CE through the frozen target (Eq. 3, default); "feature-l1": L1 between embeddings of ID(x') and x (the authors' code). */
  idLoss: "ce" | "feature-l1";
  /** Rounds of Gaussian-augmented clean copies per epoch (paper: "multi-round"; our default 1). */
  gaussianRounds: number;
  /** Std of the Gaussian augmentation on the [0, 1] scale (paper: unspecified; our default 0.1). */
  sigma: number;
  /** The attack model A(·) makes training AEs with this attack... */
  attack: AttackName;
  /** ...at these radii, cycled over the training images (our default: the paper's three). */
  trainEps: number[];
  preset: PresetName;
  seed: number;
}

export interface FrConfig {
  /** Training epochs (paper: 80). */
  epochs: number;
  /** Adam learning rate (paper: 0.01). */
  lr: number;
  batchSize: number;
  /** Pairing of X and X̃ (Algorithm 2): "paper" (default) or "pooled" (the authors' code). */
  pairing: FrPairing;
  /** Gaussian-augmented clean copies whose embeddings join the AEs' (default 1). */
  gaussianRounds: number;
  seed: number;
}

export const PAPER_ID_CONFIG: IdConfig = {
  epochs: 100, lr: 0.01, batchSize: 64, width: 1, variant: "paper", idLoss: "ce", gaussianRounds: 1, sigma: 0.1,
  attack: "bim", trainEps: [4 / 255, 8 / 255, 16 / 255], preset: "paper", seed: 0,
};

export const PAPER_FR_CONFIG: FrConfig = { epochs: 80, lr: 0.01, batchSize: 128, pairing: "paper", gaussianRounds: 1, seed: 0 };

/** Sizes for a CPU: a half-width U-Net, a few epochs, a lower learning rate that converges in them. */
export const CPU_PRESET: { id: Partial<IdConfig>; fr: Partial<FrConfig> } = {
  id: { epochs: 4, width: 0.5, lr: 0.002, batchSize: 64 },
  fr: { epochs: 15, lr: 0.002 },
};

export function checkIdConfig(c: IdConfig): void {
  const int = (k: keyof IdConfig, min: number) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < min) throw new TypeError(`id.${k}: expected an integer >= ${min}, got ${v}`);
  };
  int("epochs", 1);
  int("batchSize", 1);
  int("gaussianRounds", 0);
  if (!(c.lr > 0)) throw new RangeError(`id.lr: expected a positive number, got ${c.lr}`);
  if (!(c.width > 0)) throw new RangeError(`id.width: expected a positive number, got ${c.width}`);
  if (!(c.sigma >= 0)) throw new RangeError(`id.sigma: expected a non-negative number, got ${c.sigma}`);
  if (c.variant !== "paper" && c.variant !== "reference-code") throw new TypeError(`id.variant: expected "paper" or "reference-code", got ${JSON.stringify(c.variant)}`);
  if (c.idLoss !== "ce" && c.idLoss !== "feature-l1") throw new TypeError(`id.idLoss: expected "ce" or "feature-l1", got ${JSON.stringify(c.idLoss)}`);
  if (!Array.isArray(c.trainEps) || c.trainEps.length === 0 || c.trainEps.some((e) => !(e >= 0 && e <= 1))) {
    throw new RangeError(`id.trainEps: expected a non-empty list of radii in [0, 1], got ${JSON.stringify(c.trainEps)}`);
  }
}

export function checkFrConfig(c: FrConfig): void {
  for (const k of ["epochs", "batchSize"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new TypeError(`fr.${k}: expected a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.gaussianRounds) || c.gaussianRounds < 0) throw new TypeError(`fr.gaussianRounds: expected a non-negative integer, got ${c.gaussianRounds}`);
  if (!(c.lr > 0)) throw new RangeError(`fr.lr: expected a positive number, got ${c.lr}`);
  if (c.pairing !== "paper" && c.pairing !== "pooled") throw new TypeError(`fr.pairing: expected "paper" or "pooled", got ${JSON.stringify(c.pairing)}`);
}
