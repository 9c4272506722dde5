import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { F, manualSeed, nn, optim, randn, tidy } from "../../src/torch/index.js";
import { indexBatches } from "../../src/train/batches.js";
import { runTrainLoop, type TrainLoopOptions } from "../../src/train/loop.js";
import { values } from "../helpers.js";

/** A tiny regression problem driven by the engine's seeded generator, like the IDFR loops. */
function setup(outDir: string, extra: Partial<TrainLoopOptions> = {}) {
  manualSeed(0);
  const module = new nn.Linear(4, 2);
  const optimizer = new optim.Adam(module.parameters(), { lr: 0.05 });
  const options: TrainLoopOptions = {
    label: "test loop", name: "toy", epochs: 3, batches: indexBatches(5), module, optimizer, ctx: { outDir, progress: "none", log: () => {} },
    settings: { toy: 1 },
    beginEpoch: (epoch) => manualSeed(100 + epoch),
    step: () => tidy(() => {
      const x = randn([8, 4]);
      optimizer.zeroGrad();
      const loss = F.mseLoss(module.forward(x), x.narrow(1, 0, 2).mul(2));
      loss.backward();
      optimizer.step();
      return { loss: loss.item(), n: 8 };
    }),
    validate: () => ({ cleanAcc: 0.5 }),
    ...extra,
  };
  return { module, options };
}

describe("the IDFR training loop", () => {
  it("writes a JSON line per epoch and a checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-"));
    const { options } = setup(dir);
    const history = await runTrainLoop(options);
    assert.equal(history.length, 3);
    const lines = readFileSync(join(dir, "toy-log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.epoch), [1, 2, 3]);
    assert.equal(lines[0].cleanAcc, 0.5);
    assert.ok(existsSync(join(dir, "toy-checkpoint.safetensors")));
  });
  it("Ctrl-C stops after the current step with the last epoch's checkpoint; --resume ends where a straight run ends", async () => {
    const straight = setup(mkdtempSync(join(tmpdir(), "idfr-loop-a-")));
    await runTrainLoop(straight.options);

    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-b-"));
    const first = setup(dir);
    let steps = 0;
    const step = first.options.step;
    await assert.rejects(runTrainLoop({ ...first.options, step: (batch, e, b) => {
      if (++steps === 7) process.emit("SIGINT"); // during epoch 2
      return step(batch, e, b);
    } }), /interrupted; the last checkpoint is intact: epoch 1 of 3 in .*toy-checkpoint\.safetensors \(the 2 step\(s\) of epoch 2 since then are not kept\)/);
    const resumed = setup(dir);
    const history = await runTrainLoop({ ...resumed.options, ctx: { ...resumed.options.ctx, resume: true } });
    assert.deepEqual(history.map((h) => h.epoch), [1, 2, 3]);
    assert.deepEqual(values(resumed.module.weight), values(straight.module.weight));
  });
  it("stops after the current step when the run's abort signal fires (RunContext.signal)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-d-"));
    const { options } = setup(dir);
    const controller = new AbortController();
    let steps = 0;
    await assert.rejects(runTrainLoop({ ...options, ctx: { ...options.ctx, signal: controller.signal }, step: (batch, e, b) => {
      if (++steps === 2) controller.abort();
      return options.step(batch, e, b);
    } }), /test loop interrupted; stopped in epoch 1 before the first checkpoint; nothing to resume, rerun to start over/);
    assert.equal(steps, 2);
  });
  it("refuses to resume a checkpoint made with other settings, and stops on a non-finite loss", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-c-"));
    await runTrainLoop(setup(dir).options);
    const other = setup(dir).options;
    await assert.rejects(runTrainLoop({ ...other, settings: { toy: 2 }, ctx: { ...other.ctx, resume: true } }), /made with toy 1; this run asks for toy 2/);
    await assert.rejects(runTrainLoop({ ...setup(dir).options, step: () => ({ loss: NaN, n: 1 }) }), /the loss became NaN at epoch 1, step 1; lower the learning rate/);
  });
});
