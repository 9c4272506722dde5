/**
 * Arrays read from other programs' files (PyTorch storages, NumPy arrays) before they become
 * tensors: raw bytes with a source element type, byte order, shape, strides and offset. Turning one
 * into a Tensor gathers strided views into C order, swaps big-endian bytes and widens the types the
 * engine does not have (float16 and bfloat16 to float32, int8/int16/uint16 to int32, uint32 to
 * int64), exactly: every value of the narrower type is representable in the wider one.
 */
import type { DType } from "./dtype.js";
import { dtypeCode } from "./dtype.js";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Element types found in PyTorch and NumPy files that can be read. */
export type SourceDType = "float64" | "float32" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint64" | "uint32" | "uint16" | "uint8" | "bool";

export const SOURCE_ITEM_SIZE: Record<SourceDType, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1,
};

/** The engine dtype a source dtype is stored as. */
export const TARGET_DTYPE: Record<SourceDType, DType> = {
  float64: "float64", float32: "float32", float16: "float32", bfloat16: "float32", int64: "int64", int32: "int32", int16: "int32", int8: "int32",
  uint64: "int64", uint32: "int64", uint16: "int32", uint8: "uint8", bool: "bool",
};

/** A typed view of raw bytes: a storage (flat) plus how a tensor looks at it. */
export interface HostArray {
  dtype: SourceDType;
  /** Byte order of multi-byte elements. */
  littleEndian: boolean;
  /** The storage's bytes (element 0 at byte 0). */
  bytes: Uint8Array;
  shape: number[];
  /** Strides in elements; C order when omitted. */
  stride?: number[];
  /** Offset of element [0, ..., 0] in elements. */
  offset?: number;
}

/** C-order (row-major) strides of `shape`, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** float16 bits to a number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Copies the array's elements in C order into a fresh buffer of the engine dtype; throws when the
 * view reaches outside its storage (a corrupt file) or a uint64 value does not fit int64.
 */
export function hostArrayBytes(a: HostArray, name: string): { dtype: DType; bytes: Uint8Array } {
  const size = SOURCE_ITEM_SIZE[a.dtype];
  const n = numel(a.shape);
  const stride = a.stride ?? contiguousStrides(a.shape);
  const offset = a.offset ?? 0;
  if (stride.length !== a.shape.length) throw new RangeError(`${name}: ${a.shape.length} dimensions but ${stride.length} strides`);
  if (n > 0) {
    let lo = offset;
    let hi = offset;
    a.shape.forEach((d, i) => (stride[i] >= 0 ? (hi += (d - 1) * stride[i]) : (lo += (d - 1) * stride[i])));
    const avail = Math.floor(a.bytes.byteLength / size);
    if (lo < 0 || hi >= avail) throw new RangeError(`${name}: shape [${a.shape}] with strides [${stride}] at offset ${offset} reaches element ${lo < 0 ? lo : hi}, but its storage holds ${avail} ${a.dtype} elements (truncated or corrupt file)`);
  }
  const dtype = TARGET_DTYPE[a.dtype];
  // Common case (a contiguous little-endian tensor of an engine dtype): one copy of its bytes.
  const dense = contiguousStrides(a.shape).every((s, i) => a.shape[i] === 1 || s === stride[i]);
  if (dense && a.littleEndian && dtype === a.dtype && dtype !== "bool") return { dtype, bytes: a.bytes.slice(offset * size, (offset + n) * size) };
  const outSize = dtype === "float64" || dtype === "int64" ? 8 : dtype === "uint8" || dtype === "bool" ? 1 : 4;
  const out = new Uint8Array(n * outSize);
  const src = new DataView(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  const dst = new DataView(out.buffer);
  const le = a.littleEndian;
  const write = elementWriter(a.dtype, src, dst, le, name);
  // Walk the index space in C order, tracking the source element of each position.
  const dims = a.shape.length;
  const idx = new Array<number>(dims).fill(0);
  let srcEl = offset;
  for (let k = 0; k < n; k++) {
    write(srcEl * size, k * outSize);
    for (let d = dims - 1; d >= 0; d--) {
      idx[d] += 1;
      srcEl += stride[d];
      if (idx[d] < a.shape[d]) break;
      srcEl -= stride[d] * a.shape[d];
      idx[d] = 0;
    }
  }
  return { dtype, bytes: out };
}

function elementWriter(dtype: SourceDType, src: DataView, dst: DataView, le: boolean, name: string): (from: number, to: number) => void {
  switch (dtype) {
    case "float64": return (f, t) => dst.setFloat64(t, src.getFloat64(f, le), true);
    case "float32": return (f, t) => dst.setFloat32(t, src.getFloat32(f, le), true);
    case "float16": return (f, t) => dst.setFloat32(t, halfToFloat(src.getUint16(f, le)), true);
    // bfloat16 is the upper half of a float32.
    case "bfloat16": return (f, t) => dst.setUint32(t, src.getUint16(f, le) << 16, true);
    case "int64": return (f, t) => dst.setBigInt64(t, src.getBigInt64(f, le), true);
    case "uint64": return (f, t) => {
      const v = src.getBigUint64(f, le);
      if (v > 0x7fffffffffffffffn) throw new RangeError(`${name}: uint64 value ${v} does not fit int64`);
      dst.setBigInt64(t, v, true);
    };
    case "int32": return (f, t) => dst.setInt32(t, src.getInt32(f, le), true);
    case "uint32": return (f, t) => dst.setBigInt64(t, BigInt(src.getUint32(f, le)), true);
    case "int16": return (f, t) => dst.setInt32(t, src.getInt16(f, le), true);
    case "uint16": return (f, t) => dst.setInt32(t, src.getUint16(f, le), true);
    case "int8": return (f, t) => dst.setInt32(t, src.getInt8(f), true);
    case "uint8": return (f, t) => dst.setUint8(t, src.getUint8(f));
    case "bool": return (f, t) => dst.setUint8(t, src.getUint8(f) ? 1 : 0);
  }
}

/** A CPU tensor holding the array's values (a copy, contiguous, engine dtype). */
export function hostArrayToTensor(a: HostArray, name: string): Tensor {
  const { dtype, bytes } = hostArrayBytes(a, name);
  return new Tensor(native.fromBuffer(bytes, a.shape, dtypeCode(dtype)));
}
