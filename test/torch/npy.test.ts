import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readNpy, readNpz, readNumpyTensors, readNumpyTree } from "../../src/torch/npy.js";
import { flatToTensors, flattenTree } from "../../src/torch/py-tree.js";
import { assertMatchesExpected, WEIGHTS } from "./weights-fixtures.js";

const dispose = (m: Map<string, { dispose(): void }>) => m.forEach((t) => t.dispose());

describe("NumPy files (.npy, .npz)", () => {
  for (const name of ["f32", "f16", "i64", "bool", "big_fortran"]) {
    it(`reads ${name}.npy exactly`, () => {
      const tensors = readNumpyTensors(join(WEIGHTS, `${name}.npy`));
      assertMatchesExpected(`${name}.npy`, tensors);
      dispose(tensors);
    });
  }

  it("reads a big-endian Fortran-order array into C order", () => {
    const a = readNpy(join(WEIGHTS, "big_fortran.npy"));
    assert.equal(a.fortran, true);
    assert.equal(a.dtype.littleEndian, false);
    const t = flatToTensors(flattenTree(new Map([["x", a]]))).get("x")!;
    // (arange(6).reshape(2, 3) / 4 - 0.5) row by row
    assert.deepEqual(t.toArray(), [-0.5, -0.25, 0, 0.25, 0.5, 0.75]);
    t.dispose();
  });

  it("reads ComDefend's layout: a deflated zip named .npy with an object array of HWIO kernels and biases (protocol 2)", () => {
    const tree = readNumpyTree(join(WEIGHTS, "comdefend.npy"));
    assert.deepEqual([...tree.arrays.keys()], ["w.0", "w.1", "w.2", "w.3"]);
    const tensors = flatToTensors(tree);
    assert.deepEqual(tensors.get("w.0")!.shape, [3, 3, 1, 2]); // HWIO as TensorFlow keeps them
    assertMatchesExpected("comdefend.npy", tensors);
    dispose(tensors);
  });

  it("reads a plain object .npy (numpy's default pickle protocol)", () => {
    const tensors = readNumpyTensors(join(WEIGHTS, "objects.npy"));
    assertMatchesExpected("objects.npy", tensors);
    dispose(tensors);
  });

  it("reads stored and deflated .npz archives", () => {
    assert.deepEqual([...readNpz(join(WEIGHTS, "arrays.npz")).keys()].sort(), ["a", "b"]);
    for (const file of ["arrays.npz", "compressed.npz"]) {
      const tensors = readNumpyTensors(join(WEIGHTS, file));
      assertMatchesExpected(file, tensors);
      dispose(tensors);
    }
  });

  it("explains what it cannot read", () => {
    const f32 = readFileSync(join(WEIGHTS, "f32.npy"));
    assert.throws(() => readNpy(f32.subarray(0, f32.length - 4)), /needs 24 bytes, the file has 20 \(truncated\?\)/);
    const structured = Buffer.from(f32);
    structured.write("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }".padEnd(f32.readUInt16LE(8) - 1), 10, "latin1");
    assert.throws(() => readNpy(structured), /structured arrays/);
    const complex = Buffer.from(f32.toString("latin1").replace("'<f4'", "'<c8'"), "latin1");
    assert.throws(() => readNpy(complex), /numpy dtype "c8" is not supported/);
    assert.throws(() => readNpy(readFileSync(join(WEIGHTS, "arrays.npz"))), /is a zip \(\.npz\): read it with readNpz/);
    const zip = readFileSync(join(WEIGHTS, "compressed.npz"));
    assert.throws(() => readNpz(zip.subarray(0, zip.length - 30)), /cannot read the zip archive/);
  });
});
