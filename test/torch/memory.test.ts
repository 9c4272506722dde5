import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { F, keep, memory, nn, optim, randn, randint, tensor, tidy, zeros, manualSeed } from "../../src/torch/index.js";

describe("memory scopes", () => {
  it("tidy frees everything created inside except what it returns", () => {
    const before = memory().numTensors;
    const out = tidy(() => {
      const a = zeros([10]);
      const b = a.add(1);
      b.mul(2);
      return b;
    });
    assert.equal(memory().numTensors, before + 1);
    assert.equal(out.isDisposed, false);
    out.dispose();
    assert.equal(memory().numTensors, before);
  });
  it("returned arrays and objects of tensors survive; keep() survives", () => {
    const before = memory().numTensors;
    let kept = null as unknown as ReturnType<typeof zeros>;
    const res = tidy(() => {
      kept = keep(zeros([2]));
      zeros([3]);
      return { pair: [zeros([1]), zeros([1])], n: 3 };
    });
    assert.equal(memory().numTensors, before + 3);
    for (const t of [...res.pair, kept]) t.dispose();
    assert.equal(memory().numTensors, before);
  });
  it("nested scopes hand results to the outer scope", () => {
    const before = memory().numTensors;
    tidy(() => {
      const inner = tidy(() => zeros([1]).add(1));
      assert.equal(inner.isDisposed, false);
    });
    assert.equal(memory().numTensors, before);
  });
  it("tidy frees its tensors when the function throws", () => {
    const before = memory().numTensors;
    assert.throws(() => tidy(() => {
      zeros([4]);
      throw new Error("inside");
    }), /inside/);
    assert.equal(memory().numTensors, before);
  });
  it("tidy refuses async functions", () => {
    assert.throws(() => tidy(() => Promise.resolve(1) as unknown as number), /Promise/);
  });
  it("a using declaration disposes at block end", () => {
    const before = memory().numTensors;
    {
      using t = zeros([3]);
      assert.equal(t.numel, 3);
    }
    assert.equal(memory().numTensors, before);
  });
  it("100 training steps leave the tensor count unchanged", () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const x = randn([4, 8]);
    const y = randint(0, 3, [4]);
    const step = () => tidy(() => {
      opt.zeroGrad();
      F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
    step();
    const before = memory().numTensors;
    for (let i = 0; i < 100; i++) step();
    assert.equal(memory().numTensors, before);
  });
  it("RSS after step 1,000 of a training loop is within 10 % of RSS after step 100", () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8 * 7 * 7, 10));
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = randn([16, 1, 14, 14]);
    const y = randint(0, 10, [16]);
    let rss100 = 0;
    for (let i = 1; i <= 1000; i++) {
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
      });
      if (i === 100) rss100 = process.memoryUsage.rss();
    }
    const rss1000 = process.memoryUsage.rss();
    assert.ok(rss1000 <= rss100 * 1.1, `RSS grew from ${(rss100 / 2 ** 20).toFixed(1)} MiB to ${(rss1000 / 2 ** 20).toFixed(1)} MiB`);
  });
  it("unreferenced tensors are freed by the garbage collector when tidy was not used", async (t) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return t.skip("needs node --expose-gc");
    const before = memory().numTensors;
    (() => { for (let i = 0; i < 50; i++) tensor([1, 2, 3]); })();
    assert.equal(memory().numTensors, before + 50);
    for (let i = 0; i < 5 && memory().numTensors > before; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(memory().numTensors <= before, `${memory().numTensors - before} tensors were not finalized`);
  });
});
