/**
 * SOAP as a defense row. SOAP replaces the target: its jointly trained model is both the purifier
 * (through its aux loss) and the classifier, so `logits` = model(purify(x)). `target` stays the
 * undefended classifier the row is compared with; `whiteboxModel` is SOAP's own model, so white-box
 * AEs (defense unseen) are made on it without the purification, as the paper's "FGSM/PGD" columns
 * attack it. Adaptive attacks differentiate {@link SoapDefense.attackForward}: BPDA through the
 * purification (its result forward, the identity backward) and exact gradients through the model.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-write.js";
import type { Classifier } from "../../models/classifier.js";
import { encodeSafetensors, Generator, loadSafetensors, nn, noGrad, tidy, type Tensor } from "../../torch/index.js";
import { classifyByLogits, type Defense } from "../defense.js";
import { SOAP_AUX, type SoapAuxName, type SoapPurifySettings } from "./config.js";
import { SoapModel, type SoapModelConfig } from "./models.js";
import { soapPurify, type SoapPurification } from "./purify.js";

/** Version of soap.json; a newer file is refused. */
export const SOAP_FORMAT_VERSION = 1;
export const SOAP_WEIGHTS_FILE = "soap.safetensors";
export const SOAP_META_FILE = "soap.json";

/** What soap.json holds beside the weights. */
export interface SoapMeta {
  version: number;
  model: SoapModelConfig;
  aux: SoapAuxName;
  purify: SoapPurifySettings;
  /** Anything else worth recording (dataset, training settings). */
  info?: Record<string, unknown>;
}

export class SoapDefense implements Defense {
  readonly name = "soap";
  readonly stochastic = false;
  constructor(readonly target: Classifier, readonly model: SoapModel, readonly aux: SoapAuxName, readonly settings: SoapPurifySettings) {
    if (model.numClasses !== target.numClasses) throw new RangeError(`soap: the SOAP model has ${model.numClasses} classes, the target ${target.numClasses}`);
    if (aux === "recon" && !model.decoder) throw new RangeError('soap: aux "recon" needs the cae model');
    if (aux === "rot" && !model.rotHead) throw new RangeError('soap: aux "rot" needs a resnet with its rotation head');
    if (aux === "pi" && model.soap.model !== "resnet") throw new RangeError('soap: aux "pi" needs the resnet model');
  }
  /** SOAP's own classifier: what it classifies with, so what a white-box attacker differentiates. */
  get whiteboxModel(): Classifier {
    return this.model;
  }
  /** Purified images with the chosen radii and aux losses before and after. */
  purifyDetailed(x: Tensor): SoapPurification {
    return soapPurify(this.model, this.aux, x, this.settings);
  }
  purify(x: Tensor): Tensor {
    return tidy(() => this.purifyDetailed(x).images);
  }
  logits(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.model.eval().forward(this.purify(x))));
  }
  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }
  /** model(purify(x)) forward; backward the identity through purification (BPDA), exact through the model. */
  attackForward(x: Tensor): Tensor {
    return tidy(() => {
      const purified = this.purify(x);
      return this.model.eval().forward(x.add(purified.sub(x.detach())));
    });
  }
  /** Writes soap.safetensors and soap.json into `dir` (each atomically). */
  save(dir: string, info?: Record<string, unknown>): void {
    writeFileAtomic(join(dir, SOAP_WEIGHTS_FILE), encodeSafetensors(this.model.stateDict()));
    const meta: SoapMeta = { version: SOAP_FORMAT_VERSION, model: this.model.soap, aux: this.aux, purify: this.settings, ...(info ? { info } : {}) };
    writeFileAtomic(join(dir, SOAP_META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
  }
}

/** True when `dir` holds a saved SOAP defense. */
export function hasSoapDefense(dir: string): boolean {
  return existsSync(join(dir, SOAP_WEIGHTS_FILE)) && existsSync(join(dir, SOAP_META_FILE));
}

/** A SOAP model of `config` with the weights in `weights` (any device; moved to `device`). */
export function soapModelFrom(config: SoapModelConfig, weights: Map<string, Tensor>, device = "cpu"): SoapModel {
  // The initial weights are overwritten; a generator of its own keeps the global stream untouched.
  const gen = new Generator(0);
  try {
    const model = nn.init.withInitGenerator(gen, () => new SoapModel(config));
    model.loadStateDict(weights);
    return model.to(device).eval();
  } finally {
    gen.dispose();
  }
}

/**
 * The SOAP defense saved in `dir` (by {@link SoapDefense.save}), on `device` (default: the device
 * of `target`'s parameters, else the CPU); `purify` overrides the saved purification settings.
 */
export function loadSoapDefense(dir: string, target: Classifier, purify: Partial<SoapPurifySettings> = {}, device?: string): SoapDefense {
  if (!hasSoapDefense(dir)) throw new Error(`soap: expected ${SOAP_WEIGHTS_FILE} and ${SOAP_META_FILE} in ${dir}`);
  const meta = JSON.parse(readFileSync(join(dir, SOAP_META_FILE), "utf8")) as SoapMeta;
  if (!(Number.isInteger(meta.version) && meta.version >= 1 && meta.version <= SOAP_FORMAT_VERSION)) {
    throw new Error(`soap: ${join(dir, SOAP_META_FILE)} has version ${meta.version}; this version reads 1..${SOAP_FORMAT_VERSION}`);
  }
  if (!SOAP_AUX.includes(meta.aux)) throw new Error(`soap: ${join(dir, SOAP_META_FILE)}: expected aux one of ${SOAP_AUX.join(", ")}, got ${JSON.stringify(meta.aux)}`);
  const { tensors } = loadSafetensors(join(dir, SOAP_WEIGHTS_FILE));
  try {
    const model = soapModelFrom(meta.model, tensors, device ?? target.parameters()[0]?.device ?? "cpu");
    return new SoapDefense(target, model, meta.aux, { ...meta.purify, ...purify });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
