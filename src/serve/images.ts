/** Images in and out of the server, through sharp: PNG/JPEG bodies to [C, H, W] floats and back. */
import sharp from "sharp";
import { badRequest } from "./http-error.js";

/**
 * Decodes a PNG or JPEG (or anything sharp reads) to [C, H, W] floats in [0, 1] for a model taking
 * `shape`. Colour or grey is converted to the model's channels; another size is refused, naming
 * both, unless `resize` (then scaled to cover and centre-cropped, as `idfr classify` does).
 */
export async function decodeImage(what: string, body: Buffer, shape: readonly [number, number, number], resize: boolean): Promise<Float32Array> {
  const [c, h, w] = shape;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(body).metadata();
  } catch (err) {
    throw badRequest(`${what}: cannot decode the image (${(err as Error).message}); send a PNG or JPEG file`);
  }
  if (!meta.width || !meta.height) throw badRequest(`${what}: cannot decode the image (no size); send a PNG or JPEG file`);
  if ((meta.width !== w || meta.height !== h) && !resize) {
    throw badRequest(`${what}: the image is ${meta.width}x${meta.height}, the model takes ${w}x${h} (${c === 1 ? "grey" : `${c} channels`}); send an image of that size or add ?resize=1`);
  }
  let pipeline = sharp(body);
  if (resize) pipeline = pipeline.resize(w, h, { fit: "cover" });
  pipeline = pipeline.removeAlpha();
  pipeline = c === 1 ? pipeline.greyscale() : pipeline.toColourspace("srgb");
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw badRequest(`${what}: cannot decode the image (${(err as Error).message}); send a PNG or JPEG file`);
  }
  if (out.info.channels !== c) throw badRequest(`${what}: decoded to ${out.info.channels} channels, the model takes ${c}`);
  const chw = new Float32Array(c * h * w);
  const d = out.data;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) chw[k * h * w + y * w + x] = d[(y * w + x) * c + k] / 255;
  return chw;
}

/** [C, H, W] floats (clamped to [0, 1]) to a PNG. */
export async function encodePng(chw: Float32Array, shape: readonly [number, number, number]): Promise<Buffer> {
  const [c, h, w] = shape;
  const hwc = Buffer.alloc(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    const v = chw[k * h * w + y * w + x];
    hwc[(y * w + x) * c + k] = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
  }
  const image = sharp(hwc, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } });
  return (c === 1 ? image.toColourspace("b-w") : image).png().toBuffer();
}

/** uint8 [C, H, W] pixels to a PNG. */
export async function encodePngBytes(chw: Uint8Array, shape: readonly [number, number, number]): Promise<Buffer> {
  return encodePng(Float32Array.from(chw, (v) => v / 255), shape);
}

/**
 * A difference b − a made visible: grey 0.5 is no change, and the largest change reaches black or
 * white (magnified between 1 and `maxGain` times). Returns the picture and the magnification used.
 */
export function magnifiedDifference(a: Float32Array, b: Float32Array, maxGain = 50): { image: Float32Array; gain: number } {
  let peak = 0;
  for (let i = 0; i < a.length; i++) peak = Math.max(peak, Math.abs(b[i] - a[i]));
  const gain = peak > 0 ? Math.max(1, Math.min(maxGain, 0.5 / peak)) : 1;
  const image = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) image[i] = 0.5 + gain * (b[i] - a[i]);
  return { image, gain };
}
