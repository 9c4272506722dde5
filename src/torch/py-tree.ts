/**
 * Flattening what an unpickled checkpoint holds (dicts, lists and tuples of arrays, numbers and
 * strings) into named tensors, with dotted names as PyTorch's state_dict keys have them:
 * {"state_dict": {"conv.weight": t}} gives "state_dict.conv.weight", a list gives "0", "1", ...
 */
import { hostArrayToTensor, type HostArray } from "./host-array.js";
import { describe, PyOpaque } from "./pickle.js";
import type { Tensor } from "./tensor.js";

/** A value that holds an array (a torch tensor, a NumPy array) and can give its bytes. */
export interface ArrayLike {
  hostArray(name: string): HostArray;
}

export function isArrayLike(v: unknown): v is ArrayLike {
  return typeof (v as ArrayLike | null)?.hostArray === "function";
}

/** Named arrays of a tree, the scalar leaves as strings, and what was left out. */
export interface FlatTree {
  arrays: Map<string, ArrayLike>;
  /** Numbers, strings and booleans found beside the arrays (e.g. "epoch" -> "90"). */
  scalars: Map<string, string>;
  /** Entries neither arrays nor scalars (None, opaque objects), with what they were. */
  skipped: Map<string, string>;
}

const join = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

/** Walks `value`, naming every array by its dotted path below `prefix`. */
export function flattenTree(value: unknown, prefix = ""): FlatTree {
  const out: FlatTree = { arrays: new Map(), scalars: new Map(), skipped: new Map() };
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: string): void => {
    if (isArrayLike(v)) {
      if (out.arrays.has(path)) throw new Error(`two arrays are named ${JSON.stringify(path)}`);
      out.arrays.set(path, v);
      return;
    }
    if (v instanceof Map || Array.isArray(v)) {
      if (seen.has(v)) return; // a container referenced twice (pickle memo): named once
      seen.add(v);
      const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : v.map((x, i) => [i, x]);
      for (const [k, x] of entries) {
        if (typeof k !== "string" && typeof k !== "number") {
          out.skipped.set(join(path, String(k)), `a key of type ${describe(k)}`);
          continue;
        }
        walk(x, join(path, String(k)));
      }
      return;
    }
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || typeof v === "bigint") {
      out.scalars.set(path, String(v));
      return;
    }
    out.skipped.set(path, v instanceof PyOpaque ? `${v.global} object (not read)` : describe(v));
  };
  walk(value, prefix);
  return out;
}

/**
 * Tensors for every array of `flat` (CPU, engine dtypes); on an error the tensors made so far are
 * disposed.
 */
export function flatToTensors(flat: FlatTree): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, a] of flat.arrays) tensors.set(name, hostArrayToTensor(a.hostArray(name), name));
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return tensors;
}
