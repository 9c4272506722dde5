/**
 * NRP's registry entries. One trained purifier per target and training config serves both:
 * `nrp` (static inference, deterministic: adaptive attacks take exact gradients) and `nrp-dynamic`
 * (the authors' dynamic inference, random: adaptive attacks use EOT). The purifier is trained on
 * the experiment's training images the first time and loaded from its cache folder afterwards;
 * a killed training resumes from its checkpoint.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deriveSeed } from "../../core/seeds.js";
import { Generator, type nn } from "../../torch/index.js";
import { clearCheckpoint } from "../../train/loop.js";
import type { DefenseEntry, DefenseEnv } from "../registry.js";
import { trainedArtifact } from "../trained-artifact.js";
import { nrpTrainConfig, NrpSettingsSchema, type NrpSettings } from "./config.js";
import { NrpDefense, type NrpMode } from "./defense.js";
import { loadNrpPurifier, NRP_MANIFEST, saveNrpPurifier } from "./io.js";
import { NRP_DRAWS, NRP_STREAM, trainNrp } from "./train.js";

const NRP_SECTION = { key: "nrp", schema: NrpSettingsSchema };

/** The purifier for the env's target and settings: trained once (resuming a killed run), then loaded. */
async function trainedPurifier(env: DefenseEnv): Promise<nn.Module> {
  const config = nrpTrainConfig(env.settings, env.seed);
  const key = { nrp: config, target: env.targetKey };
  return trainedArtifact(env, "nrp", key, {
    done: (dir) => existsSync(join(dir, NRP_MANIFEST)),
    train: async (dir, run) => {
      const train = await env.trainImages(config.trainImages ?? undefined);
      env.log(`training NRP (${config.preset} preset, ${config.arch} nf ${config.nf} nb ${config.nb}) for ${env.target.arch} on ${train.shape[0]} images -> ${dir}`);
      const [channels] = env.target.inputShape;
      const { purifier } = await trainNrp(env.target, train, config, run);
      saveNrpPurifier(dir, purifier, { arch: config.arch, sizes: { channels, nf: config.nf, nb: config.nb, gc: config.gc }, training: config, targetDir: env.targetDir });
      clearCheckpoint(dir, "nrp");
      purifier.dispose();
    },
    load: (dir) => loadNrpPurifier(dir, env.device).purifier,
  });
}

async function create(env: DefenseEnv, mode: NrpMode): Promise<NrpDefense> {
  const settings = NrpSettingsSchema.parse(env.settings ?? {}) as NrpSettings;
  const purifier = await trainedPurifier(env);
  // The dynamic noise comes from a generator of its own, seeded from the experiment's seed.
  const generator = mode === "dynamic" ? new Generator(deriveSeed(env.seed, NRP_STREAM, NRP_DRAWS.dynamic), env.device) : undefined;
  return new NrpDefense(env.target, purifier, { mode, noise: settings.dynamicNoise, eps: settings.dynamicEps, generator });
}

export const nrpEntry: DefenseEntry = {
  name: "nrp", label: "NRP", group: "baseline", adaptive: "exact", section: NRP_SECTION,
  description: "Naseer et al. 2020's neural representation purifier trained self-supervised on SSP, static inference (features: the target's embedding, not VGG16)",
  create: (env) => create(env, "static"),
};

export const nrpDynamicEntry: DefenseEntry = {
  name: "nrp-dynamic", label: "NRP (dynamic)", group: "baseline", adaptive: "eot", section: NRP_SECTION,
  description: "NRP with the authors' dynamic inference: 0.05 Gaussian noise kept within 16/255, then purified (random: EOT)",
  create: (env) => create(env, "dynamic"),
};
