/**
 * The ADP defense: purify each input from 10 independent Gaussian-noised copies with the score
 * network ({@link adpSteps}), classify every purified copy with the unchanged target, and combine
 * them (softmax sum by default). Random, so adaptive attacks average over draws (EOT); its attack
 * path is the exact gradient of one draw's unrolled purification ({@link adpUnroll}) with the noise,
 * the step sizes and the stop mask held constant.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-write.js";
import { ensureDir } from "../../core/fs.js";
import type { Classifier } from "../../models/classifier.js";
import { encodeSafetensors, Generator, loadSafetensors, noGrad, randn, tidy, type Tensor } from "../../torch/index.js";
import { readPth } from "../../torch/pth.js";
import { classifyByLogits, type Defense } from "../defense.js";
import { checkImages } from "../baselines/purifier-defense.js";
import type { AdpPurifySettings, AdpResolvedSettings } from "./config.js";
import { purifySettingsOf } from "./config.js";
import { aggregateLogits } from "./ensemble.js";
import { adpSteps, adpUnroll, noisyStart } from "./purify.js";
import { geometricSigmas, ScoreNet } from "./score-net.js";

/** Files of a saved ADP score network. */
export const ADP_FILES = { weights: "score-net.safetensors", meta: "adp.json" } as const;
const VERSION = 1;

export class AdpDefense implements Defense {
  readonly name = "adp";
  readonly stochastic = true;
  readonly settings: AdpPurifySettings;
  readonly #noise: Generator;

  /**
   * @param target the classifier protected (unchanged).
   * @param net the score network; frozen here (no gradient is kept for its weights).
   * @param noiseSeed seed of the generator of the Gaussian starts (on the network's device).
   */
  constructor(readonly target: Classifier, readonly net: ScoreNet, settings: AdpPurifySettings, noiseSeed = 0) {
    this.settings = purifySettingsOf(settings);
    net.eval();
    net.requiresGrad_(false);
    this.#noise = new Generator(noiseSeed, net.sigmas.device);
  }

  /** The score at x: the network's raw output, not divided by σ. */
  readonly score = (x: Tensor): Tensor => this.net.forward(x);

