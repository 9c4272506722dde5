/** White-box cells of a defense that replaces the target attack that defense's own model. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { parseExperiment, runExperiment } from "../../src/eval/index.js";
import { planCells, runKeys } from "../../src/eval/runner.js";
import { loadExperimentData } from "../../src/eval/experiment-data.js";

const config = parseExperiment({
  name: "whitebox-own",
  dataset: { name: "mnist", trainImages: 200 },
  targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
  defenses: ["none", "jpeg-q50", "fast-at"],
  fastAt: { epochs: 1, earlyStop: { images: 16, steps: 2 } },
  attacks: ["fgsm"], eps: ["8/255"], threats: ["whitebox"], evalImages: 40,
});

it("Fast AT's white-box AEs are made on its robust model; the other rows share the target's", async () => {
  const data = await loadExperimentData(config);
  const keys = runKeys(config, data);
  const ae = (d: string) => planCells(config, keys).find((c) => c.defenseName === d && c.ae)!.ae!;
  assert.equal(ae("none").key, ae("jpeg-q50").key, "defenses that keep the target share one AE set");
  assert.notEqual(ae("fast-at").key, ae("none").key);
  assert.equal(ae("fast-at").on, keys.defense("fast-at", 0));
  const run = await runExperiment(config, { outDir: mkdtempSync(join(tmpdir(), "idfr-wb-")), progress: "none" });
  assert.equal(run.stats.aeSetsCrafted, 2);
});
