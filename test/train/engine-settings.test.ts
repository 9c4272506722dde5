/** A training checkpoint records the engine settings its epochs ran under; a resume under others says so. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { F, Generator, nn, optim, rand, tidy } from "../../src/torch/index.js";
import { indexBatches } from "../../src/train/batches.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { loopFiles, runTrainLoop } from "../../src/train/loop.js";

async function train(outDir: string, epochs: number, ctx: { deterministic?: boolean; threads?: number; resume?: boolean }, log: string[]): Promise<void> {
  const init = new Generator(1);
  const model = nn.init.withInitGenerator(init, () => new nn.Linear(3, 1));
  const x = tidy(() => rand([8, 3], { generator: init }));
  init.dispose();
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  await runTrainLoop({
    label: "tiny", epochs, batches: indexBatches(2), module: model, optimizer: opt, settings: { kind: "tiny" },
    ctx: { outDir, progress: "none", log: (l) => log.push(l), resume: ctx.resume ?? false, deterministic: ctx.deterministic, threads: ctx.threads },
    step: () => tidy(() => {
      opt.zeroGrad();
      const loss = F.mseLoss(model.forward(x), x.sum(1, true));
      loss.backward();
      opt.step();
      return { loss: loss.item(), n: 8 };
    }),
  });
  opt.dispose();
  model.dispose();
  x.dispose();
}

test("the checkpoint holds the run's engine settings; resuming under other settings logs both, resuming under the same logs nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-engine-"));
  const log: string[] = [];
  await train(dir, 1, { deterministic: true, threads: 1 }, log);
  const saved = loadCheckpoint<{ engine?: unknown }>(loopFiles(dir).checkpoint)!;
  for (const t of saved.tensors.values()) t.dispose();
  assert.deepEqual(saved.state.engine, { deterministic: true, threads: 1 });
  await train(dir, 2, { deterministic: true, threads: 1, resume: true }, log);
  assert.equal(log.filter((l) => /other engine settings/.test(l)).length, 0);
  await train(dir, 3, { deterministic: false, threads: 2, resume: true }, log);
  assert.deepEqual(log.filter((l) => /other engine settings/.test(l)), [
    'tiny: resuming under other engine settings ({"deterministic":false,"threads":2}, the checkpoint\'s {"deterministic":true,"threads":1}); ' +
      "the results may differ in the last bits from an uninterrupted run",
  ]);
  // A context without engine settings (a library caller) records none.
  const bare = mkdtempSync(join(tmpdir(), "idfr-engine-"));
  await train(bare, 1, {}, log);
  const plain = loadCheckpoint<{ engine?: unknown }>(loopFiles(bare).checkpoint)!;
  for (const t of plain.tensors.values()) t.dispose();
  assert.equal(plain.state.engine, undefined);
});
