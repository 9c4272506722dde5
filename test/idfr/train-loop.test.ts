import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { F, manualSeed, nn, optim, randn, tidy } from "../../src/torch/index.js";
import { runTrainLoop, type TrainLoopOptions } from "../../src/train/loop.js";
import { values } from "../helpers.js";

/** A tiny regression problem driven by the engine's seeded generator, like the IDFR loops. */
function setup(outDir: string, extra: Partial<TrainLoopOptions> = {}) {
  manualSeed(0);
  const module = new nn.Linear(4, 2);
  const optimizer = new optim.Adam(module.parameters(), { lr: 0.05 });
  const options: TrainLoopOptions = {
    label: "test loop", name: "toy", epochs: 3, stepsPerEpoch: 5, module, optimizer, outDir, progress: "none", fingerprint: "toy-v1",
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
  it("writes a JSON line per epoch and a checkpoint", () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-"));
    const { options } = setup(dir);
    const history = runTrainLoop(options);
    assert.equal(history.length, 3);
    const lines = readFileSync(join(dir, "toy-log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.epoch), [1, 2, 3]);
    assert.equal(lines[0].cleanAcc, 0.5);
    assert.ok(existsSync(join(dir, "toy-checkpoint.safetensors")));
  });
  it("Ctrl-C stops after the current step with the last epoch's checkpoint; --resume ends where a straight run ends", () => {
    const straight = setup(mkdtempSync(join(tmpdir(), "idfr-loop-a-")));
    runTrainLoop(straight.options);

    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-b-"));
    const first = setup(dir);
    let steps = 0;
    const step = first.options.step;
    assert.throws(() => runTrainLoop({ ...first.options, step: (e, b) => {
      if (++steps === 7) process.emit("SIGINT"); // during epoch 2
      return step(e, b);
    } }), /interrupted; the last checkpoint is intact/);
    const resumed = setup(dir);
    const history = runTrainLoop({ ...resumed.options, resume: true });
    assert.deepEqual(history.map((h) => h.epoch), [1, 2, 3]);
    assert.deepEqual(values(resumed.module.weight), values(straight.module.weight));
  });
  it("refuses to resume a checkpoint made with other settings, and stops on a non-finite loss", () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-loop-c-"));
    runTrainLoop(setup(dir).options);
    assert.throws(() => runTrainLoop({ ...setup(dir).options, fingerprint: "toy-v2", resume: true }), /made with other settings/);
    assert.throws(() => runTrainLoop({ ...setup(dir).options, step: () => ({ loss: NaN, n: 1 }) }), /the loss became NaN at epoch 1, step 1; lower the learning rate/);
  });
});
