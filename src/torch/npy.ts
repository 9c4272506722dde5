/**
 * NumPy's `.npy` and `.npz` files, read without Python.
 *
 * A `.npy` file is the magic "\x93NUMPY", a version (1.0: 2-byte header length; 2.0 and 3.0: 4-byte),
 * a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)} padded with spaces,
 * then the raw elements; for `descr: '|O'` (object arrays, `allow_pickle=True`) the payload is a
 * pickle of the whole array. A `.npz` file is a zip of `.npy` files (`np.savez`, stored, or
 * `np.savez_compressed`, deflated). ComDefend's published `.npy` weights are such a zip (named .npy)
 * with one entry `w.npy`: an object array of kernels (HWIO) and biases in layer order.
 */
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import type { HostArray, SourceDType } from "./host-array.js";
import { contiguousStrides, SOURCE_ITEM_SIZE } from "./host-array.js";
import { describe, PY_CLASS, unpickle, type GlobalHandler } from "./pickle.js";
import { flattenTree, flatToTensors, type FlatTree } from "./py-tree.js";
import type { Tensor } from "./tensor.js";
import { isZip, readZip } from "./zip.js";

/** Thrown for NumPy files this reader cannot read; names the file and the reason. */
export class NpyError extends Error {
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = "NpyError";
  }
}

const KINDS: Record<string, SourceDType> = {
  f8: "float64", f4: "float32", f2: "float16", i8: "int64", i4: "int32", i2: "int16", i1: "int8",
  u8: "uint64", u4: "uint32", u2: "uint16", u1: "uint8", b1: "bool",
};

/** A NumPy dtype as read from a header or a pickle: element type and byte order, or "object". */
export class NpDtype {
  littleEndian = true;
  [PY_CLASS] = "numpy.dtype";
  constructor(readonly code: string) {}
  /** Applies numpy.dtype.__setstate__: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]). */
  setState(state: unknown): void {
    if (!Array.isArray(state) || state.length < 8) throw new Error(`numpy.dtype state: expected a tuple of 8 or 9 items, got ${describe(state)}`);
    const [, order, sub, names] = state;
    if (sub !== null || names !== null) throw new Error(`numpy dtype ${this.code}: structured or sub-array dtypes are not supported`);
    if (order === ">") this.littleEndian = false;
    else if (order === "=") this.littleEndian = NATIVE_LITTLE;
  }
  get isObject(): boolean {
    return this.code.startsWith("O");
  }
  source(): SourceDType {
    const t = KINDS[this.code];
    if (!t) throw new Error(`numpy dtype ${JSON.stringify(this.code)} is not supported (supported: ${Object.keys(KINDS).join(", ")} and object arrays)`);
    return t;
  }
}

const NATIVE_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses a descr such as "<f4", ">i8", "|u1", "|O", "<f2" (also "=f4"). */
function parseDescr(descr: string): NpDtype {
  const m = /^([<>|=]?)([a-zA-Z]\d*)$/.exec(descr);
  if (!m) throw new Error(`numpy dtype ${JSON.stringify(descr)} is not supported (structured dtypes are not)`);
  const d = new NpDtype(m[2] === "O" ? "O8" : m[2] === "?" ? "b1" : m[2]);
  d.littleEndian = m[1] === ">" ? false : m[1] === "=" ? NATIVE_LITTLE : true;
  return d;
}

/** A NumPy array: numeric bytes, or (object dtype) a flat list of Python values in C order. */
export class NdArray {
  shape: number[] = [];
  dtype = new NpDtype("f8");
  fortran = false;
  bytes: Uint8Array = new Uint8Array(0);
  objects: unknown[] | undefined;
  [PY_CLASS] = "numpy.ndarray";

