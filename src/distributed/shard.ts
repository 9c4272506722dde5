/**
 * Work split by rows across the ranks of the default group, then gathered so every rank holds the
 * whole result (crafting adversarial examples, predicting, counting). Each rank takes a contiguous
 * share of the rows; the result is the same as one process's whenever each row's value depends
 * on that row alone (as attacks do: their random starts are seeded per image).
 */
import { defaultGroup } from "./default-group.js";
import { shareOf } from "./data-parallel.js";
import { allGatherRows, allReduceNumbers } from "./exchange.js";
import { cat, tensor, tidy, type Tensor } from "../torch/index.js";

/**
 * Runs `compute` on this rank's share of `rows` (it writes row r's `rowLength` values at
 * out[r * rowLength ...]), then fills `out` with every rank's rows. Alone, computes all rows. Every
 * rank of the group must call it with the same rows.
 */
export function computeSharded(rows: readonly number[], rowLength: number, out: Float32Array, compute: (mine: number[]) => void): void {
  const group = defaultGroup();
  if (!group || group.worldSize === 1 || rows.length === 0) {
    compute([...rows]);
    return;
  }
  const { start, count } = shareOf(rows.length, group.rank, group.worldSize);
  const mine = rows.slice(start, start + count);
  compute(mine);
  const packed = new Float32Array(count * rowLength);
  mine.forEach((r, k) => packed.set(out.subarray(r * rowLength, (r + 1) * rowLength), k * rowLength));
  const all = allGatherRows(group, packed, rowLength);
  rows.forEach((r, k) => out.set(all.subarray(k * rowLength, (k + 1) * rowLength), r * rowLength));
}

/** This rank's contiguous share [start, start + count) of `n` rows (all of them when alone). */
export function myShare(n: number): { start: number; count: number } {
  const group = defaultGroup();
  return group ? shareOf(n, group.rank, group.worldSize) : { start: 0, count: n };
}

/** The sum over ranks of each value (the values themselves when alone). */
export function sumOverRanks(values: readonly number[]): number[] {
  const group = defaultGroup();
  return group && group.worldSize > 1 ? allReduceNumbers(group, values) : [...values];
}

/**
 * This rank's rows (`parts`, row tensors of `rowLength` float32 values, in row order) followed by
 * every other rank's, in rank order, as one new tensor on `device`; each rank's rows must be the
 * contiguous share {@link myShare} gives it. Alone: `cat(parts)`.
 */
export function catRowsOverRanks(parts: readonly Tensor[], rowLength: number, device: string): Tensor {
  const group = defaultGroup();
  if (!group || group.worldSize === 1) return cat(parts, 0);
  const local = parts.length > 0 ? (tidy(() => cat(parts, 0).to("cpu").contiguous().toTypedArray()) as Float32Array) : new Float32Array(0);
  const all = allGatherRows(group, local, rowLength);
  return tidy(() => {
    const t = tensor(all, [all.length / rowLength, rowLength]);
    return t.device === device ? t : t.to(device);
  });
}

/** Fills `values` (one per row) with every rank's slice [start, start + count) of it, each rank holding its own share. */
export function gatherSharesInPlace(values: Uint8Array, start: number, count: number): void {
  const group = defaultGroup();
  if (!group || group.worldSize === 1) return;
  values.set(Uint8Array.from(allGatherRows(group, Float32Array.from(values.subarray(start, start + count)), 1)));
}
