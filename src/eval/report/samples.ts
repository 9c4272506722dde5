/**
 * Example images for the report, from an optional `samples.safetensors` beside results.json:
 * tensors `clean`, `adversarial` and `denoised` ([k, C, H, W] float in [0, 1]) and metadata
 * `attack` and `eps`. Each row of the grid (clean, adversarial, magnified perturbation, ID output)
 * becomes a PNG, made with sharp, ready to embed as a data URI.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { imageGridPng } from "../../data/grid.js";
import type { ImageSet } from "../../data/types.js";
import { disposeAll, loadSafetensors, tidy, type Tensor } from "../../torch/index.js";

/** File name the report looks for in the results folder. */
export const SAMPLES_FILE = "samples.safetensors";

/** How much the perturbation is magnified around mid-grey: 0.5 + MAGNIFY·(x_adv − x). */
export const MAGNIFY = 10;

/** At most this many samples are shown. */
const MAX_SAMPLES = 8;

export interface GridRow {
  label: string;
  /** data:image/png;base64,... */
  src: string;
  width: number;
  height: number;
}

export interface SampleGrid {
  attack: string;
  /** ε on the [0, 1] scale, when the metadata gives it. */
  eps?: number;
  rows: GridRow[];
}

/** Float images in [0, 1] as the uint8 image set the grid code draws from. */
function toImageSet(t: Tensor): ImageSet {
  const bytes = tidy(() => t.float().clamp(0, 1).mul(255).round().to("uint8").contiguous().cpu().toTypedArray()) as Uint8Array;
  const [n, c, h, w] = t.shape;
  return { images: bytes, labels: new Uint8Array(n), shape: [n, c, h, w], classes: ["image"] };
}

/** ε from metadata: a number ("0.0314") or a fraction ("8/255"); undefined when absent or unreadable. */
function parseEps(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [num, den] = text.split("/").map(Number);
  const value = den === undefined ? num : num / den;
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** PNG rows for the samples file in `dir`, or null when there is none. */
export async function loadSampleGrid(dir: string): Promise<SampleGrid | null> {
  const path = join(dir, SAMPLES_FILE);
  if (!existsSync(path)) return null;
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const [clean, adversarial, denoised] = ["clean", "adversarial", "denoised"].map((name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${path}: tensor "${name}" is missing (expected clean, adversarial, denoised)`);
      if (t.ndim !== 4 || (t.size(1) !== 1 && t.size(1) !== 3)) throw new Error(`${path}: tensor "${name}" must be [k, C, H, W] with C = 1 or 3, got [${t.shape}]`);
      return t;
    });
    for (const t of [adversarial, denoised]) {
      if (t.shape.join() !== clean.shape.join()) throw new Error(`${path}: tensors must share one shape, got [${clean.shape}] and [${t.shape}]`);
    }
    const k = Math.min(clean.size(0), MAX_SAMPLES);
    const rows = tidy(() => [
      ["Clean", clean],
      ["Adversarial", adversarial],
      [`Perturbation ×${MAGNIFY} (grey = 0)`, adversarial.sub(clean).mul(MAGNIFY).add(0.5)],
      ["ID output", denoised],
    ].map(([label, t]) => ({ label: label as string, set: toImageSet((t as Tensor).narrow(0, 0, k)) })));
    // Small images are enlarged (nearest neighbour) so that a 28- or 32-pixel image is legible.
    const scale = Math.max(1, Math.floor(96 / clean.size(2)));
    const indices = Array.from({ length: k }, (_, i) => i);
    const grid: GridRow[] = [];
    for (const { label, set } of rows) {
      const png = await imageGridPng(set, indices, { columns: k, scale, gap: 2, background: 255 });
      const [, , h, w] = set.shape;
      grid.push({ label, src: `data:image/png;base64,${png.toString("base64")}`, width: k * w * scale + (k + 1) * 2, height: h * scale + 4 });
    }
    return { attack: metadata.attack ?? "unknown attack", eps: parseEps(metadata.eps), rows: grid };
  } finally {
    disposeAll([...tensors.values()]);
  }
}
