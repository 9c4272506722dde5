/** `idfr classify --defense DIR img.png ...`: predictions with and without the defense. */
import { basename, extname, join } from "node:path";
import type { Command } from "commander";
import sharp from "sharp";
import type { DeviceName } from "../core/context.js";
import { ensureDir } from "../core/fs.js";
import { loadDefense, type IdfrDefense } from "../defenses/idfr/index.js";
import { topClasses } from "../eval/measure.js";
import type { Classifier } from "../models/classifier.js";
import { loadClassifier } from "../models/io.js";
import { tensor, tidy, type Tensor } from "../torch/index.js";
import { addRunOptions, moveToDevice } from "./context.js";

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

/**
 * Output file names for `--save-denoised`: each image's name with ".denoised.png"; names that
 * would collide (a/x.png and b/x.png, or x.png and x.jpg) get their position in the list, from 1.
 */
export function denoisedNames(files: readonly string[]): string[] {
  const stems = files.map((f) => basename(f, extname(f)));
  const seen = new Map<string, number>();
  for (const s of stems) seen.set(s.toLowerCase(), (seen.get(s.toLowerCase()) ?? 0) + 1);
  return stems.map((s, i) => (seen.get(s.toLowerCase())! > 1 ? `${s}-${i + 1}.denoised.png` : `${s}.denoised.png`));
}

/** Loads the defense (and the target given by --target); errors name the option. */
function loadDefenseOptions(o: { defense: string; target?: string }): IdfrDefense {
  let target: Classifier | undefined;
  if (o.target) {
    try {
      target = loadClassifier(o.target);
    } catch (err) {
      throw new Error(`--target ${o.target}: ${(err as Error).message}`);
    }
  }
  try {
    return loadDefense(o.defense, target);
  } catch (err) {
    throw new Error(`--defense ${o.defense}: ${(err as Error).message}`);
  }
}

interface ClassifyFlags {
  defense: string;
  target?: string;
  saveDenoised?: string;
  device: DeviceName;
}

/** Adds `idfr classify` to `program`; it prints through `out` (standard output by default). */
export function registerClassifyCommand(program: Command, out: { write(text: string): unknown } = process.stdout): Command {
  const command = program
    .command("classify")
    .description("classify PNG/JPEG images with and without an IDFR defense")
    .requiredOption("--defense <dir>", "defense folder (from idfr defend)")
    .option("--target <dir>", "target model folder (default: the one recorded in defense.json)")
    .option("--save-denoised <dir>", "write the ID's output for each image as PNG into this folder")
    .argument("<images...>", "image files");
  return addRunOptions(command).action(async (images: string[], o: ClassifyFlags) => {
    if (o.saveDenoised) ensureDir(o.saveDenoised, "--save-denoised"); // before the work, not after it
    const defense = loadDefenseOptions(o);
    const target = moveToDevice(defense.target, o.device);
    if (o.device !== "cpu") {
      defense.denoiser.to(o.device);
      defense.restorer?.to(o.device);
    }
    const classes = (target as { info?: { classes?: string[] } }).info?.classes ?? [];
    const name = (k: number) => classes[k] ?? String(k);
    const inputs = await Promise.all(images.map((f) => readImageAsInput(f, target.inputShape)));
    const x = tidy(() => tensor(Float32Array.from(inputs.flatMap((a) => Array.from(a))), [images.length, ...target.inputShape]).to(o.device));
    try {
      const plain = topClasses((b) => target.eval().forward(b), x);
      const defended = topClasses((b) => defense.logits(b), x);
      images.forEach((file, i) => {
        const [p, d] = [plain[i], defended[i]];
        out.write(`${file}: undefended ${name(p.index)} (${(100 * p.probability).toFixed(1)} %), ${defense.name} ${name(d.index)} (${(100 * d.probability).toFixed(1)} %)\n`);
      });
      if (o.saveDenoised) {
        const names = denoisedNames(images);
        const denoised = tidy(() => defense.purify(x).to("cpu"));
        try {
          for (let i = 0; i < images.length; i++) {
            const file = join(o.saveDenoised, names[i]);
            const img = denoised.select(0, i);
            await writeImagePng(file, img);
            img.dispose();
            out.write(`wrote ${file}\n`);
          }
        } finally {
          denoised.dispose();
        }
      }
    } finally {
      x.dispose();
    }
  });
}
