/**
 * SOAP's registry entry: settings from the experiment's `soap` section, a model trained jointly on
 * the experiment's training images (the target's data) once per settings and target, cached in its
 * own folder (resumed from the folder's checkpoint after an interruption), then loaded with the
 * section's purification settings (changing those reuses the trained model).
 */
import type { DefenseEntry, DefenseEnv } from "../registry.js";
import { trainedArtifact } from "../trained-artifact.js";
import { resolveSoapSettings, SoapSettingsSchema } from "./config.js";
import { hasSoapDefense, loadSoapDefense, SoapDefense } from "./defense.js";
import { soapNormalisation } from "./models.js";
import { newSoapModel, trainSoapModel } from "./train.js";

/** Builds (training when needed) the SOAP defense of `env.target`. */
export async function createSoapDefense(env: DefenseEnv): Promise<SoapDefense> {
  const [channels] = env.target.inputShape;
  const settings = resolveSoapSettings(env.settings, channels, env.seed);
  // Purification settings do not change the trained model: they stay out of the key, and are applied at load.
  const key = { soap: { ...settings, purify: undefined }, target: env.targetKey, dataset: env.dataset };
  return trainedArtifact(env, "soap", key, {
    done: hasSoapDefense,
    train: async (dir, run) => {
      const train = await env.trainImages(settings.trainImages);
      env.log(`training SOAP (${settings.model}, aux ${settings.aux}) on ${train.shape[0]} images -> ${dir}`);
      const model = newSoapModel({
        model: settings.model, rotation: settings.aux === "rot", numClasses: env.target.numClasses,
        inputShape: [...env.target.inputShape], ...soapNormalisation(env.dataset, settings.model, channels),
      }, settings.seed).to(env.device);
      await trainSoapModel(model, train, settings, run);
      new SoapDefense(env.target, model, settings.aux, settings.purify).save(dir, { dataset: env.dataset, training: { ...settings, purify: undefined } });
      model.dispose();
    },
    load: (dir) => loadSoapDefense(dir, env.target, settings.purify, env.device),
  });
}

/** The `soap` row: Shi, Holtz & Mishne's self-supervised online adversarial purification. */
export const soapEntry: DefenseEntry = {
  name: "soap", label: "SOAP", group: "baseline", adaptive: "bpda", whitebox: "own",
  description: "SOAP (Shi et al. 2021): its own classifier trained with a self-supervised aux task; inputs purified by sign steps that lower the aux loss (replaces the target)",
  section: { key: "soap", schema: SoapSettingsSchema },
  create: createSoapDefense,
};
