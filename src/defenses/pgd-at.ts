/**
 * PGD adversarial training (Madry, Makelov, Schmidt, Tsipras & Vladu, ICLR 2018) as a defense row:
 * a copy of the target architecture trained on PGD examples (random start in the ε-ball, K signed
 * steps of ε/4, the exact projection), which replaces the target, as Fast AT's robust copy does.
 * The copy trains with the target's optimizer settings (SGD, cosine schedule) for `epochs`. It is
 * its own `whiteboxModel`: white-box and adaptive attacks differentiate the robust model.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { radiusSchema } from "../core/validate.js";
import { augmentationFor } from "../data/augment.js";
import { loadClassifier } from "../models/io.js";
import { createClassifier } from "../models/registry.js";
import type { SplitClassifier } from "../models/split.js";
import { seedFor } from "../core/seeds.js";
import { F, Generator, nn, noGrad, randLike, tidy, valueAndGrad, type Tensor } from "../torch/index.js";
import { trainClassifier, type AdversarialInputs } from "../train/classifier.js";
import { RobustModelDefense } from "./robust-model.js";
import type { Classifier } from "../models/classifier.js";
import type { DefenseEntry, DefenseEnv } from "./registry.js";

/** The `pgdAt` section of an experiment config. */
export const PgdAtSettingsSchema = z.strictObject({
  epochs: z.number().int().positive().default(10).describe("PGD-AT training epochs"),
  eps: radiusSchema().default(8 / 255).describe("PGD-AT training radius"),
  steps: z.number().int().positive().default(7).describe("PGD steps per training batch (Madry et al.'s CIFAR-10 setting: 7)"),
  lr: z.number().positive().default(0.05).describe("peak SGD learning rate (cosine schedule)"),
  batchSize: z.number().int().positive().default(128).describe("batch size"),
  trainImages: z.number().int().positive().optional().describe("training images used (classes balanced); all the experiment's when absent"),
});
export type PgdAtSettings = z.output<typeof PgdAtSettingsSchema>;

/**
 * The training inputs of PGD-AT: a uniform start in the ε-ball drawn from `generator`, then
 * `steps` signed steps of `stepSize` (default ε/4) on the cross entropy, each projected onto the
 * ball ∩ [0, 1]. The model stays in training mode, as in Madry et al.'s code.
 */
export function pgdAtInputs(eps: number, steps: number, stepSize = eps / 4): AdversarialInputs {
  if (!(eps > 0 && eps <= 1)) throw new RangeError(`eps: expected a radius in (0, 1], got ${eps}`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps: expected a positive integer, got ${steps}`);
  return (model: SplitClassifier, x: Tensor, y: Tensor, generator?: Generator) => tidy(() => {
    const lower = x.sub(eps).clamp(0, null);
    const upper = x.add(eps).clamp(null, 1);
    let adv = noGrad(() => randLike(x, { generator }).mul(2 * eps).sub(eps).add(x).clamp(lower, upper));
    for (let k = 0; k < steps; k++) {
      const next = tidy(() => {
        const { grad } = valueAndGrad((z) => F.crossEntropy(model.forward(z), y), adv);
        return noGrad(() => adv.add(grad.sign().mul(stepSize)).clamp(lower, upper));
      });
      adv.dispose();
      adv = next;
    }
    return adv;
  });
}

/** Trains (or loads from the run's cache) the PGD-AT copy of the target. */
async function trainedPgdAt(env: DefenseEnv): Promise<SplitClassifier> {
  const settings = PgdAtSettingsSchema.parse(env.settings ?? {});
  const target = env.target as SplitClassifier;
  if (!target.config) throw new Error(`pgd-at: the target (${target.arch}) is not a model of a registered architecture, so no copy of it can be trained`);
  const dir = env.artifactDir("pgd-at", { pgdAt: settings, target: env.targetKey, seed: env.seed });
  if (!existsSync(join(dir, "model.json"))) {
    const { arch, numClasses, inputShape, width, mean, std } = target.config;
    const init = new Generator(seedFor.weights(env.seed));
    const model = nn.init.withInitGenerator(init, () => createClassifier(arch, { numClasses, inputShape, width, normalization: { mean, std } }));
    init.dispose();
    const train = await env.trainImages(settings.trainImages);
    env.log(`training PGD-AT ${arch} (${settings.epochs} epochs, ${settings.steps} steps at ${(settings.eps * 255).toFixed(1)}/255) on ${train.shape[0]} images -> ${dir}`);
    await trainClassifier(model, { train, val: await env.valImages() }, {
      epochs: settings.epochs, batchSize: settings.batchSize, lr: settings.lr, mode: "pgd-at", seed: env.seed, augmentation: augmentationFor(env.dataset), workers: 0,
    }, { outDir: dir, resume: true, progress: env.progress, device: env.device, dataset: env.dataset, classes: train.classes, adversarial: pgdAtInputs(settings.eps, settings.steps) });
    model.dispose?.();
    env.trained();
  }
  const model = loadClassifier(dir) as unknown as SplitClassifier;
  if (env.device !== "cpu") model.to(env.device);
  return model;
}

/** The PGD-AT row: the target's architecture adversarially trained with PGD. */
export const pgdAtEntry: DefenseEntry = {
  name: "pgd-at", label: "PGD AT", description: "the target's architecture adversarially trained with PGD (Madry et al. 2018: random start, K steps of eps/4)",
  adaptive: "exact", group: "baseline", whitebox: "own", section: { key: "pgdAt", schema: PgdAtSettingsSchema },
  create: async (env) => {
    return new PgdAtDefense(env.target, await trainedPgdAt(env));
  },
};

/** A robust copy that replaces the target: classifies with it, and is what white-box attacks differentiate. */
export class PgdAtDefense extends RobustModelDefense {
  constructor(target: Classifier, robust: Classifier) {
    super("pgd-at", target, robust);
  }
}
