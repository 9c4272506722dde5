/** The shared command options: --device checked against the linked libtorch, --progress, and the RunContext built from them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { addRunOptions, contextFromFlags, DETERMINISTIC_THREADS, moveToDevice, parseDevice, type RunFlags } from "../../src/cli/context.js";
import { engineSettings, runContext } from "../../src/core/context.js";
import { createClassifier } from "../../src/models/registry.js";
import { cudaDeviceCount, deterministicState, getNumThreads, setDeterministic, setNumThreads } from "../../src/torch/index.js";

/** Parses `args` for a command with the run options and returns the flags its action saw. */
async function flagsOf(args: string[], progress = true): Promise<RunFlags> {
  let seen: RunFlags | null = null;
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  addRunOptions(program.command("job"), { progress }).action((flags: RunFlags) => {
    seen = flags;
  });
  await program.parseAsync(["node", "idfr", "job", ...args]);
  return seen!;
}

test("--device defaults to cpu and the RunContext carries it", async () => {
  const flags = await flagsOf([]);
  assert.equal(flags.device, "cpu");
  const ctx = contextFromFlags(flags, { outDir: "out", resume: true });
  assert.deepEqual([ctx.device, ctx.outDir, ctx.resume], ["cpu", "out", true]);
  assert.equal(contextFromFlags(await flagsOf(["--device", "cpu", "--progress", "none"])).progress, "none");
  await assert.rejects(flagsOf(["--progress", "fancy"]), /--progress <mode>' argument 'fancy' is invalid\. Allowed choices are bar, lines, none/);
  await assert.rejects(flagsOf(["--progress", "none"], false), /unknown option '--progress'/);
});

test("--device rejects a malformed name with the option's name", async () => {
  await assert.rejects(flagsOf(["--device", "gpu"]), /--device <name>' argument 'gpu' is invalid\. expected cpu, cuda or cuda:N/);
  assert.throws(() => parseDevice("cuda:x", () => 1), /expected cpu, cuda or cuda:N \(N a device index\), got "cuda:x"/);
});

test("--device cuda says what to install when libtorch has no CUDA, and names the devices there are", async () => {
  assert.throws(() => parseDevice("cuda", () => 0), /^Error: --device cuda: this libtorch was built without CUDA \(or sees no GPU\); install a CUDA build of libtorch and set LIBTORCH, or use --device cpu$/);
  assert.throws(() => parseDevice("cuda:2", () => 2), /--device cuda:2: this machine has 2 CUDA device\(s\), numbered 0 to 1/);
  assert.equal(parseDevice("cuda:1", () => 2), "cuda:1");
  if (cudaDeviceCount() === 0) {
    // The linked libtorch itself: a CPU build (or no GPU) here.
    await assert.rejects(flagsOf(["--device", "cuda:0"]), /--device cuda:0: this libtorch was built without CUDA/);
  } else {
    assert.equal((await flagsOf(["--device", "cuda:0"])).device, "cuda:0");
  }
});

test("moveToDevice leaves a model on the CPU as it is", () => {
  const model = createClassifier("small-cnn", { numClasses: 3, inputShape: [1, 8, 8], width: 0.25, normalization: { mean: [0], std: [1] } });
  const weights = model.parameters()[0];
  assert.equal(moveToDevice(model, "cpu"), model);
  assert.equal(model.parameters()[0], weights);
  assert.equal(weights.device, "cpu");
  model.dispose();
});

/** Parses `args` like {@link flagsOf}, and reads libtorch's state inside the action; restores it afterwards. */
async function engineDuring(args: string[]): Promise<{ flags: RunFlags; deterministic: boolean; threads: number }> {
  const threads = getNumThreads();
  let seen: { flags: RunFlags; deterministic: boolean; threads: number } | null = null;
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  addRunOptions(program.command("job")).action((flags: RunFlags) => {
    seen = { flags, deterministic: deterministicState().algorithms, threads: getNumThreads() };
  });
  try {
    await program.parseAsync(["node", "idfr", "job", ...args]);
  } finally {
    setDeterministic(false);
    setNumThreads(threads);
  }
  return seen!;
}

test("--deterministic turns libtorch's deterministic mode on before the action, with 1 thread unless --threads says otherwise", async () => {
  const before = getNumThreads();
  const plain = await engineDuring([]);
  assert.deepEqual([plain.deterministic, plain.threads], [false, before], "without the flags libtorch is left as it is");
  const det = await engineDuring(["--deterministic"]);
  assert.deepEqual([det.deterministic, det.threads], [true, DETERMINISTIC_THREADS]);
  assert.equal(DETERMINISTIC_THREADS, 1);
  const det3 = await engineDuring(["--deterministic", "--threads", "3"]);
  assert.deepEqual([det3.deterministic, det3.threads], [true, 3]);
  const threads3 = await engineDuring(["--threads", "3"]);
  assert.deepEqual([threads3.deterministic, threads3.threads], [false, 3]);
  await assert.rejects(engineDuring(["--threads", "0"]), /--threads <n>' argument '0' is invalid\. expected a positive integer, got "0"/);
  assert.deepEqual([deterministicState().algorithms, getNumThreads()], [false, before]);
});

test("the RunContext records the engine settings a run had, for its metadata", async () => {
  const threads = getNumThreads();
  try {
    const ctx = contextFromFlags((await engineDuring(["--deterministic"])).flags);
    assert.deepEqual([ctx.deterministic, ctx.threads], [true, 1]);
    assert.deepEqual(engineSettings(ctx), { deterministic: true, threads: 1 });
    assert.deepEqual(engineSettings(contextFromFlags({ threads: 2 })), { deterministic: false, threads: 2 });
  } finally {
    setDeterministic(false);
    setNumThreads(threads);
  }
  assert.deepEqual(engineSettings(runContext()), { deterministic: false });
});
