/**
 * The served models on the libtorch side: loads defense and model folders, runs batches with and
 * without the defense, crafts the page's attacks, and picks the test images the page offers. The
 * inference worker owns one; nothing here touches HTTP.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FGSM } from "../attacks/fgsm.js";
import { PGD } from "../attacks/pgd.js";
import { DATASET_NAMES, loadDataset, type DatasetName } from "../data/datasets.js";
import { loadDefense, type IdfrDefense } from "../defenses/idfr/index.js";
import type { Classifier } from "../models/classifier.js";
import { enableFastPath, type FastPath } from "../models/fast-path.js";
import { loadClassifier, type ModelInfo } from "../models/io.js";
import { F, inferenceMode, memory, nn, noGrad, setNumThreads, tensor, tidy, type Tensor } from "../torch/index.js";
import type { AttackOutcome, AttackRequest, AttackResultMessage, HostOptions, InferRequest, InferResult, ModelSpec, Prediction, SampleSet, ServedModelInfo } from "./protocol.js";

interface Served {
  info: ServedModelInfo;
  target: Classifier;
  defense: IdfrDefense | null;
  folds: FastPath[];
}

function moveModule(m: unknown, device: string, what: string): void {
  if (device === "cpu") return;
  const movable = m as { to?: (device: string) => unknown };
  if (typeof movable.to !== "function") throw new Error(`--device ${device}: the ${what} cannot be moved off the CPU`);
  movable.to(device);
}

/** Folds what the fast path can fold: built-in modules, not TorchScript. */
function foldAll(modules: unknown[]): FastPath[] {
  return modules.filter((m): m is nn.Module => m instanceof nn.Module).map((m) => enableFastPath(m));
}

function loadOne(spec: ModelSpec, o: HostOptions): Served {
  const isDefense = existsSync(join(spec.dir, "defense.json"));
  if (!isDefense && !existsSync(join(spec.dir, "model.json"))) {
    throw new Error(`${spec.dir}: neither a defense folder (defense.json, from idfr defend) nor a model folder (model.json, from idfr train-model)`);
  }
  let target: Classifier & { info?: ModelInfo };
  let defense: IdfrDefense | null = null;
  if (isDefense) {
    defense = loadDefense(spec.dir);
    target = defense.target as Classifier & { info?: ModelInfo };
    moveModule(defense.denoiser, o.device, "denoiser");
    if (defense.restorer) moveModule(defense.restorer, o.device, "restorer");
  } else {
    target = loadClassifier(spec.dir);
  }
  moveModule(target, o.device, `${target.arch} model`);
  target.eval();
  const folds = o.fastPath ? foldAll([target, defense?.denoiser, defense?.restorer]) : [];
  const classes = target.info?.classes?.length === target.numClasses ? target.info.classes : Array.from({ length: target.numClasses }, (_, k) => String(k));
  const info: ServedModelInfo = {
    name: spec.name, dir: spec.dir, kind: defense ? "defense" : "model", defense: defense?.name ?? null, arch: target.arch,
    inputShape: [...target.inputShape] as [number, number, number], numClasses: target.numClasses, classes,
    dataset: target.info?.dataset ?? null, foldedPairs: folds.reduce((n, f) => n + f.pairs, 0), oneDnnLayers: folds.reduce((n, f) => n + f.oneDnnLayers, 0),
  };
  return { info, target, defense, folds };
}

function predictions(logits: Tensor): Prediction[] {
  return tidy(() => {
    const p = F.softmax(logits, 1);
    const { values, indices } = p.maxDim(1);
    const ps = values.toArray();
    return indices.toArray().map((index, i) => ({ index, probability: ps[i] }));
  });
}

export class ModelHost {
  readonly #models = new Map<string, Served>();

  private constructor(readonly options: HostOptions) {}

  /** Loads every folder; errors name the folder. */
  static load(specs: readonly ModelSpec[], options: HostOptions): ModelHost {
    if (options.threads !== undefined) setNumThreads(options.threads);
    const host = new ModelHost(options);
    for (const spec of specs) {
      if (host.#models.has(spec.name)) throw new Error(`two models are named ${JSON.stringify(spec.name)}; give each folder its own --name`);
      try {
        host.#models.set(spec.name, loadOne(spec, options));
      } catch (err) {
        throw new Error(`${spec.dir}: ${(err as Error).message.replace(`${spec.dir}: `, "")}`);
      }
    }
    return host;
  }

  get models(): ServedModelInfo[] {
    return [...this.#models.values()].map((m) => m.info);
  }

  #get(name: string): Served {
    const m = this.#models.get(name);
    if (!m) throw new Error(`no model named ${JSON.stringify(name)}`);
    return m;
  }

  #input(m: Served, data: Float32Array, rows: number): Tensor {
    const shape = m.info.inputShape;
    if (data.length !== rows * shape[0] * shape[1] * shape[2]) throw new RangeError(`expected ${rows} x ${shape.join(" x ")} values, got ${data.length}`);
    const x = tensor(data, [rows, ...shape]);
    return this.options.device === "cpu" ? x : x.to(this.options.device);
  }

