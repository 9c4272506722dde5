/**
 * Messages between the server (main thread) and the inference worker, which alone owns libtorch.
 * Pixel data travels as Float32Array (transferred, not copied); everything else is plain data.
 */

/** One folder to serve and the name it is served under. */
export interface ModelSpec {
  dir: string;
  name: string;
}

/** How the worker runs the models. */
export interface HostOptions {
  device: string;
  /** Batch norm folded into the convs and libtorch's inference mode (default true). */
  fastPath: boolean;
  /** libtorch CPU threads (default: libtorch's own choice). */
  threads?: number;
  /** Test images shipped for the page, per class (0: none). */
  samplesPerClass: number;
}

/** What the server knows about a served model. */
export interface ServedModelInfo {
  name: string;
  dir: string;
  /** "defense": an IDFR defense folder (outputs with and without it); "model": a classifier alone. */
  kind: "defense" | "model";
  /** "id+fr" or "id" for a defense, null for a model. */
  defense: string | null;
  arch: string;
  inputShape: [number, number, number];
  numClasses: number;
  /** Class names (numbers as strings when the model records none). */
  classes: string[];
  dataset: string | null;
  /** Conv + batch-norm pairs folded by the fast path (0 when it is off). */
  foldedPairs: number;
  /** Convs and linear layers the fast path runs on oneDNN directly (0 off the CPU or without it). */
  oneDnnLayers: number;
}

/** Test images for the page, uint8 NCHW. */
export interface SampleSet {
  images: Uint8Array;
  labels: number[];
  shape: [number, number, number, number];
}

export interface InferRequest {
  model: string;
  /** rows x C x H x W floats in [0, 1]. */
  data: Float32Array;
  rows: number;
  purified: boolean;
}

export interface InferResult {
  /** rows x classes, undefended. */
  logits: Float32Array;
  /** rows x classes through the defense (null for a plain model). */
  defended: Float32Array | null;
  /** The denoiser's output, like the input (when asked and there is a defense). */
  purified: Float32Array | null;
  /** Native tensors alive in the worker after the batch (a leak shows as growth). */
  liveTensors?: number;
}

export type AttackMethod = "fgsm" | "pgd";

export interface AttackRequest {
  model: string;
  data: Float32Array;
  rows: number;
  method: AttackMethod;
  eps: number;
  steps: number;
  /** True classes; default: the undefended model's prediction on the clean image. */
  labels?: number[];
}

export interface Prediction {
  index: number;
  probability: number;
}

/** One set of adversarial examples and what both models make of it. */
export interface AttackOutcome {
  adversarial: Float32Array;
  undefended: Prediction[];
  defended: Prediction[];
  linf: number[];
}

export interface AttackResultMessage {
  labels: number[];
  clean: { undefended: Prediction[]; defended: Prediction[] };
  /** Crafted on the undefended model: the defense unseen. */
  transfer: AttackOutcome;
  /** Crafted through the whole defended pipeline. */
  adaptive: AttackOutcome;
  seconds: number;
}

export type WorkerRequest =
  | { id: number; type: "load"; models: ModelSpec[]; options: HostOptions }
  | ({ id: number; type: "infer" } & InferRequest)
  | ({ id: number; type: "attack" } & AttackRequest)
  | { id: number; type: "samples"; model: string };

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
