/**
 * The Tensor class: a handle to a libtorch tensor with typed methods. Every method is a thin call
 * to one ATen operator through {@link callRaw}; shapes, dtypes and broadcasting follow PyTorch.
 */
import { callRaw, type OpArg } from "./dispatch.js";
import { dtypeCode, dtypeName, viewBytes, type DType, type TypedArray } from "./dtype.js";
import { native, type NativeResult, type TensorHandle } from "./native.js";
import type { Generator } from "./generator.js";
import { track } from "./scope.js";

/** A device name: "cpu", "cuda" or "cuda:N". */
export type Device = string;
/** A right-hand operand: another tensor or a number broadcast as a scalar. */
export type Operand = Tensor | number;

/** PyTorch's loss reduction codes. */
export const Reduction = { none: 0, mean: 1, sum: 2 } as const;
export type ReductionName = keyof typeof Reduction;

export class Tensor implements Disposable {
  #handle: TensorHandle | null;
  #meta: [number, string, boolean, ...number[]] | null = null;

  /** Wraps a native handle; used by the engine, not by users. */
  constructor(handle: TensorHandle) {
    this.#handle = handle;
    track(this);
  }

  /** The native handle; throws when the tensor has been disposed. */
  get handle(): TensorHandle {
    if (this.#handle === null) throw new Error("tensor has been disposed (it was freed by dispose() or by the tidy() scope that created it)");
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Frees the native tensor now; later use throws. Safe to call twice. */
  dispose(): void {
    if (this.#handle !== null) {
      native.dispose(this.#handle);
      this.#handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #info(): [number, string, boolean, ...number[]] {
    return (this.#meta ??= native.meta(this.handle));
  }

  get shape(): number[] {
    return this.#info().slice(3) as number[];
  }
  get ndim(): number {
    return this.#info().length - 3;
  }
  get dtype(): DType {
    return dtypeName(this.#info()[0]);
  }
  get device(): Device {
    return this.#info()[1];
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Size of one dimension; negative dims count from the end. */
  size(dim: number): number {
    const shape = this.shape;
    const d = dim < 0 ? shape.length + dim : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`size: dim ${dim} out of range for a ${shape.length}-d tensor`);
    return shape[d];
  }

  // ---- autograd ------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.meta(this.handle)[2];
  }
  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this.handle, value);
  }
  /** Sets requiresGrad and returns this tensor (PyTorch's `requires_grad_`). */
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.handle, value);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient, or null. Each read returns a new handle to the same storage. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value === null ? null : value.handle);
  }
  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, retainGraph = false): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, retainGraph);
  }
  /** A tensor sharing storage, cut from the autograd graph. */
  detach(): Tensor {
    return op("aten::detach", [this]);
  }

  // ---- data ----------------------------------------------------------------------------------

  /** The elements, row-major, copied to a typed array (bool as 0/1 bytes). */
  toTypedArray(): TypedArray {
    return viewBytes(native.toBuffer(this.handle), this.dtype);
  }
  /** The elements as plain numbers (int64 converted with Number()). */
  toArray(): number[] {
    const data = this.toTypedArray();
    return data instanceof BigInt64Array ? Array.from(data, Number) : Array.from(data as ArrayLike<number>);
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new RangeError(`item: expected a tensor with one element, got shape [${this.shape}]`);
    return this.toArray()[0];
  }

  // ---- conversion ----------------------------------------------------------------------------

  /** Converts to another dtype or device (a copy only when needed). */
  to(target: DType | Device): Tensor {
    if (isDType(target)) return op("aten::to.dtype", [this, dtypeCode(target)]);
    if (!/^(cpu|cuda(:\d+)?)$/.test(target)) {
      throw new TypeError(`to: expected a dtype (float32, float64, int64, int32, uint8, bool) or a device ("cpu", "cuda", "cuda:N"), got ${JSON.stringify(target)}`);
    }
    return op("aten::to.device", [this, target, dtypeCode(this.dtype)]);
  }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  long(): Tensor { return this.to("int64"); }
  int(): Tensor { return this.to("int32"); }
  bool(): Tensor { return this.to("bool"); }
  cpu(): Tensor { return this.to("cpu"); }
  clone(): Tensor { return op("aten::clone", [this]); }
  contiguous(): Tensor { return op("aten::contiguous", [this]); }

  // ---- shape ---------------------------------------------------------------------------------

  reshape(shape: readonly number[]): Tensor { return op("aten::reshape", [this, shape]); }
  view(shape: readonly number[]): Tensor { return op("aten::view", [this, shape]); }
  flatten(startDim = 0, endDim = -1): Tensor { return op("aten::flatten.using_ints", [this, startDim, endDim]); }
  squeeze(dim?: number): Tensor { return dim === undefined ? op("aten::squeeze", [this]) : op("aten::squeeze.dim", [this, dim]); }
  unsqueeze(dim: number): Tensor { return op("aten::unsqueeze", [this, dim]); }
  permute(dims: readonly number[]): Tensor { return op("aten::permute", [this, dims]); }
  transpose(dim0: number, dim1: number): Tensor { return op("aten::transpose.int", [this, dim0, dim1]); }
  /** Transpose of a 2-d tensor. */
  t(): Tensor { return op("aten::t", [this]); }
  expand(shape: readonly number[]): Tensor { return op("aten::expand", [this, shape]); }
  expandAs(other: Tensor): Tensor { return this.expand(other.shape); }
  flip(dims: readonly number[]): Tensor { return op("aten::flip", [this, dims]); }
  repeat(repeats: readonly number[]): Tensor { return op("aten::repeat", [this, repeats]); }

  // ---- indexing ------------------------------------------------------------------------------

  /** Elements start..end (exclusive) with a step along `dim`, as a view; negative bounds count from the end. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return op("aten::slice.Tensor", [this, dim, start ?? null, end ?? null, step]);
  }
  /** Index `index` along `dim`, removing that dimension (a view). */
  select(dim: number, index: number): Tensor { return op("aten::select.int", [this, dim, index]); }
  narrow(dim: number, start: number, length: number): Tensor { return op("aten::narrow", [this, dim, start, length]); }
  /** Sliding windows of `size` with `step` along `dim`, as a new last dimension (a view). */
  unfold(dim: number, size: number, step: number): Tensor { return op("aten::unfold", [this, dim, size, step]); }
  /** Rows (along `dim`) picked by an int64 index tensor. */
  indexSelect(dim: number, index: Tensor): Tensor { return op("aten::index_select", [this, dim, index]); }
  /** A copy with rows `index` along `dim` replaced by those of `source` (out of place). */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor { return op("aten::index_copy", [this, dim, index, source]); }
  /** Advanced indexing: `x[i0, i1, ...]` with int64/bool index tensors (null keeps a dimension whole). */
  index(indices: readonly (Tensor | null)[]): Tensor { return op("aten::index.Tensor", [this, indices]); }
  /** In-place `x[indices] = values`. */
  indexPut_(indices: readonly (Tensor | null)[], values: Tensor, accumulate = false): this {
    return inplace(this, "aten::index_put_", [this, indices, values, accumulate]);
  }
  gather(dim: number, index: Tensor): Tensor { return op("aten::gather", [this, dim, index]); }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor { return op("aten::scatter.src", [this, dim, index, src]); }
  maskedFill(mask: Tensor, value: number): Tensor { return op("aten::masked_fill.Scalar", [this, mask, value]); }

  // ---- arithmetic ----------------------------------------------------------------------------

  /** this + alpha * other */
  add(other: Operand, alpha = 1): Tensor { return binary("aten::add", this, other, [alpha]); }
  /** this - alpha * other */
  sub(other: Operand, alpha = 1): Tensor { return binary("aten::sub", this, other, [alpha]); }
  mul(other: Operand): Tensor { return binary("aten::mul", this, other); }
  div(other: Operand): Tensor { return binary("aten::div", this, other); }
  /** other - this (for numbers: `1 - x` is `x.rsub(1)`). */
  rsub(other: number): Tensor { return op("aten::rsub.Scalar", [this, other]); }
  neg(): Tensor { return op("aten::neg", [this]); }
  pow(exponent: Operand): Tensor {
    return typeof exponent === "number" ? op("aten::pow.Tensor_Scalar", [this, exponent]) : op("aten::pow.Tensor_Tensor", [this, exponent]);
  }
  square(): Tensor { return op("aten::square", [this]); }
  sqrt(): Tensor { return op("aten::sqrt", [this]); }
  rsqrt(): Tensor { return op("aten::rsqrt", [this]); }
  exp(): Tensor { return op("aten::exp", [this]); }
  log(): Tensor { return op("aten::log", [this]); }
  abs(): Tensor { return op("aten::abs", [this]); }
  sign(): Tensor { return op("aten::sign", [this]); }
  floor(): Tensor { return op("aten::floor", [this]); }
  /** Python-style modulo (the result has the sign of the divisor). */
  remainder(other: Operand): Tensor { return typeof other === "number" ? op("aten::remainder.Scalar", [this, other]) : op("aten::remainder.Tensor", [this, other]); }
  round(): Tensor { return op("aten::round", [this]); }
  reciprocal(): Tensor { return op("aten::reciprocal", [this]); }
  tanh(): Tensor { return op("aten::tanh", [this]); }
  atanh(): Tensor { return op("aten::atanh", [this]); }
  sigmoid(): Tensor { return op("aten::sigmoid", [this]); }
  relu(): Tensor { return op("aten::relu", [this]); }
  /** Clamps into [min, max]; either bound may be omitted (null) or be a tensor. */
  clamp(min: Operand | null, max: Operand | null = null): Tensor {
    if (min instanceof Tensor || max instanceof Tensor) {
      return op("aten::clamp.Tensor", [this, asTensorOrNull(min, this), asTensorOrNull(max, this)]);
    }
    return op("aten::clamp", [this, min, max]);
  }
  maximum(other: Tensor): Tensor { return op("aten::maximum", [this, other]); }
  minimum(other: Tensor): Tensor { return op("aten::minimum", [this, other]); }
  matmul(other: Tensor): Tensor { return op("aten::matmul", [this, other]); }

  // ---- in place (for optimizers and buffers; they bump the autograd version counter) ---------

  add_(other: Operand, alpha = 1): this { return inplaceBinary(this, "aten::add_", other, [alpha]); }
  sub_(other: Operand, alpha = 1): this { return inplaceBinary(this, "aten::sub_", other, [alpha]); }
  mul_(other: Operand): this { return inplaceBinary(this, "aten::mul_", other); }
  div_(other: Operand): this { return inplaceBinary(this, "aten::div_", other); }
  /** this += value * a * b */
  addcmul_(a: Tensor, b: Tensor, value = 1): this { return inplace(this, "aten::addcmul_", [this, a, b, value]); }
  /** this += value * a / b */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this { return inplace(this, "aten::addcdiv_", [this, a, b, value]); }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this { return inplace(this, "aten::lerp_.Scalar", [this, end, weight]); }
  sqrt_(): this { return inplace(this, "aten::sqrt_", [this]); }
  clamp_(min: number | null, max: number | null = null): this { return inplace(this, "aten::clamp_", [this, min, max]); }
  copy_(src: Tensor): this { return inplace(this, "aten::copy_", [this, src]); }
  zero_(): this { return inplace(this, "aten::zero_", [this]); }
  fill_(value: number): this { return inplace(this, "aten::fill_.Scalar", [this, value]); }
  /** Fills with U(from, to) samples from `generator` (on this tensor's device), default the global one. */
  uniform_(from = 0, to = 1, generator?: Generator): this { return inplace(this, "aten::uniform_", [this, from, to, generator ?? null]); }
  /** Fills with N(mean, std²) samples from `generator` (on this tensor's device), default the global one. */
  normal_(mean = 0, std = 1, generator?: Generator): this { return inplace(this, "aten::normal_", [this, mean, std, generator ?? null]); }

  // ---- comparison and logic ------------------------------------------------------------------

  eq(other: Operand): Tensor { return compare("aten::eq", this, other); }
  ne(other: Operand): Tensor { return compare("aten::ne", this, other); }
  lt(other: Operand): Tensor { return compare("aten::lt", this, other); }
  le(other: Operand): Tensor { return compare("aten::le", this, other); }
  gt(other: Operand): Tensor { return compare("aten::gt", this, other); }
  ge(other: Operand): Tensor { return compare("aten::ge", this, other); }
  /** True where the element is neither NaN nor ±Inf (bool). */
  isFinite(): Tensor { return op("aten::isfinite", [this]); }
  logicalNot(): Tensor { return op("aten::logical_not", [this]); }
  logicalAnd(other: Tensor): Tensor { return op("aten::logical_and", [this, other]); }
  logicalOr(other: Tensor): Tensor { return op("aten::logical_or", [this, other]); }
  /** True when every element is non-zero. */
  all(): boolean { return using(op("aten::all", [this]), (t) => t.item() !== 0); }
  /** True when any element is non-zero. */
  any(): boolean { return using(op("aten::any", [this]), (t) => t.item() !== 0); }

  // ---- reductions ----------------------------------------------------------------------------

  /** Sum of all elements, or over `dim` (a number or list of dims). */
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? op("aten::sum", [this]) : op("aten::sum.dim_IntList", [this, dims(dim), keepdim]);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? op("aten::mean", [this]) : op("aten::mean.dim", [this, dims(dim), keepdim]);
  }
  /** Largest element, or the largest over `dim` (see {@link maxDim} for the indices too). */
  max(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? op("aten::max", [this]) : op("aten::amax", [this, [dim], keepdim]);
  }
  min(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? op("aten::min", [this]) : op("aten::amin", [this, [dim], keepdim]);
  }
  /** Values and int64 indices of the maxima along `dim`. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = ops("aten::max.dim", [this, dim, keepdim]);
    return { values, indices };
  }
  argmax(dim?: number, keepdim = false): Tensor { return op("aten::argmax", [this, dim ?? null, keepdim]); }
  argmin(dim?: number, keepdim = false): Tensor { return op("aten::argmin", [this, dim ?? null, keepdim]); }
  /** Running sums along `dim` (same shape). */
  cumsum(dim: number): Tensor { return op("aten::cumsum", [this, dim]); }
  /** Sorted values and their indices along `dim`. */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = ops("aten::sort", [this, dim, descending]);
    return { values, indices };
  }
  /** The k largest (or smallest) values along `dim`, sorted. */
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = ops("aten::topk", [this, k, dim, largest, true]);
    return { values, indices };
  }
  /** Vector p-norm over `dim` (all elements when omitted); p may be Infinity. */
  norm(p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return op("aten::linalg_vector_norm", [this, p, dim === undefined ? null : dims(dim), keepdim]);
  }

  toString(): string {
    return this.isDisposed ? "Tensor(disposed)" : `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }
}

// ---- helpers shared by the typed wrappers ---------------------------------------------------

function isDType(v: string): v is DType {
  return v === "float32" || v === "float64" || v === "int64" || v === "int32" || v === "uint8" || v === "bool";
}

function dims(dim: number | readonly number[]): readonly number[] {
  return typeof dim === "number" ? [dim] : dim;
}

function asTensorOrNull(v: Operand | null, like: Tensor): Tensor | null {
  if (v === null || v instanceof Tensor) return v;
  return op("aten::full_like", [like, v]);
}

function using<T>(t: Tensor, fn: (t: Tensor) => T): T {
  try {
    return fn(t);
  } finally {
    t.dispose();
  }
}

/** Wraps a native result: handles become Tensors, arrays are mapped. */
export function wrap(result: NativeResult): unknown {
  if (result === null || result === undefined || typeof result !== "object") return result;
  if (Array.isArray(result)) return result.map(wrap);
  if (Object.getPrototypeOf(result) === Object.prototype) {
    return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, wrap(v)]));
  }
  return new Tensor(result as TensorHandle);
}

/** Calls an op that returns one tensor. */
export function op(qualified: string, args: readonly OpArg[]): Tensor {
  return new Tensor(callRaw(qualified, args) as TensorHandle);
}

/** Calls an op that returns several tensors. */
export function ops(qualified: string, args: readonly OpArg[]): Tensor[] {
  return (callRaw(qualified, args) as TensorHandle[]).map((h) => new Tensor(h));
}

function inplace<T extends Tensor>(self: T, qualified: string, args: readonly OpArg[]): T {
  callRaw(qualified, args, true);
  return self;
}

function binary(name: string, self: Tensor, other: Operand, extra: readonly OpArg[] = []): Tensor {
  return typeof other === "number"
    ? op(`${name}.Scalar`, [self, other, ...extra])
    : op(`${name}.Tensor`, [self, other, ...extra]);
}

function inplaceBinary<T extends Tensor>(self: T, name: string, other: Operand, extra: readonly OpArg[] = []): T {
  return inplace(self, typeof other === "number" ? `${name}.Scalar` : `${name}.Tensor`, [self, other, ...extra]);
}

function compare(name: string, self: Tensor, other: Operand): Tensor {
  return op(typeof other === "number" ? `${name}.Scalar` : `${name}.Tensor`, [self, other]);
}
