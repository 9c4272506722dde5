/**
 * safetensors files (the Hugging Face format PyTorch users read with `safetensors.torch`):
 * 8-byte little-endian header length N, N bytes of JSON header, then the raw little-endian tensor
 * bytes. Each header entry is {dtype, shape, data_offsets: [begin, end]} relative to the data
 * section; an optional "__metadata__" maps strings to strings.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../core/atomic-write.js";
import type { DType } from "./dtype.js";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { dtypeCode } from "./dtype.js";
import { assertFinite, recordSource } from "./finite.js";

const TO_FILE: Record<DType, string> = { float32: "F32", float64: "F64", int64: "I64", int32: "I32", uint8: "U8", bool: "BOOL" };
const FROM_FILE = new Map<string, DType>(Object.entries(TO_FILE).map(([k, v]) => [v, k as DType]));
const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** Thrown for files that do not follow the format; names the file and what was wrong. */
export class SafetensorsError extends Error {
  constructor(path: string, detail: string) {
    super(`${path}: not a valid safetensors file: ${detail}`);
    this.name = "SafetensorsError";
  }
}

/** Serialises tensors to safetensors bytes: tensors sorted by name, header padded with spaces to 8 bytes. */
export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array[] {
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") throw new TypeError(`safetensors metadata: value of ${k} must be a string`);
    header.__metadata__ = metadata;
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new TypeError("safetensors: a tensor cannot be named __metadata__");
    const bytes = new Uint8Array(native.toBuffer(t.handle));
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += " ".repeat(pad);
  const head = new Uint8Array(8 + Buffer.byteLength(json));
  new DataView(head.buffer).setBigUint64(0, BigInt(Buffer.byteLength(json)), true);
  head.set(Buffer.from(json, "utf8"), 8);
  return [head, ...blobs];
}

/** Writes tensors to a safetensors file atomically (temp file + rename). */
export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Parses safetensors bytes into CPU tensors, validating the header against the format. */
export function decodeSafetensors(bytes: Uint8Array, path = "<buffer>"): LoadedSafetensors {
  if (bytes.byteLength < 8) throw new SafetensorsError(path, `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.byteLength - 8) throw new SafetensorsError(path, `header length ${headerLen} at byte 0 exceeds the file size ${bytes.byteLength}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString("utf8"));
  } catch (err) {
    throw new SafetensorsError(path, `header (bytes 8..${8 + headerLen}) is not valid JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new SafetensorsError(path, "header is not a JSON object");
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const dtype = FROM_FILE.get(String(e.dtype));
      if (!dtype) throw new SafetensorsError(path, `tensor ${name} has dtype ${JSON.stringify(e.dtype)}; supported: ${[...FROM_FILE.keys()].join(", ")}`);
      const shape = e.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(path, `tensor ${name} has an invalid shape ${JSON.stringify(shape)}`);
      const offs = e.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0) || offs[0] > offs[1]) {
        throw new SafetensorsError(path, `tensor ${name} has invalid data_offsets ${JSON.stringify(offs)}`);
      }
      const [begin, end] = offs as [number, number];
      const expected = (shape as number[]).reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
      if (end - begin !== expected) throw new SafetensorsError(path, `tensor ${name}: shape [${shape}] of ${e.dtype} needs ${expected} bytes, data_offsets give ${end - begin}`);
      if (end > dataLen) throw new SafetensorsError(path, `tensor ${name} ends at data byte ${end} but the data section has ${dataLen} bytes (truncated file?)`);
      spans.push([begin, end, name]);
      const slice = bytes.subarray(dataStart + begin, dataStart + end);
      const t = new Tensor(native.fromBuffer(slice, shape as number[], dtypeCode(dtype)));
      tensors.set(name, t);
      if (path !== "<buffer>") recordSource(t, path);
    }
    spans.sort((a, b) => a[0] - b[0]);
    let cursor = 0;
    for (const [begin, end, name] of spans) {
      if (begin !== cursor) throw new SafetensorsError(path, `tensor ${name} starts at data byte ${begin}, expected ${cursor} (gap or overlap)`);
      cursor = end;
    }
    if (cursor !== dataLen) throw new SafetensorsError(path, `data section has ${dataLen} bytes but the tensors cover ${cursor}`);
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** Throw a NonFiniteWeightsError (naming the tensor and the file) when a tensor holds NaN or Inf. */
  requireFinite?: boolean;
}

/**
 * Loads every tensor of a safetensors file (CPU). Each tensor remembers the file, so that
 * Module.loadStateDict can name it when a weight is not finite.
 */
export function loadSafetensors(path: string, options: LoadSafetensorsOptions = {}): LoadedSafetensors {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new SafetensorsError(path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const loaded = decodeSafetensors(bytes, path);
  if (options.requireFinite) {
    try {
      assertFinite(loaded.tensors, path);
    } catch (err) {
      for (const t of loaded.tensors.values()) t.dispose();
      throw err;
    }
  }
  return loaded;
}
