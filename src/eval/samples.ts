/**
 * samples.safetensors for the report's image grids: a few test images, their AEs from the first
 * white-box (else transfer) attack at the largest radius, and the ID's output on those AEs.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanFloats } from "../data/tensors.js";
import { imageSize } from "../data/types.js";
import { defenseEntry } from "../defenses/registry.js";
import { saveSafetensors, tensor, tidy } from "../torch/index.js";
import { ArtifactCache, specHash } from "./cache.js";
import type { ExperimentConfig } from "./config.js";
import type { ExperimentData } from "./experiment-data.js";
import type { Materializer } from "./materialize.js";
import type { Cell } from "./runner.js";

export async function writeSamples(cache: ArtifactCache, config: ExperimentConfig, cells: Cell[], outDir: string, data: ExperimentData, make: Materializer): Promise<void> {
  const path = join(outDir, "samples.safetensors");
  const maxEps = Math.max(...config.eps);
  const pick = cells.find((c) => c.ae?.threat === "whitebox" && c.ae.eps === maxEps && c.targetIndex === 0)
    ?? cells.find((c) => c.ae?.threat === "transfer" && c.ae.eps === maxEps && c.targetIndex === 0);
  // The first IDFR-family defense: its purify() is the denoiser whose output the grid shows.
  const idName = config.defenses.find((d) => defenseEntry(d).group === "idfr");
  if (!pick || !idName) return;
  const key = specHash({ samples: pick.ae!.key, idName });
  if (existsSync(path) && cache.readCell<{ key: string }>(`samples-${key}`)) return;
  const set = data.evalSet;
  const k = Math.min(8, set.shape[0]);
  const size = imageSize(set.shape);
  const idx = Array.from({ length: k }, (_, i) => Math.floor((i * set.shape[0]) / k));
  const { data: aes } = await make.aes(pick);
  const adv = new Float32Array(k * size);
  idx.forEach((i, r) => adv.set(aes.subarray(i * size, (i + 1) * size), r * size));
  const defense = await make.defense(idName, 0);
  const device = make.ctx.device;
  tidy(() => {
    const shape = [k, ...set.shape.slice(1)];
    const adversarial = tensor(adv, shape);
    const denoised = defense.purify(device === "cpu" ? adversarial : adversarial.to(device)).to("cpu");
    saveSafetensors(path, { clean: tensor(cleanFloats(set, idx), shape), adversarial, denoised },
      { attack: pick.ae!.attack, eps: String(pick.ae!.eps), threat: pick.ae!.threat });
  });
  cache.writeCell(`samples-${key}`, { key });
}