  /** numpy.ndarray.__setstate__: (version, shape, dtype, is_fortran, data) or without the version. */
  setState(state: unknown): void {
    if (!Array.isArray(state) || (state.length !== 4 && state.length !== 5)) throw new Error(`numpy.ndarray state: expected a tuple of 4 or 5 items, got ${describe(state)}`);
    const [shape, dtype, fortran, data] = state.length === 5 ? state.slice(1) : state;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`numpy.ndarray state: invalid shape ${describe(shape)}`);
    if (!(dtype instanceof NpDtype)) throw new Error(`numpy.ndarray state: expected a numpy.dtype, got ${describe(dtype)}`);
    this.shape = shape as number[];
    this.dtype = dtype;
    this.fortran = fortran === true;
    if (dtype.isObject) {
      if (!Array.isArray(data)) throw new Error(`numpy object array: expected a list of objects, got ${describe(data)}`);
      this.objects = data;
    } else if (data instanceof Uint8Array) this.bytes = data;
    else if (typeof data === "string") this.bytes = new Uint8Array(Buffer.from(data, "latin1"));
    else throw new Error(`numpy.ndarray state: expected bytes of data, got ${describe(data)}`);
  }

  hostArray(name: string): HostArray {
    if (this.objects) throw new Error(`${name}: a NumPy object array holds Python objects, not numbers`);
    const stride = this.fortran ? contiguousStrides([...this.shape].reverse()).reverse() : undefined;
    const dtype = this.dtype.source();
    const need = this.shape.reduce((a, b) => a * b, 1) * SOURCE_ITEM_SIZE[dtype];
    if (this.bytes.byteLength < need) throw new Error(`${name}: shape [${this.shape}] of ${this.dtype.code} needs ${need} bytes, the file has ${this.bytes.byteLength} (truncated?)`);
    return { dtype, littleEndian: this.dtype.littleEndian, bytes: this.bytes, shape: this.shape, stride };
  }
}

/**
 * The NumPy globals pickles of arrays use, for the unpickler's allow-list. Also used by the PyTorch
 * reader, since checkpoints may hold NumPy arrays.
 */
export const NUMPY_GLOBALS: ReadonlyMap<string, GlobalHandler> = (() => {
  const reconstruct: GlobalHandler = { call: () => new NdArray() };
  const ndarray: GlobalHandler = {
    call: () => { throw new Error("numpy.ndarray is only read as the type argument of _reconstruct"); },
    setState: (obj, state) => (obj as NdArray).setState(state),
  };
  const dtype: GlobalHandler = {
    call: (args) => {
      if (typeof args[0] !== "string") throw new Error(`numpy.dtype: expected a type code, got ${describe(args[0])}`);
      return new NpDtype(args[0]);
    },
    setState: (obj, state) => (obj as NpDtype).setState(state),
  };
  // numpy scalars (np.float32(1.5) in a checkpoint): scalar(dtype, bytes) -> the number.
  const scalar: GlobalHandler = {
    call: ([d, data]) => {
      if (!(d instanceof NpDtype)) throw new Error(`numpy scalar: expected a dtype, got ${describe(d)}`);
      const a = new NdArray();
      a.setState([[], d, false, data]);
      return a;
    },
  };
  // Protocol-2 pickles made by Python 3 write bytes as _codecs.encode(latin1 text, "latin1").
  const encode: GlobalHandler = {
    call: ([text, encoding]) => {
      if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1")) throw new Error(`_codecs.encode: only (str, "latin1") is supported, got (${describe(text)}, ${JSON.stringify(encoding)})`);
      return new Uint8Array(Buffer.from(text, "latin1"));
    },
  };
  const m = new Map<string, GlobalHandler>();
  for (const core of ["numpy.core.multiarray", "numpy._core.multiarray"]) {
    m.set(`${core}._reconstruct`, reconstruct);
    m.set(`${core}.scalar`, scalar);
  }
  m.set("numpy.ndarray", ndarray);
  m.set("numpy.dtype", dtype);
  m.set("_codecs.encode", encode);
  return m;
})();

/** Reads the Python-literal header dict of a .npy file. */
function parseHeader(text: string, path: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(text)) throw new NpyError(path, "structured arrays (a list descr) are not supported");
    throw new NpyError(path, `header has no 'descr': ${text.trim()}`);
  }
  if (fortran === undefined || shape === undefined) throw new NpyError(path, `header lacks 'fortran_order' or 'shape': ${text.trim()}`);
  const dims = shape.split(",").map((s) => s.trim()).filter((s) => s.length).map((s) => Number(s.replace(/L$/, "")));
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) throw new NpyError(path, `header has an invalid shape (${shape})`);
  return { descr, fortran: fortran === "True", shape: dims };
}

