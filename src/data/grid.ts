import sharp from "sharp";
import { imageSize, type ImageSet } from "./types.js";

/** Options of {@link imageGrid}. */
export interface GridOptions {
  /** Columns (default ceil(sqrt(n))). */
  columns?: number;
  /** Each image is enlarged by this integer factor, nearest neighbour (default 1). */
  scale?: number;
  /** Pixels between and around images (default 2). */
  gap?: number;
  /** Grey level of the gaps (default 128). */
  background?: number;
}

/** The largest side of a grid image, in pixels: within it a grid stays under sharp's input limit of 16383 x 16383 pixels. */
export const MAX_GRID_SIDE = 16383;

/** Width and height in pixels of a grid of `n` images of `h` x `w` pixels (see {@link GridOptions}). */
export function gridSize(n: number, [h, w]: readonly [number, number], options: GridOptions = {}): { width: number; height: number; columns: number; rows: number } {
  const columns = options.columns ?? Math.ceil(Math.sqrt(n));
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 2;
  for (const [k, v] of Object.entries({ columns, scale })) {
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`${k}: expected a positive integer, got ${v}`);
  }
  const rows = Math.ceil(n / columns);
  return { width: columns * w * scale + (columns + 1) * gap, height: rows * h * scale + (rows + 1) * gap, columns, rows };
}

/** A grid of the images at `indices` as interleaved RGB bytes (grey images are repeated on R, G, B). */
export function imageGrid(set: ImageSet, indices: ArrayLike<number>, options: GridOptions = {}): { data: Uint8Array; width: number; height: number } {
  const n = indices.length;
  if (n < 1) throw new RangeError("imageGrid: expected at least one image");
  const [, c, h, w] = set.shape;
  if (c !== 1 && c !== 3) throw new RangeError(`imageGrid: expected 1 or 3 channels, got ${c}`);
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 2;
  const { width, height, columns } = gridSize(n, [h, w], options);
  if (width > MAX_GRID_SIDE || height > MAX_GRID_SIDE) {
    throw new RangeError(`imageGrid: ${n} images of ${h}x${w} at scale ${scale} make a ${width}x${height} grid; at most ${MAX_GRID_SIDE} pixels per side`);
  }
  const cw = w * scale;
  const ch = h * scale;
  const data = new Uint8Array(width * height * 3).fill(options.background ?? 128);
  const size = imageSize(set.shape);
  const plane = h * w;
  for (let k = 0; k < n; k++) {
    const base = indices[k] * size;
    const left = gap + (k % columns) * (cw + gap);
    const top = gap + Math.floor(k / columns) * (ch + gap);
    for (let y = 0; y < ch; y++) {
      const sy = Math.floor(y / scale);
      for (let x = 0; x < cw; x++) {
        const sx = Math.floor(x / scale);
        const o = ((top + y) * width + left + x) * 3;
        for (let ch3 = 0; ch3 < 3; ch3++) data[o + ch3] = set.images[base + (c === 1 ? 0 : ch3 * plane) + sy * w + sx];
      }
    }
  }
  return { data, width, height };
}

/** {@link imageGrid} encoded as PNG. */
export async function imageGridPng(set: ImageSet, indices: ArrayLike<number>, options: GridOptions = {}): Promise<Buffer> {
  const { data, width, height } = imageGrid(set, indices, options);
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
