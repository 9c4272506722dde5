/** `idfr attack` end to end on tiny untrained models and 16 embedded digits. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Command } from "commander";
import { registerAttackCommand } from "../../src/cli/attack.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { loadSafetensors, manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-attack-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const [name, seed] of [["target", 1], ["surrogate", 2]] as const) {
  manualSeed(seed);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  saveClassifier(join(dir, name), model, { dataset: "mnist" });
  model.dispose();
}

async function idfr(...args: string[]): Promise<string> {
  let printed = "";
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerAttackCommand(program, { write: (s: string) => (printed += s) });
  await program.parseAsync(["node", "idfr", ...args]);
  return printed;
}

test("idfr attack prints robust accuracy, success rate and norms, and saves the AEs", async () => {
  const save = join(dir, "aes");
  const text = await idfr("attack", "--model", join(dir, "target"), "--data", "mnist", "--attack", "pgd", "--eps", "8/255",
    "--preset", "standard", "--n", "16", "--save", save);
  assert.match(text, /^pgd \(standard preset, untargeted\), l_inf eps 0\.0314 \(8\.0\/255\), whitebox/);
  assert.match(text, /robust accuracy +\d+\.\d\d % \(\d+\/16, 95 % CI/);
  assert.match(text, /success rate/);
  assert.match(text, /L_inf +mean 0\.03\d+, max 0\.0314/);
  const report = JSON.parse(readFileSync(join(save, "adversarial.json"), "utf8"));
  assert.equal(report.n, 16);
  assert.equal(report.threat, "whitebox");
  assert.ok(report.robust.correct <= report.clean.correct);
  const { tensors, metadata } = loadSafetensors(join(save, "adversarial.safetensors"));
  assert.deepEqual(tensors.get("adversarial")!.shape, [16, 1, 28, 28]);
  assert.deepEqual(tensors.get("labels")!.shape, [16]);
  assert.equal(metadata?.attack, "pgd");
  for (const t of tensors.values()) t.dispose();
});

test("idfr attack --surrogate transfers; --targeted aims at random classes; --json prints the report", async () => {
  const report = JSON.parse(await idfr("attack", "--model", join(dir, "target"), "--surrogate", join(dir, "surrogate"), "--data", "mnist",
    "--attack", "fgsm", "--eps", "0.1", "--n", "8", "--targeted", "--json"));
  assert.equal(report.threat, "transfer");
  assert.equal(report.goal, "targeted");
  assert.equal(report.eps, 0.1);
  assert.ok(report.linf.max <= 0.1 + 1e-6);
});

test("idfr attack rejects a malformed --eps with the option's name", async () => {
  await assert.rejects(idfr("attack", "--model", join(dir, "target"), "--data", "mnist", "--eps", "eight"), /--eps <r>' argument 'eight' is invalid\. expected a number such as 0\.031/);
  await assert.rejects(idfr("attack", "--model", join(dir, "target"), "--data", "mnist", "--eps", "2/255", "--attack", "bim", "--eps", "1.5", "--n", "2"), /eps: expected a number in \[0, 1\], got 1.5/);
});

test("idfr attack refuses a model trained on another dataset unless --force", async () => {
  manualSeed(3);
  const fashion = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  saveClassifier(join(dir, "fashion"), fashion, { dataset: "fashion-mnist" });
  fashion.dispose();
  const args = ["attack", "--model", join(dir, "fashion"), "--data", "mnist", "--attack", "fgsm", "--n", "4", "--json"];
  await assert.rejects(idfr(...args), new RegExp(`--model ${join(dir, "fashion")} does not fit mnist: it was trained on fashion-mnist, not mnist \\(pass --force to use it anyway\\)`));
  assert.equal(JSON.parse(await idfr(...args, "--force")).n, 4);
  // A surrogate is checked too: it must have been trained on the same data.
  await assert.rejects(idfr("attack", "--model", join(dir, "target"), "--surrogate", join(dir, "fashion"), "--data", "mnist", "--n", "4"),
    /--surrogate .*fashion does not fit mnist: it was trained on fashion-mnist/);
});

test("idfr attack names the option whose model folder is broken", async () => {
  const broken = join(dir, "broken");
  mkdirSync(broken, { recursive: true });
  writeFileSync(join(broken, "model.json"), "{ not json");
  await assert.rejects(idfr("attack", "--model", join(dir, "target"), "--surrogate", broken, "--data", "mnist", "--n", "2"),
    new RegExp(`^Error: --surrogate ${broken}: ${join(broken, "model.json")}: not valid JSON`));
  await assert.rejects(idfr("attack", "--model", broken, "--data", "mnist", "--n", "2"), new RegExp(`^Error: --model ${broken}: .*not valid JSON`));
  await assert.rejects(idfr("attack", "--model", join(dir, "missing"), "--data", "mnist", "--n", "2"), /--model .*missing: .*not a model folder/);
});

test("idfr attack runs on --device cpu and gives the same report as without it", async () => {
  const args = ["attack", "--model", join(dir, "target"), "--data", "mnist", "--attack", "bim", "--n", "8", "--json"];
  const strip = (text: string) => ({ ...JSON.parse(text), seconds: 0, imagesPerSecond: 0 });
  assert.deepEqual(strip(await idfr(...args, "--device", "cpu")), strip(await idfr(...args)));
});
