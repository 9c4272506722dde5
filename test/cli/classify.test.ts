/** `idfr classify` end to end on a tiny untrained defense: predictions, unique --save-denoised names, errors naming the option. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Command } from "commander";
import sharp from "sharp";
import { denoisedNames, registerClassifyCommand } from "../../src/cli/classify.js";
import { IdfrDefense, saveDefense } from "../../src/defenses/idfr/defense.js";
import { InputDenoiser } from "../../src/defenses/idfr/denoiser.js";
import { FeatureRestorer } from "../../src/defenses/idfr/restorer.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-classify-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

manualSeed(5);
const classes = ["zero", "one", "two"];
const target = createClassifier("small-cnn", { numClasses: 3, inputShape: [1, 12, 12], width: 0.25, normalization: { mean: [0.5], std: [0.25] } });
saveClassifier(join(dir, "target"), target, { dataset: "mnist", classes });
// A non-zero last layer, so the denoiser's output depends on its input.
const denoiser = new InputDenoiser({ channels: 1, width: 0.25, zeroInitResidual: false });
saveDefense(join(dir, "defense"), new IdfrDefense(target, denoiser, new FeatureRestorer(target.embeddingDim)), { targetDir: join(dir, "target") });

/** Two different grey images with the same file name in two folders. */
for (const [sub, level] of [["a", 40], ["b", 220]] as const) {
  mkdirSync(join(dir, sub));
  const pixels = Buffer.alloc(12 * 12, 0).map((_, i) => (i * 7 + level) % 256);
  await sharp(pixels, { raw: { width: 12, height: 12, channels: 1 } }).png().toFile(join(dir, sub, "x.png"));
}

async function idfr(...args: string[]): Promise<string> {
  let printed = "";
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerClassifyCommand(program, { write: (s: string) => (printed += s) });
  await program.parseAsync(["node", "idfr", ...args]);
  return printed;
}

test("denoisedNames keeps plain names and numbers only the ones that would collide", () => {
  assert.deepEqual(denoisedNames(["a/x.png", "b/x.png", "c/y.jpg"]), ["x-1.denoised.png", "x-2.denoised.png", "y.denoised.png"]);
  assert.deepEqual(denoisedNames(["x.png", "X.jpg"]), ["x-1.denoised.png", "X-2.denoised.png"]);
  assert.deepEqual(denoisedNames(["p.png"]), ["p.denoised.png"]);
});

test("idfr classify prints both predictions per image and writes one denoised PNG per input, even with equal names", async () => {
  const out = join(dir, "denoised");
  const a = join(dir, "a", "x.png");
  const b = join(dir, "b", "x.png");
  const text = await idfr("classify", "--defense", join(dir, "defense"), "--save-denoised", out, "--device", "cpu", a, b);
  const line = (file: string) => new RegExp(`^${file}: undefended (zero|one|two) \\(\\d+\\.\\d %\\), id\\+fr (zero|one|two) \\(\\d+\\.\\d %\\)$`, "m");
  assert.match(text, line(a));
  assert.match(text, line(b));
  assert.deepEqual(readdirSync(out).sort(), ["x-1.denoised.png", "x-2.denoised.png"]);
  const [first, second] = await Promise.all(["x-1", "x-2"].map((n) => sharp(join(out, `${n}.denoised.png`)).raw().toBuffer()));
  assert.equal(first.length % (12 * 12), 0);
  assert.notDeepEqual(first, second);
});

test("idfr classify names the option whose folder is broken", async () => {
  const image = join(dir, "a", "x.png");
  await assert.rejects(idfr("classify", "--defense", join(dir, "nothing"), image), /^Error: --defense .*nothing: .*not a defense folder/);
  const broken = join(dir, "broken");
  mkdirSync(broken);
  writeFileSync(join(broken, "model.json"), "[");
  await assert.rejects(idfr("classify", "--defense", join(dir, "defense"), "--target", broken, image), /^Error: --target .*broken: .*model\.json: not valid JSON/);
});
