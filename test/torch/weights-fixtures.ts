/** Shared by the .pth/.npy reader tests: the fixture folder and the values PyTorch/NumPy wrote (make_weights.py). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../src/torch/index.js";

export const WEIGHTS = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "weights");

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | boolean | string)[];
}

export const EXPECTED = JSON.parse(readFileSync(join(WEIGHTS, "expected.json"), "utf8")) as Record<string, Record<string, Expected>>;

/** The engine dtype a file's dtype is read as (narrow types are widened exactly). */
const ENGINE: Record<string, string> = {
  float32: "float32", float64: "float64", float16: "float32", bfloat16: "float32", int64: "int64", int32: "int32", uint8: "uint8", bool: "bool",
};

const asNumber = (v: number | boolean | string): number => (typeof v === "boolean" ? Number(v) : typeof v === "string" ? Number(v.replace("inf", "Infinity")) : v);

/** Checks that `tensors` hold exactly what the file's entry in expected.json says, value by value. */
export function assertMatchesExpected(file: string, tensors: Map<string, Tensor>, names = Object.keys(EXPECTED[file])): void {
  for (const name of names) {
    const e = EXPECTED[file][name];
    const t = tensors.get(name);
    assert.ok(t, `${file}: no tensor ${name} (have ${[...tensors.keys()].join(", ")})`);
    assert.deepEqual(t.shape, e.shape, `${file} ${name}: shape`);
    assert.equal(t.dtype, ENGINE[e.dtype], `${file} ${name}: dtype ${e.dtype}`);
    const got = Array.from(t.toTypedArray() as ArrayLike<number | bigint>, (v) => Number(v));
    assert.deepEqual(got, e.values.map(asNumber), `${file} ${name}: values`);
  }
}
