/** `idfr certify` and `idfr certify-report` on a small model: results file, resume, report, bad flags. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command } from "commander";
import { registerCertifyCommand } from "../../src/cli/certify.js";
import { DEBIAN_FASHION_MNIST_DIR } from "../../src/data/embedded.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-certify-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const installed = existsSync(join(DEBIAN_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));

manualSeed(6);
const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "fashion-mnist" });
saveClassifier(join(dir, "model"), model, { dataset: "fashion-mnist" });

async function idfr(...args: string[]): Promise<string> {
  let text = "";
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerCertifyCommand(program, { write: (t: string) => { text += t; } });
  await program.parseAsync(["node", "idfr", ...args]);
  return text;
}

describe("idfr certify", { skip: installed ? false : "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)" }, () => {
  it("writes per-image certificates and a curve, resumes a finished file without recomputing, and reports it", async () => {
    const out = join(dir, "c.json");
    const args = ["certify", "--model", join(dir, "model"), "--sigma", "0.25", "--n", "200", "--n0", "20", "--images", "4", "--out", out, "--progress", "none", "--label", "Tiny"];
    const text = await idfr(...args);
    assert.match(text, /σ = 0.25, n0 = 20, n = 200, α = 0.001/);
    const first = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(first.images.length, 4);
    assert.equal(first.label, "Tiny");
    assert.equal(first.summary.curve[0].radius, 0);
    for (const im of first.images) assert.ok(im.prediction === -1 ? im.radius === 0 : im.radius > 0);
    await idfr(...args);
    assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), first);
    const report = await idfr("certify-report", out, "--out", join(dir, "report"));
    assert.match(report, /\| Tiny \| 0.25 \|/);
    assert.match(readFileSync(join(dir, "report", "certified-accuracy.svg"), "utf8"), /^<svg/);
  });
});

it("needs exactly one of --defense and --model, and a valid alpha", async () => {
  await assert.rejects(idfr("certify", "--sigma", "0.25"), /give exactly one of --defense DIR/);
  await assert.rejects(idfr("certify", "--model", "a", "--defense", "b", "--sigma", "0.25"), /give exactly one of --defense DIR/);
  await assert.rejects(idfr("certify", "--model", "a", "--sigma", "0.25", "--alpha", "2"), /expected a probability in \(0, 1\), got "2"/);
  await assert.rejects(idfr("certify-report", join(dir, "missing.json"), "--out", dir), /missing\.json/);
});
