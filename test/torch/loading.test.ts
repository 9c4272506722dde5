import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadSafetensors, memory, nn, NonFiniteWeightsError, saveSafetensors, tensor, zeros } from "../../src/torch/index.js";

const build = () => new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm2d(2));

function poisoned(value: number): Map<string, ReturnType<typeof zeros>> {
  const state = new Map(build().stateDict());
  state.set("0.weight", tensor([0, 1, value, 3, value, 5], [2, 3]));
  return state;
}

describe("weights holding NaN or Inf are refused", () => {
  it("loadStateDict names the tensor, leaves the module unchanged", () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const m = build();
      const before = m.stateDict().get("0.weight")!.toArray();
      assert.throws(() => m.loadStateDict(poisoned(bad)), (err: Error) => {
        assert.ok(err instanceof NonFiniteWeightsError);
        assert.equal(err.message, 'loadStateDict: tensor "0.weight" holds 2 NaN or Inf values (of 6); expected finite weights');
        return true;
      });
      assert.deepEqual(m.stateDict().get("0.weight")!.toArray(), before);
    }
  });
  it("loadStateDict also names the file the tensor was read from", () => {
    const path = join(mkdtempSync(join(tmpdir(), "idfr-finite-")), "model.safetensors");
    saveSafetensors(path, poisoned(Number.NaN));
    const { tensors } = loadSafetensors(path);
    assert.throws(() => build().loadStateDict(tensors), new RegExp(`^NonFiniteWeightsError: loadStateDict: tensor "0\\.weight" in ${path} holds 2 NaN`));
  });
  it("loadSafetensors checks on request, frees what it read, and names tensor and file", () => {
    const path = join(mkdtempSync(join(tmpdir(), "idfr-finite-")), "model.safetensors");
    saveSafetensors(path, poisoned(Infinity));
    assert.doesNotThrow(() => loadSafetensors(path));
    const live = memory().numTensors;
    assert.throws(() => loadSafetensors(path, { requireFinite: true }), (err: Error) => {
      assert.ok(err instanceof NonFiniteWeightsError);
      assert.equal(err.key, "0.weight");
      assert.equal(err.source, path);
      assert.match(err.message, new RegExp(`^tensor "0\\.weight" in ${path} holds 2 NaN or Inf values`));
      return true;
    });
    assert.equal(memory().numTensors, live);
  });
  it("integer buffers and finite weights load", () => {
    const a = build();
    const b = build();
    b.loadStateDict(a.stateDict());
    assert.deepEqual(b.stateDict().get("0.bias")!.toArray(), a.stateDict().get("0.bias")!.toArray());
  });
});
