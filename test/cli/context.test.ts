/** The shared command options: --device checked against the linked libtorch, --progress, and the RunContext built from them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { addRunOptions, contextFromFlags, moveToDevice, parseDevice, type RunFlags } from "../../src/cli/context.js";
import { createClassifier } from "../../src/models/registry.js";
import { cudaDeviceCount } from "../../src/torch/index.js";

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