  /** Runs a function under the fast path's inference mode, or plain no-grad without it. */
  #noAutograd<T>(fn: () => T): T {
    return this.options.fastPath ? inferenceMode(fn) : noGrad(fn);
  }

  /** The defended logits of one batch, and the denoiser's output on the way. */
  #defended(m: Served, x: Tensor): { logits: Tensor; purified: Tensor } {
    const d = m.defense!;
    const purified = d.denoiser.forward(x);
    const h = m.target.embed(purified);
    const restored = d.restorer ? d.restorer.forward(h) : h;
    return { logits: m.target.head(restored), purified };
  }

  /** Logits with and without the defense for one batch (rows x C x H x W in [0, 1]). */
  infer(r: InferRequest): InferResult {
    const m = this.#get(r.model);
    const result = this.#noAutograd(() => tidy((): InferResult => {
      const x = this.#input(m, r.data, r.rows);
      const logits = m.target.forward(x).to("cpu").contiguous().toTypedArray() as Float32Array;
      if (!m.defense) return { logits, defended: null, purified: null };
      const d = this.#defended(m, x);
      return {
        logits,
        defended: d.logits.to("cpu").contiguous().toTypedArray() as Float32Array,
        purified: r.purified ? (d.purified.to("cpu").contiguous().toTypedArray() as Float32Array) : null,
      };
    }));
    return { ...result, liveTensors: memory().numTensors };
  }

  /**
   * FGSM or PGD at ε on each image, twice: on the undefended model (transfer: the defense unseen)
   * and through the whole defended pipeline (adaptive); both sets judged by both models.
   */
  attack(r: AttackRequest): AttackResultMessage {
    const m = this.#get(r.model);
    if (!m.defense) throw new Error(`${r.model} is a model without a defense; attacks compare a defense with its undefended model`);
    const defense = m.defense;
    const t0 = performance.now();
    return tidy(() => {
      const x = this.#input(m, r.data, r.rows);
      const clean = this.#noAutograd(() => tidy(() => ({ undefended: predictions(m.target.forward(x)), defended: predictions(this.#defended(m, x).logits) })));
      const labels = r.labels ?? clean.undefended.map((p) => p.index);
      const y = tensor(Int32Array.from(labels), [labels.length]).to("int64");
      const yOnDevice = this.options.device === "cpu" ? y : y.to(this.options.device);
      const make = (model: (z: Tensor) => Tensor): AttackOutcome => tidy(() => {
        const attack = r.method === "fgsm" ? new FGSM(model, { eps: r.eps }) : new PGD(model, { eps: r.eps, steps: r.steps, seed: 0 });
        const result = attack.run(x, yOnDevice);
        const adv = result.adversarial;
        const judged = this.#noAutograd(() => tidy(() => ({ undefended: predictions(m.target.forward(adv)), defended: predictions(this.#defended(m, adv).logits) })));
        return { adversarial: adv.to("cpu").contiguous().toTypedArray() as Float32Array, ...judged, linf: result.linf };
      });
      const transfer = make((z) => m.target.forward(z));
      const adaptive = make((z) => defense.attackForward(z));
      return { labels, clean, transfer, adaptive, seconds: (performance.now() - t0) / 1000 };
    });
  }

  /**
   * Test images of the model's dataset for the page: the first `samplesPerClass` of each class in
   * the test split. Null when the model records no dataset, or its files are not here.
   */
  async samples(name: string): Promise<SampleSet | null> {
    const m = this.#get(name);
    const per = this.options.samplesPerClass;
    const dataset = m.info.dataset;
    if (per === 0 || !dataset || !(DATASET_NAMES as readonly string[]).includes(dataset)) return null;
    let ds: Awaited<ReturnType<typeof loadDataset>>;
    try {
      ds = await loadDataset(dataset as DatasetName);
    } catch {
      return null; // the dataset's files are not on this machine: the page offers none
    }
    const test = ds.splits.test;
    const [, c, h, w] = test.shape;
    if (c !== m.info.inputShape[0] || h !== m.info.inputShape[1] || w !== m.info.inputShape[2]) return null;
    const picked: number[] = [];
    const count = new Map<number, number>();
    for (let i = 0; i < test.labels.length && picked.length < per * ds.classes.length; i++) {
      const k = test.labels[i];
      if ((count.get(k) ?? 0) < per) {
        picked.push(i);
        count.set(k, (count.get(k) ?? 0) + 1);
      }
    }
    picked.sort((a, b) => test.labels[a] - test.labels[b] || a - b);
    const size = c * h * w;
    const images = new Uint8Array(picked.length * size);
    picked.forEach((i, j) => images.set(test.images.subarray(i * size, (i + 1) * size), j * size));
    return { images, labels: picked.map((i) => test.labels[i]), shape: [picked.length, c, h, w] };
  }

  /** Gives the models their own forwards back and frees the folded weights. */
  dispose(): void {
    for (const m of this.#models.values()) for (const f of m.folds) f.restore();
  }
}
