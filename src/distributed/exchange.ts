/**
 * Moving things other than same-shaped tensors between ranks: JSON values and named tensor maps
 * broadcast from one rank (a resumed checkpoint's state reaching every rank), and rows of different
 * counts gathered from every rank in rank order (evaluation results).
 */
import { empty, tensor, tidy, type Tensor, type DType } from "../torch/index.js";
import type { ProcessGroup } from "./process-group.js";

/** The sum (or max, min) over ranks of each value, in float64 (sums exact for counts below 2^53). */
export function allReduceNumbers(group: ProcessGroup, values: readonly number[], op: "sum" | "max" | "min" = "sum"): number[] {
  const t = placed(tensor(Float64Array.from(values), [values.length], "float64"), group.device);
  try {
    group.allReduce([t], op);
    return t.toArray();
  } finally {
    t.dispose();
  }
}

/** Rank `root`'s `value` on every rank (the other ranks' arguments are ignored). */
export function broadcastJson<T>(group: ProcessGroup, value: T, root = 0): T {
  const bytes = group.rank === root ? new TextEncoder().encode(JSON.stringify(value ?? null)) : new Uint8Array(0);
  const length = placed(tensor(Float64Array.of(bytes.length), [1], "float64"), group.device);
  try {
    group.broadcast([length], root);
    const n = length.item();
    if (n === 0) return value;
    const buf = group.rank === root ? placed(tensor(bytes, [n], "uint8"), group.device) : empty([n], { dtype: "uint8", device: group.device });
    try {
      group.broadcast([buf], root);
      return JSON.parse(new TextDecoder().decode(buf.toTypedArray() as Uint8Array)) as T;
    } finally {
      buf.dispose();
    }
  } finally {
    length.dispose();
  }
}

/**
 * Rank `root`'s named tensors on every rank: new tensors on the group's device, owned by the
 * caller (on root too, so every rank disposes the same way).
 */
export function broadcastTensorMap(group: ProcessGroup, tensors: Map<string, Tensor> | null, root = 0): Map<string, Tensor> {
  const meta = broadcastJson(group, group.rank === root
    ? [...(tensors ?? new Map<string, Tensor>())].map(([k, t]) => ({ key: k, shape: t.shape, dtype: t.dtype }))
    : [] as { key: string; shape: number[]; dtype: DType }[], root);
  const out = new Map<string, Tensor>();
  for (const { key, shape, dtype } of meta) {
    out.set(key, group.rank === root ? tidy(() => tensors!.get(key)!.detach().to(group.device).contiguous().clone()) : empty(shape, { dtype, device: group.device }));
  }
  if (out.size > 0) group.broadcast([...out.values()], root);
  return out;
}

/**
 * Every rank's rows of `rowLength` values (float32, or float64 for a Float64Array), concatenated in
 * rank order: ranks may hold different numbers of rows (a share of an uneven split). Every rank
 * gets the whole.
 */
export function allGatherRows<A extends Float32Array | Float64Array>(group: ProcessGroup, rows: A, rowLength: number): A {
  if (!Number.isInteger(rowLength) || rowLength < 1 || rows.length % rowLength !== 0) {
    throw new RangeError(`allGatherRows: ${rows.length} values are not rows of ${rowLength}`);
  }
  const dtype = rows instanceof Float64Array ? "float64" : "float32";
  const make = (n: number) => (rows instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as A;
  const count = placed(tensor(Float64Array.of(rows.length / rowLength), [1], "float64"), group.device);
  const counts = group.allGather(count);
  count.dispose();
  const perRank = counts.map((t) => t.item());
  for (const t of counts) t.dispose();
  const most = Math.max(...perRank);
  const padded = make(most * rowLength);
  padded.set(rows);
  const mine = placed(tensor(padded, [most, rowLength], dtype), group.device);
  const parts = group.allGather(mine);
  mine.dispose();
  const out = make(perRank.reduce((a, b) => a + b, 0) * rowLength);
  let at = 0;
  parts.forEach((p, r) => {
    const values = p.toTypedArray() as A;
    out.set(values.subarray(0, perRank[r] * rowLength), at);
    at += perRank[r] * rowLength;
    p.dispose();
  });
  return out;
}

/** `t` on `device`: itself when it is there, else a copy there (and `t` freed). */
function placed(t: Tensor, device: string): Tensor {
  if (t.device === device) return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}
