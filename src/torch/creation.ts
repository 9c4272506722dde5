/**
 * Creating tensors: from typed arrays, filled, ranges, random. Random draws come from the global
 * generator (seeded by {@link manualSeed}) unless an explicit {@link Generator} is given.
 */
import { callRaw, type OpArg } from "./dispatch.js";
import { dtypeCode, dtypeOfArray, type DType, type TypedArray } from "./dtype.js";
import type { Generator } from "./generator.js";
import { native } from "./native.js";
import { checkDevice } from "./runtime.js";
import { op, Tensor, type Device } from "./tensor.js";

/** Options shared by the factory functions. */
export interface TensorOptions {
  /** Element type; default float32 (int64 for integer factories). */
  dtype?: DType;
  /** Device; default "cpu". */
  device?: Device;
}

/** Options of the random factories. */
export interface RandomOptions extends TensorOptions {
  /**
   * The generator to draw from; default the global one. It must live on the device the tensor is
   * made on. Its draws equal the global generator's after `manualSeed(generator.seed)`.
   */
  generator?: Generator;
}

/** The generator argument of a random op: null for the global generator; refuses a generator on another device. */
function generatorArg(generator: Generator | undefined, device: string, what: string): OpArg {
  if (generator === undefined) return null;
  const kind = (d: string) => d.replace(/:.*$/, "");
  if (kind(generator.device) !== kind(device)) {
    throw new TypeError(`${what}: the generator draws on ${generator.device} but the tensor is on ${device}; make the generator on the tensor's device`);
  }
  return generator;
}

function checkShape(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

/**
 * The device a factory creates on, checked first: asking libtorch for a CUDA tensor when it has
 * no CUDA answers with a page-long dispatcher listing instead of one sentence.
 */
function deviceOf(options: TensorOptions): Device {
  return options.device === undefined ? "cpu" : checkDevice(options.device);
}

function placed(t: Tensor, device: Device | undefined): Tensor {
  if (device === undefined || device === "cpu") return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}

/**
 * Copies a typed array into a new tensor of the given shape. The dtype defaults from the array
 * type; "bool" takes a Uint8Array of 0/1.
 */
export function tensor(data: TypedArray | readonly number[], shape?: readonly number[], dtype?: DType | TensorOptions): Tensor {
  const opts: TensorOptions = typeof dtype === "string" ? { dtype } : dtype ?? {};
  deviceOf(opts);
  const array: TypedArray = Array.isArray(data) ? toTyped(data as readonly number[], opts.dtype ?? "float32") : (data as TypedArray);
  const inferred = dtypeOfArray(array);
  const target = opts.dtype ?? inferred;
  const dims = shape ?? [array.length];
  checkShape(dims, "tensor");
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== array.length) {
    throw new RangeError(`tensor: shape [${dims}] holds ${count} elements but the data has ${array.length}`);
  }
  // A typed array converted to a narrower integer dtype is range-checked like a number list.
  if (target !== inferred && !(array instanceof BigInt64Array)) checkIntegers(array, target);
  const storedAs = target === "bool" && inferred === "uint8" ? "bool" : inferred;
  let t = new Tensor(native.fromBuffer(array, dims, dtypeCode(storedAs)));
  if (storedAs !== target) {
    const converted = t.to(target);
    t.dispose();
    t = converted;
  }
  return placed(t, opts.device);
}

/** Inclusive value ranges of the integer dtypes, for JS numbers (int64: the exactly representable ones). */
const INTEGER_RANGE: Partial<Record<DType, readonly [number, number]>> = {
  uint8: [0, 255],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * Throws when a number would not survive conversion to an integer dtype (libtorch and typed
 * arrays silently wrap: 300 as uint8 is 44; numbers beyond 2^53 have already lost digits).
 * Fractions truncate toward zero, as in PyTorch.
 */
function checkIntegers(values: ArrayLike<number>, dtype: DType): void {
  const range = INTEGER_RANGE[dtype];
  if (range === undefined) return;
  const [lo, hi] = range;
  for (let i = 0; i < values.length; i++) {
    const v = Math.trunc(values[i]);
    if (!(v >= lo && v <= hi)) {
      const valid = dtype === "int64" ? `safe integers ${lo} to ${hi} (pass a BigInt64Array for larger values)` : `${lo} to ${hi}`;
      throw new RangeError(`tensor: value ${values[i]} at index ${i} does not fit ${dtype} (valid range: ${valid})`);
    }
  }
}

function toTyped(values: readonly number[], dtype: DType): TypedArray {
  checkIntegers(values, dtype);
  switch (dtype) {
    case "float32": return Float32Array.from(values);
    case "float64": return Float64Array.from(values);
    case "int64": return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case "int32": return Int32Array.from(values);
    case "uint8":
    case "bool": return Uint8Array.from(values);
  }
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, options: TensorOptions = {}): Tensor {
  return tensor([value], [], { dtype: "float32", ...options });
}

function factory(opName: string, shape: readonly number[], extra: readonly OpArg[], options: TensorOptions, defaultDType: DType = "float32"): Tensor {
  checkShape(shape, opName.replace(/^aten::|\..*$/g, ""));
  return op(opName, [shape, ...extra, dtypeCode(options.dtype ?? defaultDType), null, deviceOf(options), null]);
}

export const zeros = (shape: readonly number[], options: TensorOptions = {}): Tensor => factory("aten::zeros", shape, [], options);
export const ones = (shape: readonly number[], options: TensorOptions = {}): Tensor => factory("aten::ones", shape, [], options);
export const empty = (shape: readonly number[], options: TensorOptions = {}): Tensor => factory("aten::empty.memory_format", shape, [], options);
export const full = (shape: readonly number[], value: number, options: TensorOptions = {}): Tensor => factory("aten::full", shape, [value], options);
/** Samples from U[0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  if (options.generator === undefined) return factory("aten::rand", shape, [], options);
  return factory("aten::rand.generator", shape, [generatorArg(options.generator, deviceOf(options), "rand")], options);
}

/** Samples from N(0, 1). */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  if (options.generator === undefined) return factory("aten::randn", shape, [], options);
  return factory("aten::randn.generator", shape, [generatorArg(options.generator, deviceOf(options), "randn")], options);
}

