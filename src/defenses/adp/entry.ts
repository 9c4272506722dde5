/**
 * The registry entry of ADP: the score network is trained once per settings and target data (cached
 * in the run's artifact folder, resumed from its checkpoint), then loaded.
 */
import { deriveSeed } from "../../core/seeds.js";
import type { DefenseEntry, DefenseEnv } from "../registry.js";
import { trainedArtifact } from "../trained-artifact.js";
import { adpSettings, AdpSettingsSchema, purifySettingsOf, type AdpResolvedSettings } from "./config.js";
import { AdpDefense, hasScoreNet, loadScoreNet, saveScoreNet } from "./defense.js";
import { trainScoreNet } from "./train.js";
import type { ScoreNet } from "./score-net.js";

/** Seed stream of the defense's noise draws, below the experiment's seed. */
const NOISE_STREAM = 0xad3;

/** The training part of the settings: what the cached network depends on. */
function trainingKey(s: AdpResolvedSettings) {
  return { ngf: s.ngf, sigmaBegin: s.sigmaBegin, sigmaEnd: s.sigmaEnd, numSigmas: s.numSigmas, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr, trainImages: s.trainImages, seed: s.seed };
}

async function trainedScoreNet(env: DefenseEnv, s: AdpResolvedSettings): Promise<ScoreNet> {
  // The score network models the data, not the target; the key names the target only for its data.
  const key = { adp: trainingKey(s), dataset: env.dataset, target: env.targetKey };
  return trainedArtifact(env, "adp", key, {
    done: hasScoreNet,
    train: async (dir, run) => {
      const train = await env.trainImages(s.trainImages > 0 ? s.trainImages : undefined);
      env.log(`training the ADP score network (ngf ${s.ngf}, ${s.numSigmas} σ from ${s.sigmaBegin} to ${s.sigmaEnd}) on ${train.shape[0]} images -> ${dir}`);
      const seed = s.seed ?? env.seed;
      const { net } = await trainScoreNet(train, s, seed, run);
      saveScoreNet(dir, net, { ...s, seed, dataset: env.dataset, targetDir: env.targetDir });
      net.dispose();
    },
    load: (dir) => loadScoreNet(dir, env.device).net,
  });
}

/** `adp` in DEFENSES. */
export const adpDefenseEntry: DefenseEntry = {
  name: "adp", label: "ADP", group: "baseline", adaptive: "eot",
  description: "adaptive denoising purification with a score network trained by denoising score matching (Yoon et al. 2021): 10 noisy draws, softmax ensemble",
  section: { key: "adp", schema: AdpSettingsSchema },
  create: async (env) => {
    const s = adpSettings(env.settings);
    const net = await trainedScoreNet(env, s);
    return new AdpDefense(env.target, net, purifySettingsOf(s), deriveSeed(env.seed, NOISE_STREAM));
  },
};
