/**
 * A defense added the way every defense is: one file (defenses/baselines/bit-depth.ts) and one
 * registry line. It is then a known config name, a report label, an `idfr list` row and a runner row.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listText } from "../../src/cli/list.js";
import { BitDepthDefense } from "../../src/defenses/baselines/bit-depth.js";
import { defenseEntry, type DefenseEnv } from "../../src/defenses/registry.js";
import { parseExperiment, runExperiment, type ExperimentInput } from "../../src/eval/index.js";
import { defenseLabel } from "../../src/eval/report/names.js";
import { createClassifier } from "../../src/models/registry.js";
import { F, gradOf, manualSeed, rand, setNumThreads, tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";

setNumThreads(1);

test("bit-depth rounds to 2 bits on grey images and passes the gradient straight through (BPDA)", () => {
  manualSeed(3);
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }).eval();
  const defense = defenseEntry("bit-depth").create({ target } as unknown as DefenseEnv) as BitDepthDefense;
  assert.ok(defense instanceof BitDepthDefense);
  assert.equal(defense.bits, 2);
  assert.equal(defenseEntry("bit-depth").adaptive, "bpda");
  tidy(() => {
    const x = rand([4, 1, 28, 28]);
    const y = tensor([0, 1, 2, 3], [4], "int64");
    const purified = defense.purify(x);
    assert.ok(purified.toArray().every((v) => [0, 1 / 3, 2 / 3, 1].some((g) => Math.abs(v - g) < 1e-6)), "every pixel on the 2-bit grid");
    // BPDA: the gradient through the defense is the target's gradient at the purified image.
    const through = gradOf((z) => F.crossEntropy(defense.attackForward(z), y), x);
    const atPurified = gradOf((z) => F.crossEntropy(target.forward(z), y), purified);
    assert.ok(through.abs().sum().item() > 0, "a non-zero gradient");
    assertClose(through.toArray(), atPurified.toArray(), 1e-6, "BPDA gradient");
  });
});

test("bit-depth is a config name, a report label, an idfr list row and a result row", async () => {
  const input: ExperimentInput = {
    name: "bits", dataset: { name: "mnist", trainImages: 100 },
    targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
    defenses: ["none", "bit-depth"], attacks: ["fgsm"], eps: ["8/255"], threats: ["adaptive"],
    adaptive: { attacks: ["fgsm"], defenses: ["bit-depth"] }, evalImages: 20,
  };
  assert.equal(defenseLabel("bit-depth"), "Bit depth");
  assert.match(listText(), /\n {2}bit-depth +bpda +Bit depth /);
  const { records } = await runExperiment(parseExperiment(input), { outDir: mkdtempSync(join(tmpdir(), "idfr-bits-")), progress: "none" });
  const rows = records.filter((r) => r.defense === "bit-depth").map((r) => r.threat);
  assert.deepEqual(rows, ["clean", "adaptive"]);
});