/** One value of a NumPy file: an array, or for object arrays the Python values they hold. */
export type NpyValue = NdArray | unknown[];

/** Parses the bytes of a .npy file; object arrays are unpickled (safely) into their elements. */
export function parseNpy(bytes: Uint8Array, path = "<buffer>"): NdArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) {
    throw new NpyError(path, isZip(bytes) ? "is a zip (.npz): read it with readNpz" : "not a .npy file (no \\x93NUMPY magic)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major < 1 || major > 3) throw new NpyError(path, `.npy format version ${major}.${bytes[7]} is not supported (1.0 to 3.0)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw new NpyError(path, `header of ${headerLen} bytes runs past the end of the file (truncated)`);
  const header = parseHeader(Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? "utf8" : "latin1"), path);
  const payload = bytes.subarray(start + headerLen);
  let dtype: NpDtype;
  try {
    dtype = parseDescr(header.descr);
  } catch (err) {
    throw new NpyError(path, (err as Error).message);
  }
  if (dtype.isObject) {
    let value: unknown;
    try {
      value = unpickle(payload, { globals: NUMPY_GLOBALS }).value;
    } catch (err) {
      throw new NpyError(path, `object array: ${(err as Error).message}`);
    }
    if (!(value instanceof NdArray)) throw new NpyError(path, `object array pickle holds a ${describe(value)}, not an array`);
    return value;
  }
  const a = new NdArray();
  a.shape = header.shape;
  a.dtype = dtype;
  a.fortran = header.fortran;
  a.bytes = payload;
  try {
    a.hostArray(path); // checks the dtype and the size now
  } catch (err) {
    throw new NpyError(path, (err as Error).message.replace(`${path}: `, ""));
  }
  return a;
}

const load = (source: string | Uint8Array): [Uint8Array, string] => (typeof source === "string" ? [readFileSync(source), source] : [source, "<buffer>"]);

/** Reads a .npy file (path or bytes) into an {@link NdArray}. */
export function readNpy(source: string | Uint8Array): NdArray {
  const [bytes, path] = load(source);
  return parseNpy(bytes, path);
}

/** Reads a .npz file (path or bytes): each member array by name, without the ".npy" suffix. */
export function readNpz(source: string | Uint8Array): Map<string, NdArray> {
  const [bytes, path] = load(source);
  const out = new Map<string, NdArray>();
  for (const [name, data] of readZip(bytes, path)) {
    if (name.endsWith("/")) continue;
    out.set(name.replace(/\.npy$/, ""), parseNpy(data, `${path}:${name}`));
  }
  return out;
}

/** An object array's elements as a tree (lists of arrays), numeric arrays as themselves. */
function asTree(a: NdArray): unknown {
  if (!a.objects) return a;
  if (a.shape.length > 1) throw new Error(`object arrays of more than one dimension (shape [${a.shape}]) are not supported`);
  return a.objects.map((x) => (x instanceof NdArray ? asTree(x) : x));
}

/**
 * Every array in a NumPy file (.npy or .npz, told apart by their bytes, so ComDefend's zipped
 * `.npy` works), flattened to dotted names: an .npz member `w` holding an object array of 18 arrays
 * gives "w.0" ... "w.17"; a plain .npy gives one array named after the file's stem; an object .npy
 * gives "0", "1", ...
 */
export function readNumpyTree(path: string): FlatTree {
  const bytes = readFileSync(path);
  if (isZip(bytes)) {
    const tree = new Map<string, unknown>();
    for (const [name, a] of readNpz(bytes)) tree.set(name, asTree(a));
    return flattenTree(tree);
  }
  const a = parseNpy(bytes, path);
  return a.objects ? flattenTree(asTree(a)) : flattenTree(new Map([[basename(path, extname(path)), a]]));
}

/** {@link readNumpyTree} as CPU tensors (float16 widened to float32, see host-array.ts). */
export function readNumpyTensors(path: string): Map<string, Tensor> {
  return flatToTensors(readNumpyTree(path));
}
