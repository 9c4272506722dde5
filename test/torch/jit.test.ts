import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { F, ScriptModule, gradOf, nn, noGrad, tensor } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

const fixture = new URL("../fixtures/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("tiny_cnn.json", fixture), "utf8")) as {
  input_shape: number[]; input: number[]; logits: number[]; grad: number[]; state_keys: string[];
};
const modelPath = new URL("tiny_cnn.pt", fixture).pathname;

describe("TorchScript modules", () => {
  const x = tensor(expected.input, expected.input_shape);
  it("forward matches the logits PyTorch computed", () => {
    const m = ScriptModule.load(modelPath).eval();
    assertClose(values(noGrad(() => m.forward(x))), expected.logits, 1e-5);
  });
  it("is differentiable from TypeScript: input gradient matches PyTorch's", () => {
    const m = ScriptModule.load(modelPath).eval();
    const g = gradOf((z) => F.logSoftmax(m.forward(z), 1).select(1, 0).sum(), x);
    assertClose(values(g), expected.grad, 1e-4);
  });
  it("its weights load into the same architecture built in TypeScript, with the same logits", () => {
    const m = ScriptModule.load(modelPath);
    const state = new Map([...m.namedParameters(), ...m.namedBuffers()]);
    assert.deepEqual([...state.keys()].sort(), [...expected.state_keys].sort());
    const net = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(36, 5));
    net.loadStateDict(state);
    assertClose(values(noGrad(() => net.eval().forward(x))), expected.logits, 1e-5);
  });
  it("missing files and methods give clear errors", () => {
    assert.throws(() => ScriptModule.load("/nonexistent/model.pt"), /no such file/);
    const m = ScriptModule.load(modelPath);
    assert.throws(() => m.run("predict", x), /no method 'predict'/);
  });
  it("a file that is not TorchScript: the file and the cause on one line", () => {
    const path = join(mkdtempSync(join(tmpdir(), "idfr-jit-")), "weights.pt");
    writeFileSync(path, "not a zip archive");
    assert.throws(() => ScriptModule.load(path), (err: Error) => {
      assert.equal(err.message, `ScriptModule.load: ${path} is not a TorchScript file that libtorch can read: PytorchStreamReader failed reading zip archive: not a ZIP archive`);
      return true;
    });
  });
  it("an interpreter error names the file and puts the cause first, in two lines", () => {
    const m = ScriptModule.load(modelPath).eval();
    assert.throws(() => m.forward(tensor(new Float32Array(2 * 3 * 3), [1, 2, 3, 3])), (err: Error) => {
      const lines = err.message.split("\n");
      assert.ok(lines.length <= 2, err.message);
      assert.match(lines[0], /^.*tiny_cnn\.pt: forward\(\) failed: RuntimeError: .*(expected input|channels|running_mean)/);
      assert.match(lines[1], /^  \(in TorchScript: File ".*", line \d+, in \w+\)$/);
      return true;
    });
  });
});
