/** Tensor element types supported by the TypeScript API, with their libtorch codes. */
export type DType = "float32" | "float64" | "int64" | "int32" | "uint8" | "bool";

/** c10::ScalarType enum values (stable across libtorch releases). */
const CODES: Record<DType, number> = { uint8: 0, int32: 3, int64: 4, float32: 6, float64: 7, bool: 11 };
const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

/** Typed arrays that can hold tensor data. */
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) {
    throw new TypeError(`dtype: expected one of ${Object.keys(CODES).join(", ")}, got ${JSON.stringify(dtype)}`);
  }
  return code;
}

export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (name === undefined) throw new TypeError(`tensor has a libtorch scalar type (${code}) this API does not support`);
  return name;
}

/** The dtype a typed array holds when no dtype is given. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  throw new TypeError("data: expected a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array");
}

/** Wraps raw tensor bytes in the typed array for `dtype` (bool as Uint8Array). */
export function viewBytes(buffer: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int64": return new BigInt64Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "uint8":
    case "bool": return new Uint8Array(buffer);
  }
}

export const isFloating = (dtype: DType): boolean => dtype === "float32" || dtype === "float64";
