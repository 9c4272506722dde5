/** `idfr classify --defense DIR img.png ...`: predictions with and without the defense. */
import { mkdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import type { Command } from "commander";
import sharp from "sharp";
import { loadDefense } from "../defenses/idfr/index.js";
import { loadClassifier } from "../models/io.js";
import { noGrad, tensor, tidy, F, type Tensor } from "../torch/index.js";

/** Decodes an image file to [C, H, W] floats in [0, 1]: resized (cover) and centre-cropped to H x W. */
export async function readImageAsInput(file: string, [c, h, w]: readonly [number, number, number]): Promise<Float32Array> {
  let pipeline = sharp(file).rotate().resize(w, h, { fit: "cover" }).removeAlpha();
  pipeline = c === 1 ? pipeline.greyscale() : pipeline.toColourspace("srgb");
  let data: Buffer;
  let channels: number;
  try {
    const out = await pipeline.raw().toBuffer({ resolveWithObject: true });
    data = out.data;
    channels = out.info.channels;
  } catch (err) {
    throw new Error(`${file}: cannot decode image (${(err as Error).message}); expected a PNG or JPEG file`);
  }
  if (channels !== c) throw new Error(`${file}: decoded to ${channels} channels, the model takes ${c}`);
  const chw = new Float32Array(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) chw[k * h * w + y * w + x] = data[(y * w + x) * c + k] / 255;
  return chw;
}

/** Encodes a [C, H, W] tensor in [0, 1] as a PNG file. */
export async function writeImagePng(file: string, image: Tensor): Promise<void> {
  const [c, h, w] = image.shape;
  const hwc = tidy(() => image.clamp(0, 1).mul(255).round().to("uint8").permute([1, 2, 0]).contiguous().toTypedArray() as Uint8Array);
  await sharp(Buffer.from(hwc), { raw: { width: w, height: h, channels: c as 1 | 3 } }).png().toFile(file);
}

export function registerClassifyCommand(program: Command): void {
  program
    .command("classify")
    .description("classify PNG/JPEG images with and without an IDFR defense")
    .requiredOption("--defense <dir>", "defense folder (from idfr defend)")
    .option("--target <dir>", "target model folder (default: the one recorded in defense.json)")
    .option("--save-denoised <dir>", "write the ID's output for each image as PNG into this folder")
    .argument("<images...>", "image files")
    .action(async (images: string[], o: { defense: string; target?: string; saveDenoised?: string }) => {
      const defense = loadDefense(o.defense, o.target ? loadClassifier(o.target) : undefined);
      const target = defense.target;
      const classes = (target as { info?: { classes?: string[] } }).info?.classes ?? [];
      const name = (k: number) => classes[k] ?? String(k);
      const inputs = await Promise.all(images.map((f) => readImageAsInput(f, target.inputShape)));
      const x = tensor(Float32Array.from(inputs.flatMap((a) => Array.from(a))), [images.length, ...target.inputShape]);
      const rows = tidy(() => noGrad(() => {
        const plain = F.softmax(target.eval().forward(x), 1);
        const defended = F.softmax(defense.logits(x), 1);
        return images.map((_, i) => {
          const p = plain.select(0, i);
          const d = defended.select(0, i);
          const pk = p.argmax().item();
          const dk = d.argmax().item();
          return { pk, pp: p.select(0, pk).item(), dk, dp: d.select(0, dk).item() };
        });
      }));
      images.forEach((file, i) => {
        const r = rows[i];
        console.log(`${file}: undefended ${name(r.pk)} (${(100 * r.pp).toFixed(1)} %), ${defense.name} ${name(r.dk)} (${(100 * r.dp).toFixed(1)} %)`);
      });
      if (o.saveDenoised) {
        mkdirSync(o.saveDenoised, { recursive: true });
        const denoised = defense.purify(x);
        for (let i = 0; i < images.length; i++) {
          const out = join(o.saveDenoised, `${basename(images[i], extname(images[i]))}.denoised.png`);
          const img = denoised.select(0, i);
          await writeImagePng(out, img);
          img.dispose();
          console.log(`wrote ${out}`);
        }
        denoised.dispose();
      }
      x.dispose();
    });
}