  #noiseLike(x: Tensor): Tensor {
    return randn(x.shape, { generator: this.#noise, device: x.device }).mul_(this.settings.noiseStd);
  }

  /** One purified draw of x (fresh noise), without gradient. */
  purify(x: Tensor): Tensor {
    checkImages(x, "adp: purify");
    return noGrad(() => tidy(() => adpSteps(this.score, noisyStart(x.detach(), this.#noiseLike(x), this.settings.authorsGrid), this.settings).images));
  }

  /** The ensemble's scores over `settings.ensemble` draws (see {@link aggregateLogits}). */
  logits(x: Tensor): Tensor {
    checkImages(x, "adp: logits");
    return noGrad(() => tidy(() => {
      const draws: Tensor[] = [];
      for (let k = 0; k < this.settings.ensemble; k++) draws.push(tidy(() => this.target.forward(this.purify(x))));
      return aggregateLogits(draws, this.settings.aggregate);
    }));
  }

  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }

  /** Target logits of one draw, differentiable through the unrolled purification. */
  attackForward(x: Tensor): Tensor {
    return tidy(() => {
      const noise = this.#noiseLike(x);
      const trace = adpSteps(this.score, noisyStart(x.detach(), noise, this.settings.authorsGrid), this.settings);
      const purified = adpUnroll(this.score, x, noise, trace.steps.map((s) => s.applied), this.settings.authorsGrid);
      return this.target.forward(purified);
    });
  }

  /** Writes the score network and its settings to `dir` (atomically), so {@link loadAdpDefense} rebuilds it. */
  save(dir: string, extra: Record<string, unknown> = {}): void {
    saveScoreNet(dir, this.net, { ...this.settings, ...extra });
  }
}

/** Writes `net` as safetensors and a JSON file with its architecture and `settings`. */
export function saveScoreNet(dir: string, net: ScoreNet, settings: Record<string, unknown>): void {
  ensureDir(dir);
  writeFileAtomic(join(dir, ADP_FILES.weights), encodeSafetensors(net.stateDict()));
  const sigmas = Array.from(net.sigmas.cpu().toTypedArray() as Float32Array);
  const meta = { version: VERSION, kind: "adp-score-net", channels: net.channels, ngf: net.ngf, sigmas, settings };
  writeFileAtomic(join(dir, ADP_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
}

/** True when `dir` holds a saved score network. */
export function hasScoreNet(dir: string): boolean {
  return existsSync(join(dir, ADP_FILES.weights)) && existsSync(join(dir, ADP_FILES.meta));
}

/** The score network saved in `dir` (on `device`, default CPU) and the settings saved with it. */
export function loadScoreNet(dir: string, device = "cpu"): { net: ScoreNet; settings: Record<string, unknown> } {
  const metaPath = join(dir, ADP_FILES.meta);
  if (!hasScoreNet(dir)) throw new Error(`adp: expected ${ADP_FILES.weights} and ${ADP_FILES.meta} in ${dir}`);
  const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { version: number; channels: number; ngf: number; sigmas: number[]; settings: Record<string, unknown> };
  if (meta.version !== VERSION) throw new Error(`adp: ${metaPath} has version ${meta.version}, expected ${VERSION}`);
  const net = new ScoreNet({ channels: meta.channels, ngf: meta.ngf, sigmas: meta.sigmas.length ? meta.sigmas : geometricSigmas(1, 0.01, 1) });
  const { tensors } = loadSafetensors(join(dir, ADP_FILES.weights), { requireFinite: true });
  try {
    net.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { net: net.to(device), settings: meta.settings };
}

/**
 * The ADP defense of `target` from a folder written by {@link AdpDefense.save} (or the registry's
 * training): its purification settings unless `overrides` change them.
 */
export function loadAdpDefense(dir: string, target: Classifier, o: { device?: string; noiseSeed?: number; overrides?: Partial<AdpPurifySettings> } = {}): AdpDefense {
  const { net, settings } = loadScoreNet(dir, o.device ?? "cpu");
  return new AdpDefense(target, net, { ...(settings as unknown as AdpResolvedSettings), ...o.overrides }, o.noiseSeed ?? 0);
}

/** Prefixes under which the authors' checkpoints hold the score network's state dict. */
const TORCH_PREFIXES = ["0.module.", "module.", "0.", ""] as const;

/**
 * A score network from a state dict named like the authors' PyTorch module: ADP's NCSNv2 checkpoint
 * (`checkpoint.pth`, a list [state_dict, optimizer, epoch, step, ema] saved from a DataParallel, so
 * the network sits under "0.module."), a bare DataParallel state dict ("module.") or a plain one.
 * Channels, width and the σ ladder are read from the tensors. ADP uses the first entry, the raw
 * (not EMA) weights, and so does this.
 */
export function scoreNetFromStateDict(tensors: Map<string, Tensor>): ScoreNet {
  const prefix = TORCH_PREFIXES.find((p) => tensors.has(`${p}begin_conv.weight`));
  if (prefix === undefined) throw new Error("adp: expected an NCSNv2 state dict (begin_conv.weight, optionally under module. or 0.module.), found none");
  const own = new Map<string, Tensor>();
  for (const [k, t] of tensors) if (k.startsWith(prefix)) own.set(k.slice(prefix.length), t);
  const first = own.get("begin_conv.weight")!;
  const sigmas = own.get("sigmas");
  const net = new ScoreNet({ channels: first.size(1), ngf: first.size(0), sigmas: sigmas ? Array.from(sigmas.float().toTypedArray() as Float32Array) : [1] });
  if (!sigmas) own.set("sigmas", net.sigmas);
  net.loadStateDict(own);
  return net;
}

/** The score network of an authors' PyTorch checkpoint file (read without Python). */
export function loadTorchScoreNet(path: string): ScoreNet {
  const { tensors } = readPth(path, { unknown: "opaque" });
  try {
    return scoreNetFromStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
