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
