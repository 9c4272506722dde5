import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, parseExperiment, presetConfigs, readExperiment, runExperiment, validateResults, type ExperimentInput } from "../../src/eval/index.js";

const tiny: ExperimentInput = {
  name: "tiny",
  dataset: { name: "mnist", trainImages: 300 },
  targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
  defenses: ["none", "feature-squeezing"],
  attacks: ["fgsm"],
  eps: ["8/255"],
  threats: ["transfer", "whitebox"],
  evalImages: 60,
};

describe("experiment configs", () => {
  it("fills defaults and reads radii written as 8/255", () => {
    const c = parseExperiment(tiny);
    assert.equal(c.eps[0], 8 / 255);
    assert.equal(c.preset, "paper");
    assert.equal(c.targets[0].optimizer, "sgd");
    assert.deepEqual(c.adaptive.attacks, ["pgd"]);
  });
  it("names every bad key", () => {
    const bad = { ...tiny, eps: ["8/255", "lots"], attacks: ["fgsm", "deepfool"], extra: 1, targets: [{ arch: "vgg19", surrogate: { arch: "vgg16" } }] };
    assert.throws(() => parseExperiment(bad, "bad.json"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^bad\.json: invalid experiment config/);
      assert.match(err.message, /eps\.1: expected a radius in \[0, 1\] such as 8\/255, got "lots"/);
      assert.match(err.message, /attacks\.1: Invalid option/);
      assert.match(err.message, /targets\.0\.arch: Invalid option/);
      assert.match(err.message, /Unrecognized key: "extra"/);
      return true;
    });
  });
  it("reads config files, with clear errors for missing files and bad JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-cfg-"));
    writeFileSync(join(dir, "ok.json"), JSON.stringify(tiny));
    assert.equal(readExperiment(join(dir, "ok.json")).name, "tiny");
    writeFileSync(join(dir, "broken.json"), "{ nope");
    assert.throws(() => readExperiment(join(dir, "broken.json")), /broken\.json: not valid JSON/);
    assert.throws(() => readExperiment(join(dir, "missing.json")), /missing\.json: cannot read the config \(ENOENT\)/);
  });
  it("every preset is a valid config, and paper presets ask for their data folder", () => {
    assert.equal(presetConfigs("demo")[0].dataset.name, "fashion-mnist");
    assert.equal(presetConfigs("demo", { dataset: "mnist" })[0].dataset.name, "mnist");
    assert.equal(presetConfigs("paper-cifar10", { root: "/data/cifar" })[0].targets.length, 2);
    assert.equal(presetConfigs("paper-ablation", { root: "/a", svhnRoot: "/b" }).length, 2);
    assert.ok(presetConfigs("paper-imagenet", { root: "/a" })[0].threats.includes("adaptive"));
    assert.throws(() => presetConfigs("paper-cifar100"), /--data <dir> is required/);
    assert.throws(() => presetConfigs("table9"), /unknown preset "table9"/);
  });
});

describe("the result matrix runner", () => {
  const out = mkdtempSync(join(tmpdir(), "idfr-run-"));
  it("computes every cell once, writes results.json, and a second run computes nothing", async () => {
    const first = await runExperiment(parseExperiment(tiny), { outDir: out, progress: "none" });
    assert.equal(first.stats.modelsTrained, 2);
    assert.equal(first.stats.aeSetsCrafted, 2);
    assert.equal(first.stats.cellsComputed, 2 + 2 * 2);
    const records = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    assert.equal(records.length, 6);
    const clean = records.find((r) => r.defense === "none" && r.threat === "clean")!;
    assert.equal(clean.n, 60);
    assert.ok(clean.ci95[0] <= clean.accuracy && clean.accuracy <= clean.ci95[1]);
    assert.ok(records.some((r) => r.threat === "transfer" && r.surrogate === "small-cnn"));

    const second = await runExperiment(parseExperiment(tiny), { outDir: out, progress: "none" });
    assert.deepEqual({ ...second.stats, seconds: 0 }, { modelsTrained: 0, defensesTrained: 0, aeSetsCrafted: 0, cellsComputed: 0, cellsCached: 6, seconds: 0 });
    assert.deepEqual(second.records, first.records);
  });
  it("the same config in a fresh folder writes byte-identical results.json; timings go beside it", async () => {
    const again = mkdtempSync(join(tmpdir(), "idfr-run-again-"));
    try {
      await runExperiment(parseExperiment(tiny), { outDir: again, progress: "none" });
      assert.equal(readFileSync(join(again, "results.json"), "utf8"), readFileSync(join(out, "results.json"), "utf8"));
      const timings = JSON.parse(readFileSync(join(again, "timings.json"), "utf8")) as { machine: { cpu: string; threads: number }; engine: { deterministic: boolean }; cells: { defense: string; seconds: number }[] };
      assert.equal(timings.cells.length, 6);
      assert.ok(timings.cells.every((t) => typeof t.defense === "string" && t.seconds >= 0));
      assert.ok(timings.machine.cpu.length > 0 && timings.machine.threads >= 1, JSON.stringify(timings.machine));
      assert.equal(timings.engine.deterministic, false);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
  it("a new radius recomputes only the AEs and cells that use it", async () => {
    const more = await runExperiment(parseExperiment({ ...tiny, eps: ["8/255", "16/255"] }), { outDir: out, progress: "none" });
    assert.equal(more.stats.modelsTrained, 0);
    assert.equal(more.stats.aeSetsCrafted, 2, "transfer and white-box AEs at 16/255");
    assert.equal(more.stats.cellsComputed, 4, "two defenses x two threats at 16/255");
    assert.equal(more.stats.cellsCached, 6);
  });
  it("a crash mid-run loses no finished cell", async () => {
    const cfg = parseExperiment({ ...tiny, attacks: ["fgsm", "bim"] });
    let seen = 0;
    await assert.rejects(runExperiment(cfg, { outDir: out, progress: "none", onCell: () => { if (++seen === 2) throw new Error("power cut"); } }), /power cut/);
    const resumed = await runExperiment(cfg, { outDir: out, progress: "none" });
    assert.equal(resumed.stats.cellsCached, 6 + 2, "the six earlier cells and the two computed before the crash");
    assert.equal(resumed.stats.cellsComputed, 2);
  });
  it("rejects unknown defenses before doing any work", async () => {
    // The check lives in the config schema now; a config built by hand is checked by the runner too.
    assert.throws(() => parseExperiment({ ...tiny, defenses: ["none", "magic"] }), /defenses: unknown defense "magic"/);
    const handMade = { ...parseExperiment(tiny), defenses: ["none", "magic"] };
    await assert.rejects(runExperiment(handMade, { outDir: join(out, "x"), progress: "none" }), /defenses: unknown defense "magic"; known: none, /);
    rmSync(join(out, "x"), { recursive: true, force: true });
  });
});
