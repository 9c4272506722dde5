/**
 * Distributed evaluation: two ranks split the AE crafting and the measurement of every cell by
 * images, and results.json is byte for byte the one process's (same models, reused from the cache).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { availableBackends } from "../../src/distributed/index.js";
import { parseExperiment, runExperiment, type ExperimentInput } from "../../src/eval/index.js";
import { freePort, startRank } from "./helpers.js";

const skip = availableBackends().includes("gloo") ? false : "the addon was built without Gloo";

// 41 images over 2 ranks: shares of 20 and 21. PGD's random starts make the AEs depend on the sample ids.
const tiny: ExperimentInput = {
  name: "tiny-dist",
  dataset: { name: "mnist", trainImages: 100 },
  targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
  defenses: ["none", "feature-squeezing"],
  attacks: ["pgd"],
  eps: ["8/255"],
  threats: ["transfer", "whitebox"],
  attackOptions: { steps: 4 },
  evalImages: 41,
};

describe("distributed evaluation", { skip, timeout: 120_000 }, () => {
  it("two ranks write the one-process results.json (AEs crafted and cells measured by shares)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-eval-"));
    try {
      const one = join(dir, "one");
      await runExperiment(parseExperiment(tiny), { outDir: one, progress: "none" });
      // The same trained models; the AE sets and cells are made again, by two ranks.
      const two = join(dir, "two");
      cpSync(one, two, { recursive: true });
      rmSync(join(two, "cells"), { recursive: true });
      rmSync(join(two, "results.json"));
      for (const f of readdirSync(join(two, "cache"))) if (f.startsWith("aes-")) rmSync(join(two, "cache", f));
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify(tiny));
      const port = await freePort();
      const ranks = [0, 1].map((r) => startRank(r, 2, port, "eval", [config, two], { IDFR_TEST_TIMEOUT_MS: "60000" }));
      const done = await Promise.all(ranks.map((p) => p.exited));
      done.forEach((d, r) => assert.equal(d.code, 0, ranks[r].output()));
      const stats = JSON.parse(ranks[0].output().trim().split("\n").pop()!);
      assert.equal(stats.modelsTrained, 0);
      assert.equal(stats.aeSetsCrafted, 2);
      assert.equal(stats.cellsComputed, 6);
      assert.equal(readFileSync(join(two, "results.json"), "utf8"), readFileSync(join(one, "results.json"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
