/** `idfr train-defense`: trains a registered defense into --out, loads it on the next call, refuses what trains nothing. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command } from "commander";
import { presetSettings, registerTrainDefenseCommand } from "../../src/cli/train-defense.js";
import { loadDataset } from "../../src/data/datasets.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import { CPU_PRESET } from "../../src/defenses/idfr/config.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { Generator, nn, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-train-defense-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const ds = await loadDataset("mnist", { limit: 100 });
const init = new Generator(3);
const target = nn.init.withInitGenerator(init, () => createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }));
init.dispose();
saveClassifier(join(dir, "target"), target, { dataset: "mnist", classes: ds.classes });

async function idfr(...args: string[]): Promise<string> {
  let printed = "";
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerTrainDefenseCommand(program, { write: (s: string) => (printed += s) });
  await program.parseAsync(["node", "idfr", ...args]);
  return printed;
}

describe("idfr train-defense", () => {
  it("fills a section from the preset, under --settings", () => {
    assert.equal((presetSettings(defenseEntry("comdefend"), "paper", { epochs: 2 }) as { preset: string; epochs: number }).preset, "paper");
    assert.equal((presetSettings(defenseEntry("comdefend"), "paper", { epochs: 2 }) as { epochs: number }).epochs, 2);
    assert.deepEqual((presetSettings(defenseEntry("id+fr"), "cpu") as { id: Record<string, unknown> }).id.epochs, CPU_PRESET.id.epochs);
    assert.throws(() => presetSettings(defenseEntry("comdefend"), "cpu", { epochs: 0 }), /settings of comdefend: comdefend\.epochs: /);
    assert.equal(presetSettings(defenseEntry("jpeg-q50"), "cpu"), undefined);
  });

  it("trains ComDefend into --out, then loads it instead of training again", async () => {
    const out = join(dir, "comdefend");
    const args = ["train-defense", "comdefend", "--target", join(dir, "target"), "--data", "mnist", "--limit", "100", "--out", out, "--progress", "none", "--settings", '{"trainImages": 40}'];
    const first = await idfr(...args);
    assert.match(first, /trained ComDefend in \d+ s; saved in /);
    assert.ok(existsSync(join(out, "comdefend.json")), `files: ${readdirSync(out).join(", ")}`);
    await assert.rejects(idfr(...args), /--out .*comdefend: the folder is not empty; pass --resume/);
    const second = await idfr(...args, "--resume");
    assert.match(second, /ComDefend in .* was already trained: loaded it/);
  });

  it("refuses defenses that train nothing, and unknown names", async () => {
    const base = ["--target", join(dir, "target"), "--data", "mnist", "--limit", "100", "--out", join(dir, "x")];
    await assert.rejects(idfr("train-defense", "jpeg-q50", ...base), /defense jpeg-q50 \(JPEG\(q=50\)\) has nothing to train/);
    await assert.rejects(idfr("train-defense", "fast-at", ...base), /use idfr train-model --mode fast-at/);
    await assert.rejects(idfr("train-defense", "nope", ...base), /nope/);
    await assert.rejects(idfr("train-defense", "comdefend", ...base, "--settings", "[1]"), /--settings: expected a JSON object/);
  });
});
