/**
 * The `soap` section of an experiment config: which SOAP model is trained (Shi, Holtz & Mishne,
 * "Online Adversarial Purification based on Self-Supervised Learning", ICLR 2021), how, and how it
 * purifies. Defaults follow the authors' code (Mishne-Lab/SOAP `main.py`, `defenses.py`): SGD 0.1
 * with momentum 0.9 and weight decay 1e-4, the learning rate divided by 10 every 100 epochs, batch
 * 128, CE + 1 · aux; purification by 5 sign steps at each of the radii 0, δ, ..., 10δ.
 *
 * Two presets fill what is left out: "paper" (the authors' sizes: 200 epochs for the CIFAR ResNet as
 * their released run, 100 for the autoencoder, their `main.py` default) and "cpu" (the same models,
 * 3 epochs on at most 10,000 images, so that a Fashion-MNIST model trains in minutes on 2 cores).
 */
import { z } from "zod";
import { radiusSchema } from "../../core/validate.js";

/** The models of the authors' code that SOAP uses: their 3-stage CIFAR ResNet and the conv autoencoder. */
export const SOAP_MODELS = ["resnet", "cae"] as const;
export type SoapModelName = (typeof SOAP_MODELS)[number];
/** Auxiliary self-supervised tasks: label consistency, rotation prediction, data reconstruction. */
export const SOAP_AUX = ["pi", "rot", "recon"] as const;
export type SoapAuxName = (typeof SOAP_AUX)[number];

export const SoapSettingsSchema = z.strictObject({
  preset: z.enum(["cpu", "paper"]).default("cpu").describe('sizes left unset: "paper" (the authors\': 200 epochs for resnet, 100 for cae, all training images) or "cpu" (3 epochs on at most 10,000 images)'),
  model: z.enum(["auto", ...SOAP_MODELS]).default("auto").describe('"resnet" (the authors\' CIFAR ResNet, stages 16/32/64), "cae" (their conv autoencoder for (Fashion-)MNIST), or "auto": cae for 1-channel images, resnet otherwise'),
  aux: z.enum(["auto", ...SOAP_AUX]).default("auto").describe('auxiliary task: "pi" (label consistency), "rot" (rotation prediction) for resnet; "recon" (data reconstruction) for cae; "auto" picks pi or recon'),
  epochs: z.number().int().positive().optional().describe("training epochs (default from the preset)"),
  trainImages: z.number().int().positive().optional().describe("training images at most (default: all for paper, 10,000 for cpu)"),
  batchSize: z.number().int().positive().default(128).describe("training batch size (authors: 128)"),
  lr: z.number().positive().default(0.1).describe("SGD learning rate (authors: 0.1)"),
  lrStep: z.number().int().positive().default(100).describe("divide the learning rate by 1/lrGamma every this many epochs (authors: 100)"),
  lrGamma: z.number().positive().max(1).default(0.1).describe("learning-rate decay factor (authors: 0.1)"),
  momentum: z.number().min(0).max(1).default(0.9).describe("SGD momentum (authors: 0.9)"),
  weightDecay: z.number().min(0).default(1e-4).describe("SGD weight decay (authors: 1e-4)"),
  auxWeight: z.number().min(0).default(1).describe("weight α of the auxiliary loss in CE + α · aux (authors: 1)"),
  seed: z.number().int().nonnegative().optional().describe("seed of the weights and the training draws (default: the experiment's seed)"),
  delta: radiusSchema().optional().describe("purification radius unit δ: radii e · δ for e = 0..radii (default 4/255 for 3-channel images, 0.1 for 1-channel, the authors')"),
  stepSize: radiusSchema().optional().describe("purification sign-step size (default: δ, the authors')"),
  steps: z.number().int().positive().default(5).describe("purification steps per radius (authors: 5)"),
  radii: z.number().int().nonnegative().default(10).describe("largest radius multiple e (authors: 10, i.e. 11 radii including 0)"),
  select: z.enum(["sample", "batch"]).default("sample").describe('pick the radius of lowest aux loss per "sample" (the paper), or one for the whole "batch" (what the authors\' code does, its aux loss being a batch mean)'),
});
export type SoapSettings = z.output<typeof SoapSettingsSchema>;

/** Everything SOAP needs, every default resolved for the data's channel count. */
export interface ResolvedSoapSettings {
  model: SoapModelName;
  aux: SoapAuxName;
  epochs: number;
  trainImages: number | undefined;
  batchSize: number;
  lr: number;
  lrStep: number;
  lrGamma: number;
  momentum: number;
  weightDecay: number;
  auxWeight: number;
  seed: number;
  purify: SoapPurifySettings;
}

/** How SOAP purifies: radii e · delta (e = 0..radii), `steps` sign steps of `stepSize` each. */
export interface SoapPurifySettings {
  delta: number;
  stepSize: number;
  steps: number;
  radii: number;
  select: "sample" | "batch";
}

/** Which aux tasks each model supports (the authors pair pi/rot with the ResNet and recon with the autoencoder). */
const AUX_OF: Record<SoapModelName, readonly SoapAuxName[]> = { resnet: ["pi", "rot"], cae: ["recon"] };

/** Resolves the section for images with `channels` channels; `seed` is the experiment's. */
export function resolveSoapSettings(settings: unknown, channels: number, seed: number): ResolvedSoapSettings {
  const s = SoapSettingsSchema.parse(settings ?? {});
  const model: SoapModelName = s.model === "auto" ? (channels === 1 ? "cae" : "resnet") : s.model;
  const aux: SoapAuxName = s.aux === "auto" ? (model === "cae" ? "recon" : "pi") : s.aux;
  if (!AUX_OF[model].includes(aux)) throw new RangeError(`soap.aux: expected one of ${AUX_OF[model].join(", ")} for model "${model}", got "${aux}"`);
  const paper = s.preset === "paper";
  const epochs = s.epochs ?? (paper ? (model === "resnet" ? 200 : 100) : 3);
  const trainImages = s.trainImages ?? (paper ? undefined : 10_000);
  const delta = s.delta ?? (channels === 1 ? 0.1 : 4 / 255);
  return {
    model, aux, epochs, trainImages, batchSize: s.batchSize, lr: s.lr, lrStep: s.lrStep, lrGamma: s.lrGamma, momentum: s.momentum,
    weightDecay: s.weightDecay, auxWeight: s.auxWeight, seed: s.seed ?? seed,
    purify: { delta, stepSize: s.stepSize ?? delta, steps: s.steps, radii: s.radii, select: s.select },
  };
}
