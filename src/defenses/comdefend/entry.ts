/**
 * ComDefend's registry entry: settings from the experiment's `comdefend` section; the networks are
 * trained once per training settings and target (whose key identifies the training data), cached
 * in an artifact folder that a later run loads without training (and an interrupted one resumes),
 * then wrapped around the target with the section's inference settings. The inference noise comes
 * from a generator of the defense's own, seeded from the experiment's seed, on the run's device.
 */
import { deriveSeed } from "../../core/seeds.js";
import { Generator } from "../../torch/index.js";
import type { DefenseEntry, DefenseEnv } from "../registry.js";
import { trainedArtifact } from "../trained-artifact.js";
import { comdefendSettings, ComDefendSettingsSchema, trainImagesOf } from "./config.js";
import { ComDefendDefense } from "./defense.js";
import { isComDefendFolder, loadComDefendNets, saveComDefend } from "./io.js";
import type { ComDefendNets } from "./networks.js";
import { trainComDefend } from "./train.js";

/** The deriveSeed path of the inference noise below the experiment's seed ("COMD" + 1). */
const NOISE_STREAM = [0x434f4d44, 0x4e] as const;

async function trainedNets(env: DefenseEnv): Promise<ComDefendNets> {
  const s = comdefendSettings(env.settings);
  const training = { preset: s.preset, trainImages: trainImagesOf(s) ?? "all", epochs: s.epochs, batchSize: s.batchSize, lr: s.lr,
    trainNoise: s.trainNoise, codePenalty: s.codePenalty, seed: s.seed ?? env.seed };
  const key = { comdefend: training, target: env.targetKey };
  return trainedArtifact(env, "comdefend", key, {
    done: isComDefendFolder,
    train: async (dir, run) => {
      const images = await env.trainImages(trainImagesOf(s));
      env.log(`training ComDefend (${s.preset} preset) on ${images.shape[0]} images -> ${dir}`);
      const { nets, history } = await trainComDefend(images, training, run);
      saveComDefend(dir, nets, { source: { training, dataset: env.dataset, images: images.shape[0], loss: history.at(-1)?.loss } });
      nets.dispose();
    },
    load: (dir) => loadComDefendNets(dir, env.device).nets,
  });
}

export const comdefendEntry: DefenseEntry = {
  name: "comdefend", label: "ComDefend", group: "baseline", adaptive: "eot",
  description: "ComDefend (Jia et al. 2019): ComCNN compresses to a noisy binary code, RecCNN rebuilds the image",
  section: { key: "comdefend", schema: ComDefendSettingsSchema },
  create: async (env) => {
    const s = comdefendSettings(env.settings);
    const nets = await trainedNets(env);
    return new ComDefendDefense(env.target, nets, {
      noise: s.noise, threshold: s.threshold, patch: s.patch, bpda: s.bpda,
      generator: new Generator(deriveSeed(env.seed, ...NOISE_STREAM), env.device),
    });
  },
};
