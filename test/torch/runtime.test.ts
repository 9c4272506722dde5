import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { cudaAvailable, defaultNumThreads, getNumThreads, libtorchVersion, manualSeed, memory, nn, rand, randn, randint, randperm, bernoulli, setNumThreads, tensor, F, noGrad } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

describe("runtime", () => {
  it("uses all cores by default (OMP_NUM_THREADS when set); thread count can be set", () => {
    assert.equal(getNumThreads(), defaultNumThreads());
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    setNumThreads(defaultNumThreads());
    assert.throws(() => setNumThreads(0), /positive integer/);
  });
  it("the default thread count follows OMP_NUM_THREADS, and a bad value is an error naming it", () => {
    assert.equal(defaultNumThreads({}), availableParallelism());
    assert.equal(defaultNumThreads({ OMP_NUM_THREADS: "" }), availableParallelism());
    assert.equal(defaultNumThreads({ OMP_NUM_THREADS: "3" }), 3);
    assert.equal(defaultNumThreads({ OMP_NUM_THREADS: " 4,2 " }), 4);
    for (const bad of ["0", "two", "1.5", "-1"]) {
      assert.throws(() => defaultNumThreads({ OMP_NUM_THREADS: bad }), new RegExp(`OMP_NUM_THREADS: expected a positive integer, got "${bad}"`));
    }
  });
  it("a process started with OMP_NUM_THREADS runs libtorch on that many threads (as idfr launch starts its ranks)", () => {
    const script = 'import("./src/torch/index.ts").then((t) => console.log(t.getNumThreads()))';
    const run = (value: string) => spawnSync(process.execPath, ["--import", "tsx", "-e", script], { env: { ...process.env, OMP_NUM_THREADS: value }, encoding: "utf8" });
    // A count other than the core count, so the old all-cores default would fail here on any machine.
    const wanted = String(availableParallelism() + 1);
    assert.equal(run(wanted).stdout.trim(), wanted);
    const bad = run("lots");
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /OMP_NUM_THREADS: expected a positive integer, got "lots"/);
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
