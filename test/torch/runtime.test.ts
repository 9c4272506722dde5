import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { cudaAvailable, getNumThreads, libtorchVersion, manualSeed, memory, nn, rand, randn, randint, randperm, bernoulli, setNumThreads, tensor, F, noGrad } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

describe("runtime", () => {
  it("uses all cores by default; thread count can be set", () => {
    assert.equal(getNumThreads(), availableParallelism());
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    setNumThreads(availableParallelism());
    assert.throws(() => setNumThreads(0), /positive integer/);
  });
  it("the same seed gives the same numbers", () => {
    const draw = () => [rand([3]), randn([3]), randint(0, 100, [3]), randperm(5), bernoulli(0.5, [8])].flatMap(values);
    manualSeed(42);
    const a = draw();
    manualSeed(42);
    assert.deepEqual(draw(), a);
    manualSeed(43);
    assert.notDeepEqual(draw(), a);
  });
  it("seeded random values have the right ranges", () => {
    manualSeed(0);
    assert.ok(values(rand([1000])).every((v) => v >= 0 && v < 1));
    assert.ok(values(randint(3, 7, [1000])).every((v) => v >= 3 && v < 7 && Number.isInteger(v)));
    assert.deepEqual(values(randperm(6)).sort(), [0, 1, 2, 3, 4, 5]);
    const b = values(bernoulli(tensor([0, 1, 0, 1])));
    assert.deepEqual(b, [0, 1, 0, 1]);
  });
  it("reports the libtorch version", () => {
    assert.match(libtorchVersion(), /^\d+\.\d+/);
  });
});

describe("CUDA (runs only where the linked libtorch sees a GPU)", () => {
  it("moves a model and data to the GPU and gets the CPU's answer", (t) => {
    if (!cudaAvailable()) return t.skip("no CUDA device");
    manualSeed(0);
    const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 2)).eval();
    const x = rand([2, 3, 8, 8]);
    const cpu = values(noGrad(() => model.forward(x)));
    model.to("cuda");
    const gpu = noGrad(() => model.forward(x.to("cuda")));
    assert.equal(gpu.device, "cuda:0");
    assertClose(values(gpu.cpu()), cpu, 1e-4);
    const before = memory().numTensors;
    F.relu(gpu).dispose();
    assert.equal(memory().numTensors, before);
  });
});
