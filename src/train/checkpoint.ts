/**
 * Checkpoints as one safetensors file: the tensors, plus a JSON state in the header metadata, so
 * that a crash can never leave tensors and state from different steps. Written atomically.
 */
import { existsSync } from "node:fs";
import { loadSafetensors, saveSafetensors, type Tensor } from "../torch/index.js";

export function saveCheckpoint(path: string, tensors: Map<string, Tensor>, state: unknown): void {
  saveSafetensors(path, tensors, { format: "pt", state: JSON.stringify(state) });
}

/** Loads a checkpoint, or returns null when there is none. The caller disposes the tensors. */
export function loadCheckpoint<S>(path: string): { tensors: Map<string, Tensor>; state: S } | null {
  if (!existsSync(path)) return null;
  const { tensors, metadata } = loadSafetensors(path);
  if (typeof metadata.state !== "string") {
    for (const t of tensors.values()) t.dispose();
    throw new Error(`${path}: not an idfr checkpoint (no "state" in its metadata)`);
  }
  return { tensors, state: JSON.parse(metadata.state) as S };
}

/** Tensors under `prefix.` with the prefix removed (e.g. the model's part of a checkpoint). */
export function withoutPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of tensors) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), t);
  return out;
}

/** Prefixes every key (to store several state dicts in one checkpoint). */
export function withPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].map(([k, t]) => [`${prefix}.${k}`, t]));
}

/**
 * What a training run is made of, compared key by key on resume: every setting that changes the
 * result (learning rate, batch size, seed, epochs, architecture, ...) and the identity of the data.
 * Values are anything JSON can hold.
 */
export type TrainingSettings = Record<string, unknown>;

/** Keys whose values differ between two settings (missing on one side counts), in a stable order. */
export function differingSettings(saved: TrainingSettings, wanted: TrainingSettings): string[] {
  const keys = [...new Set([...Object.keys(wanted), ...Object.keys(saved)])];
  return keys.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(wanted[k]));
}

/** "lr 0.05, batchSize 128" for `keys` of `settings` (a missing key reads "unset"). */
export function describeSettings(settings: TrainingSettings, keys: readonly string[]): string {
  return keys.map((k) => `${k} ${k in settings ? formatValue(settings[k]) : "unset"}`).join(", ");
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return JSON.stringify(v);
}

/**
 * Throws when a checkpoint was made with other settings than this run asks for, naming the
 * checkpoint and each differing setting with both values.
 */
export function checkSameSettings(path: string, saved: TrainingSettings, wanted: TrainingSettings): void {
  const keys = differingSettings(saved, wanted);
  if (keys.length === 0) return;
  throw new Error(`checkpoint ${path} was made with ${describeSettings(saved, keys)}; this run asks for ${describeSettings(wanted, keys)}; ` +
    "rerun without --resume or with the same settings");
}
