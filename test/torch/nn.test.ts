import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { F, manualSeed, memory, nn, noGrad, ones, randn, tensor, zeros } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

describe("nn.Module", () => {
  const build = () => new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4, 2));
  it("names parameters and buffers like PyTorch's state_dict", () => {
    const m = build();
    assert.deepEqual([...m.stateDict().keys()], [
      "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias",
      "1.running_mean", "1.running_var", "1.num_batches_tracked",
    ]);
    assert.equal(m.parameters().length, 6);
    assert.ok(m.parameters().every((p) => p.requiresGrad));
    assert.equal(m.parameterCount(), 4 * 3 * 9 + 4 + 4 + 4 + 8 + 2);
  });
  it("loadStateDict copies values and round-trips", () => {
    const a = build();
    const b = build();
    b.loadStateDict(a.stateDict());
    for (const [k, t] of a.stateDict()) assert.deepEqual(values(b.stateDict().get(k)!), values(t), k);
  });
  it("loadStateDict names missing, unexpected and mis-shaped keys, and changes nothing", () => {
    const m = build();
    const before = values(m.stateDict().get("0.weight")!);
    const state = new Map(m.stateDict());
    state.delete("4.bias");
    state.set("extra.weight", zeros([1]));
    state.set("0.weight", zeros([4, 3, 5, 5]));
    assert.throws(() => m.loadStateDict(state), (err: Error) => {
      assert.match(err.message, /missing keys: 4\.bias/);
      assert.match(err.message, /unexpected keys: extra\.weight/);
      assert.match(err.message, /0\.weight: expected \[4,3,3,3\], got \[4,3,5,5\]/);
      return true;
    });
    assert.deepEqual(values(m.stateDict().get("0.weight")!), before);
  });
  it("train/eval propagate to children", () => {
    const m = build().eval();
    assert.ok(m.namedModules().every(([, c]) => !c.training));
    m.train();
    assert.ok(m.namedModules().every(([, c]) => c.training));
  });
  it("BatchNorm2d updates running stats with momentum in training, uses them in eval", () => {
    const bn = new nn.BatchNorm2d(1, { momentum: 0.5 });
    const x = tensor([1, 3, 5, 7], [4, 1, 1, 1]);
    noGrad(() => bn.forward(x));
    // batch mean 4, unbiased variance 20/3
    assertClose(values(bn.runningMean!), [0.5 * 4]);
    assertClose(values(bn.runningVar!), [0.5 * 1 + 0.5 * (20 / 3)]);
    assert.equal(bn.numBatchesTracked!.item(), 1);
    bn.eval();
    const y = noGrad(() => bn.forward(tensor([2], [1, 1, 1, 1])));
    assertClose(values(y), [(2 - 2) / Math.sqrt(0.5 + 10 / 3 + 1e-5)]);
  });
  it("BatchNorm2d in training refuses one value per channel like PyTorch, instead of a NaN running variance", () => {
    const bn = new nn.BatchNorm2d(3);
    assert.throws(() => bn.forward(ones([1, 3, 1, 1])), /^RangeError: Expected more than 1 value per channel when training, got input size \[1, 3, 1, 1\]$/);
    assert.deepEqual(values(bn.runningVar!), [1, 1, 1]);
    assert.equal(bn.numBatchesTracked!.item(), 0);
    // Two values per channel (batch 1, two pixels) train; in eval one value is fine.
    bn.forward(tensor([1, 2, 3, 4, 5, 6], [1, 3, 2, 1]));
    assert.ok(values(bn.runningVar!).every(Number.isFinite));
    assert.deepEqual(bn.eval().forward(ones([1, 3, 1, 1])).shape, [1, 3, 1, 1]);
  });
  it("non-persistent buffers move and free with the module but stay out of the state dict", () => {
    class Scaled extends nn.Module {
      scale: ReturnType<typeof ones>;
      readonly lin = this.registerModule("lin", new nn.Linear(2, 2));
      constructor() {
        super();
        this.scale = this.registerBuffer("scale", ones([2]), { persistent: false });
        this.registerBuffer("count", zeros([1]));
      }
      forward(x: ReturnType<typeof ones>) { return this.lin.forward(x).mul(this.scale); }
    }
    const m = new Scaled();
    assert.deepEqual([...m.stateDict().keys()], ["lin.weight", "lin.bias", "count"]);
    assert.deepEqual(m.namedBuffers().map(([k]) => k), ["scale", "count"]);
    assert.doesNotThrow(() => new Scaled().loadStateDict(m.stateDict()));
    const old = m.scale;
    m.to("float64");
    assert.equal(m.scale.dtype, "float64");
    assert.ok(old.isDisposed);
    m.dispose();
    assert.ok(m.scale.isDisposed);
  });
  it("nn.chain applies modules and functions in order, freeing each intermediate once consumed", () => {
    manualSeed(0);
    const lin = new nn.Linear(3, 3);
    const x = randn([2, 3]);
    const expected = values(lin.forward(x).relu().mul(2));
    const live = memory().numTensors;
    const seen: number[] = [];
    const out = nn.chain(x, lin, F.relu, (t) => {
      seen.push(memory().numTensors - live);
      return t.mul(2);
    });
    // When the third step runs, only the relu output is alive: the linear output was freed.
    assert.deepEqual(seen, [1]);
    assert.equal(memory().numTensors, live + 1);
    assert.deepEqual(values(out), expected);
    assert.equal(x.isDisposed, false, "the input is never freed");
    assert.equal(nn.chain(x), x);
    assert.equal(nn.chain(x, new nn.Identity(), (t) => t), x);
  });
  it("default initialisation follows PyTorch: weights and bias within U(±1/sqrt(fan_in))", () => {
    manualSeed(0);
    const lin = new nn.Linear(100, 50);
    const bound = 1 / Math.sqrt(100);
    for (const p of [lin.weight, lin.bias!]) {
      const v = values(p);
      assert.ok(v.every((x) => Math.abs(x) <= bound), "inside the bound");
      assert.ok(Math.max(...v.map(Math.abs)) > 0.9 * bound, "spread over the bound");
    }
    const conv = new nn.Conv2d(8, 4, 3);
    assert.ok(values(conv.weight).every((x) => Math.abs(x) <= 1 / Math.sqrt(72)));
    assert.deepEqual(values(new nn.BatchNorm2d(2).weight!), [1, 1]);
  });
  it("layers check their input shapes", () => {
    assert.throws(() => new nn.Conv2d(3, 4, 3).forward(zeros([1, 2, 8, 8])), /expected input \[N, 3, H, W\], got \[1,2,8,8\]/);
    assert.throws(() => new nn.Linear(4, 2).forward(zeros([3, 5])), /expected input \[\.\.\., 4\], got \[3,5\]/);
  });
  it("pooling, upsample, dropout, flatten modules", () => {
    const x = randn([2, 3, 8, 8]);
    assert.deepEqual(new nn.MaxPool2d(2).forward(x).shape, [2, 3, 4, 4]);
    assert.deepEqual(new nn.AvgPool2d(2).forward(x).shape, [2, 3, 4, 4]);
    assert.deepEqual(new nn.AdaptiveAvgPool2d(1).forward(x).shape, [2, 3, 1, 1]);
    assert.deepEqual(new nn.Upsample({ scaleFactor: 2, mode: "bilinear" }).forward(x).shape, [2, 3, 16, 16]);
    assert.deepEqual(new nn.Flatten().forward(x).shape, [2, 192]);
    const d = new nn.Dropout(0.5).eval();
    assert.deepEqual(values(d.forward(ones([4]))), [1, 1, 1, 1]);
  });
  it("zeroGrad clears gradients; to() converts dtype in place of the old tensors", () => {
    const lin = new nn.Linear(2, 1);
    lin.forward(ones([1, 2])).sum().backward();
    assert.ok(lin.weight.grad !== null);
    lin.zeroGrad();
    assert.equal(lin.weight.grad, null);
    lin.to("float64");
    assert.equal(lin.weight.dtype, "float64");
    assert.equal(lin.stateDict().get("weight")!.dtype, "float64");
    assert.equal(lin.weight.requiresGrad, true);
  });
  it("to() also moves fields whose names differ from their state-dict keys (BatchNorm2d's running stats)", () => {
    const bn = new nn.BatchNorm2d(2);
    bn.to("float64");
    assert.equal(bn.runningMean!.dtype, "float64");
    assert.equal(bn.runningVar!.isDisposed, false);
    assert.equal(bn.eval().forward(ones([1, 2, 2, 2], { dtype: "float64" })).dtype, "float64");
  });
});