/** Integers drawn uniformly from [low, high). */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape, "randint");
  if (!(high > low)) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  const rest = [dtypeCode(options.dtype ?? "int64"), null, deviceOf(options), null];
  if (options.generator === undefined) return op("aten::randint.low", [low, high, shape, ...rest]);
  return op("aten::randint.low_generator", [low, high, shape, generatorArg(options.generator, deviceOf(options), "randint"), ...rest]);
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`randperm: n must be a non-negative integer, got ${n}`);
  const rest = [dtypeCode(options.dtype ?? "int64"), null, deviceOf(options), null];
  if (options.generator === undefined) return op("aten::randperm", [n, ...rest]);
  return op("aten::randperm.generator", [n, generatorArg(options.generator, deviceOf(options), "randperm"), ...rest]);
}

/**
 * 0/1 samples: with probability `p` (a number, then `shape` is needed) or elementwise
 * probabilities (a tensor; `shape` is ignored and `options.generator` alone is read).
 */
export function bernoulli(p: Tensor | number, shape?: readonly number[], options: RandomOptions = {}): Tensor {
  if (p instanceof Tensor) return op("aten::bernoulli", [p, generatorArg(options.generator, p.device, "bernoulli")]);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli: p must be in [0, 1], got ${p}`);
  if (!shape) throw new TypeError("bernoulli: a shape is needed when p is a number");
  const base = empty(shape, options);
  try {
    return op("aten::bernoulli.p", [base, p, generatorArg(options.generator, base.device, "bernoulli")]);
  } finally {
    base.dispose();
  }
}

/** Values start, start+step, ... below end. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  const integral = [lo, hi, step].every(Number.isInteger);
  return op("aten::arange.start_step", [lo, hi, step, dtypeCode(options.dtype ?? (integral ? "int64" : "float32")), null, deviceOf(options), null]);
}

export const zerosLike = (t: Tensor): Tensor => op("aten::zeros_like", [t]);
export const onesLike = (t: Tensor): Tensor => op("aten::ones_like", [t]);
export const fullLike = (t: Tensor, value: number): Tensor => op("aten::full_like", [t, value]);
/** U[0, 1) samples shaped like `t` (its dtype and device). */
export function randLike(t: Tensor, options: { generator?: Generator } = {}): Tensor {
  if (options.generator === undefined) return op("aten::rand_like", [t]);
  // rand_like is empty_like + uniform_(0, 1); with a generator the same two steps draw from it.
  return filledLike(t, "aten::uniform_", options.generator, "randLike");
}

/** N(0, 1) samples shaped like `t` (its dtype and device). */
export function randnLike(t: Tensor, options: { generator?: Generator } = {}): Tensor {
  if (options.generator === undefined) return op("aten::randn_like", [t]);
  return filledLike(t, "aten::normal_", options.generator, "randnLike");
}

function filledLike(t: Tensor, fill: "aten::uniform_" | "aten::normal_", generator: Generator, what: string): Tensor {
  const gen = generatorArg(generator, t.device, what);
  const out = op("aten::empty_like", [t]);
  try {
    callRaw(fill, [out, 0, 1, gen], true);
  } catch (err) {
    out.dispose();
    throw err;
  }
  return out;
}
export const emptyLike = (t: Tensor): Tensor => op("aten::empty_like", [t]);

/** Joins tensors along an existing dimension. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("cat: expected at least one tensor");
  return op("aten::cat", [tensors, dim]);
}

/** Joins tensors along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: expected at least one tensor");
  return op("aten::stack", [tensors, dim]);
}

/** Elementwise `condition ? a : b`. */
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === "number" && typeof b === "number") return op("aten::where.Scalar", [condition, a, b]);
  if (typeof a === "number") return op("aten::where.ScalarSelf", [condition, a, b]);
  if (typeof b === "number") return op("aten::where.ScalarOther", [condition, a, b]);
  return op("aten::where.self", [condition, a, b]);
}
