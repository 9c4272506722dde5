/** `idfr defend` / `train-id` refuse a target (or attack model) trained on other data than --data. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Command } from "commander";
import { registerDefendCommands } from "../../src/cli/defend.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-defend-fits-"));
after(() => rmSync(dir, { recursive: true, force: true }));

manualSeed(4);
const fashion = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
saveClassifier(join(dir, "fashion"), fashion, { dataset: "fashion-mnist" });
fashion.dispose();

async function idfr(...args: string[]): Promise<void> {
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerDefendCommands(program);
  await program.parseAsync(["node", "idfr", ...args]);
}

test("defend refuses a target trained on another dataset, naming the option, before any training", async () => {
  const out = join(dir, "defense");
  await assert.rejects(idfr("defend", "--target", join(dir, "fashion"), "--data", "mnist", "--limit", "20", "--out", out, "--cpu", "--progress", "none"),
    new RegExp(`--target ${join(dir, "fashion")} does not fit mnist: it was trained on fashion-mnist, not mnist \\(pass --force to use it anyway\\)`));
  assert.equal(existsSync(join(out, "id.safetensors")), false);
});

test("train-id checks the attack model as well", async () => {
  manualSeed(5);
  const digits = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  saveClassifier(join(dir, "digits"), digits, { dataset: "mnist" });
  digits.dispose();
  await assert.rejects(idfr("train-id", "--target", join(dir, "digits"), "--attack-model", join(dir, "fashion"), "--data", "mnist", "--limit", "20",
    "--out", join(dir, "id-only"), "--cpu", "--progress", "none"), /--attack-model .*fashion does not fit mnist/);
});
