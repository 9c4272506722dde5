/**
 * Ctrl-C as a user presses it: a real SIGINT sent to an `idfr` process while it trains. The run
 * must stop after the current step, exit with status 130 within seconds, say which checkpoint it
 * kept, and `--resume` must continue from that checkpoint to the end.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadDataset } from "../../src/data/datasets.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed } from "../../src/torch/index.js";
import { trainClassifier } from "../../src/train/classifier.js";
import { ROOT, runIdfr } from "../core/child.js";

/** An `idfr` process run from the sources, whose output (stdout and stderr together) can be awaited. */
class IdfrProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<{ code: number | null; at: number }>;
  #waiters: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding("utf8").on("data", (s: string) => {
        this.output += s;
        this.#waiters = this.#waiters.filter((w) => (w.pattern.test(this.output) ? (w.resolve(), false) : true));
      });
    }
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 120_000);
    this.exited = new Promise((resolve) => this.child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, at: performance.now() });
    }));
  }

  /** Resolves when the output matches `pattern`; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<void> {
    return Promise.race([
      new Promise<void>((resolve) => (pattern.test(this.output) ? resolve() : this.#waiters.push({ pattern, resolve }))),
      this.exited.then(({ code }) => { throw new Error(`idfr exited (${code}) before printing ${pattern}:\n${this.output}`); }),
    ]);
  }
}

/** Interrupts the run once it has printed `epochLine`, and checks how it stops. Returns its output. */
async function interruptAfter(args: string[], epochLine: RegExp): Promise<string> {
  const run = new IdfrProcess(args);
  await run.waitFor(epochLine);
  const sent = performance.now();
  run.child.kill("SIGINT");
  const { code, at } = await run.exited;
  assert.equal(code, 130, run.output);
  // One step plus writing nothing new: well under a few seconds even on a busy machine.
  assert.ok(at - sent < 5000, `exited ${((at - sent) / 1000).toFixed(1)} s after SIGINT`);
  assert.match(run.output, /Ctrl-C: stopping after the current step/);
  return run.output;
}

/** Runs to the end and returns its output. */
async function runToEnd(args: string[]): Promise<string> {
  const run = new IdfrProcess(args);
  const { code } = await run.exited;
  assert.equal(code, 0, run.output);
  return run.output;
}

const epochsOf = (log: string) => readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l).epoch);

describe("Ctrl-C on a training command", () => {
  it("train-model: exits 130 after the current step, keeps epoch 1's checkpoint, and --resume finishes from it", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-sigint-model-"));
    const args = ["train-model", "--arch", "small-cnn", "--data", "mnist", "--limit", "100", "--width", "0.25", "--epochs", "2",
      "--batch-size", "10", "--workers", "0", "--progress", "lines", "--out", out];
    const output = await interruptAfter(args, /train small-cnn epoch 1\/2:/);
    assert.match(output, new RegExp(`interrupted; the last checkpoint is intact: epoch 1 of 2 in ${join(out, "checkpoint.safetensors")} .*rerun with --resume`));
    assert.ok(existsSync(join(out, "checkpoint.safetensors")) && !existsSync(join(out, "model.safetensors")));

    const resumed = await runToEnd([...args, "--resume"]);
    assert.match(resumed, /resuming train small-cnn from .*: epoch 1 of 2 done/);
    assert.doesNotMatch(resumed, /train small-cnn epoch 1\/2:/);
    assert.deepEqual(epochsOf(join(out, "train-log.jsonl")), [1, 2]);
    assert.ok(existsSync(join(out, "model.safetensors")) && !existsSync(join(out, "checkpoint.safetensors")));
  });

  it("train-id: the same for the denoiser's loop", async () => {
    const target = mkdtempSync(join(tmpdir(), "idfr-sigint-target-"));
    const digits = await loadDataset("mnist", { limit: 100 });
    manualSeed(0);
    const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
    await trainClassifier(model, { train: digits.splits.train }, { epochs: 1, batchSize: 50, workers: 0 }, { outDir: target, progress: "none", dataset: "mnist" });

    const out = mkdtempSync(join(tmpdir(), "idfr-sigint-id-"));
    const args = ["train-id", "--target", target, "--data", "mnist", "--limit", "100", "--out", out, "--id-epochs", "2", "--width", "0.25",
      "--batch-size", "10", "--attack", "fgsm", "--progress", "lines"];
    const output = await interruptAfter(args, /train ID epoch 1\/2:/);
    assert.match(output, new RegExp(`train ID interrupted; the last checkpoint is intact: epoch 1 of 2 in ${join(out, "id-checkpoint.safetensors")}`));
    assert.ok(existsSync(join(out, "id-checkpoint.safetensors")));

    const resumed = await runToEnd([...args, "--resume"]);
    assert.match(resumed, /resuming train ID from .*: epoch 1 of 2 done/);
    assert.deepEqual(epochsOf(join(out, "id-log.jsonl")), [1, 2]);
    assert.ok(existsSync(join(out, "id.safetensors")) && !existsSync(join(out, "id-checkpoint.safetensors")));
  });

  it("train-model --resume says when there is nothing to resume", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-nothing-"));
    const r = await runIdfr(["train-model", "--data", "mnist", "--out", out, "--resume"], 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`nothing to resume: no checkpoint in ${out} \\(rerun without --resume to start\\)`));
  });
});
