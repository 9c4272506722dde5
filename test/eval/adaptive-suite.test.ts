/** The adaptive suite: extra attacks per defense, the per-sample worst case, the ε sweep and the masking check. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseExperiment, runExperiment, validateResults, type ExperimentInput } from "../../src/eval/index.js";
import { loadSafetensors } from "../../src/torch/index.js";
import { buildTables } from "../../src/eval/report/tables.js";
import { summarize } from "../../src/eval/report/summary.js";
import { maskingChecks, MASKING_THRESHOLD } from "../../src/eval/report/masking.js";
import { renderMarkdown } from "../../src/eval/report/markdown.js";
import type { ResultRecord } from "../../src/eval/results.js";

const suite: ExperimentInput = {
  name: "adaptive-suite",
  dataset: { name: "mnist", trainImages: 300 },
  targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
  defenses: ["none", "jpeg-q50"],
  attacks: ["fgsm"],
  eps: ["8/255"],
  threats: ["adaptive"],
  adaptive: { attacks: ["fgsm", "pgd"], extra: { none: ["bim"] }, worstCase: true, sweep: { attack: "pgd", eps: ["8/255", "64/255"] }, evalImages: 40 },
  evalImages: 60,
};

describe("config", () => {
  it("extra attacks must name configured defenses; adaptive images are a subset of the evaluated ones", () => {
    assert.throws(() => parseExperiment({ ...suite, adaptive: { ...suite.adaptive, extra: { "id+fr": ["bim"] } } }), /adaptive\.extra\.id\+fr: "id\+fr" is not among defenses \(none, jpeg-q50\)/);
    assert.throws(() => parseExperiment({ ...suite, adaptive: { ...suite.adaptive, evalImages: 61 } }), /adaptive\.evalImages: 61 is more than evalImages \(60\)/);
    assert.throws(() => parseExperiment({ ...suite, adaptive: { attacks: ["fgsm"], attackOptions: { steps: 3 } } }), /adaptive\.attackOptions\.steps: none of the attacks \(fgsm\) takes steps/);
    // A setting taken only by an extra attack is used, so it is accepted.
    assert.equal(parseExperiment({ ...suite, adaptive: { attacks: ["fgsm"], extra: { none: ["pgd"] }, attackOptions: { steps: 3 } } }).adaptive.attackOptions.steps, 3);
  });
});

describe("the adaptive suite end to end", () => {
  const out = mkdtempSync(join(tmpdir(), "idfr-adaptive-"));
  let records: ResultRecord[] = [];
  it("plans each attack per defense, the extra attacks, the worst case and the sweep, each once", async () => {
    const run = await runExperiment(parseExperiment(suite), { outDir: out, progress: "none" });
    records = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    assert.equal(run.records.length, records.length);
    const adaptive = records.filter((r) => r.threat === "adaptive");
    const names = (d: string) => adaptive.filter((r) => r.defense === d).map((r) => `${r.attack}@${Math.round(r.eps * 255)}${r.sweep ? "s" : ""}`).sort();
    // pgd@8 is both a suite attack and a sweep radius: planned once, not marked as sweep.
    assert.deepEqual(names("none"), ["bim@8", "fgsm@8", "none@0", "pgd@64s", "pgd@8", "worst-case@8"]);
    assert.deepEqual(names("jpeg-q50"), ["fgsm@8", "none@0", "pgd@64s", "pgd@8", "worst-case@8"]);
    for (const r of adaptive) assert.equal(r.n, 40, `${r.defense} ${r.attack}: the adaptive subset`);
    // The subset's own clean accuracy, which the adaptive table shows in its Clean column.
    assert.equal(adaptive.filter((r) => r.attack === "none").length, 2);
    const table = buildTables(records).find((t) => t.threat === "adaptive")!;
    const subsetClean = adaptive.find((r) => r.defense === "none" && r.attack === "none")!;
    assert.equal(table.rows.find((r) => r.defense === "none")!.cells[0], (Math.round(subsetClean.accuracy * 1000) / 10).toFixed(1));
    assert.equal(records.find((r) => r.threat === "clean")!.n, 60);
  });
  it("the worst case is the per-sample AND over the defense's attacks", () => {
    // Recompute it from the cached AE sets: a sample survives only if it survives every attack.
    const get = (d: string, a: string) => records.find((r) => r.threat === "adaptive" && r.defense === d && r.attack === a && r.eps === 8 / 255)!;
    for (const d of ["none", "jpeg-q50"]) {
      const worst = get(d, "worst-case").accuracy;
      const parts = (d === "none" ? ["fgsm", "pgd", "bim"] : ["fgsm", "pgd"]).map((a) => get(d, a).accuracy);
      assert.ok(worst <= Math.min(...parts) + 1e-12, `${d}: worst ${worst} above a part ${parts}`);
    }
    // Against the undefended target, PGD at 8/255 is at least as strong as FGSM; the worst case can be stronger than both.
    assert.ok(get("none", "worst-case").accuracy <= get("none", "pgd").accuracy);
  });
  it("sweep radii are charted but left out of the tables and the averages; the worst case is left out of the averages", () => {
    const tables = buildTables(records);
    const adaptiveTable = tables.find((t) => t.threat === "adaptive")!;
    assert.deepEqual(adaptiveTable.epsilons, [8 / 255]);
    assert.ok(adaptiveTable.columns.some((c) => c.attack === "worst-case"));
    const avg = summarize(records).find((g) => g.threat === "adaptive")!;
    const own = records.filter((r) => r.threat === "adaptive" && r.defense === "none" && !r.sweep && r.attack !== "worst-case" && r.attack !== "none");
    assert.ok(Math.abs(avg.values.undefended! - own.reduce((s, r) => s + r.accuracy, 0) / own.length) < 1e-12);
  });
  it("the masking check reads the largest sweep radius", () => {
    const rows = maskingChecks(records);
    const none = rows.find((r) => r.defense === "none" && r.attack === "pgd")!;
    assert.equal(Math.round(none.eps * 255), 64);
    assert.equal(none.flagged, none.accuracy > MASKING_THRESHOLD);
    // PGD at 64/255 breaks an undefended small CNN.
    assert.ok(none.accuracy < 0.1, `undefended at 64/255: ${none.accuracy}`);
    assert.match(renderMarkdown(records), /## Gradient-masking check/);
  });
});

describe("the masking check on hand-made records", () => {
  const rec = (defense: string, eps: number, accuracy: number, attack = "apgd-ce"): ResultRecord =>
    ({ dataset: "mnist", target: "small-cnn", defense, threat: "adaptive", attack, eps, n: 100, accuracy, ci95: [0, 1], seconds: 0 });
  it("flags accuracy above the threshold at the largest radius, and ignores radii below 32/255", () => {
    const rows = maskingChecks([rec("none", 16 / 255, 0.5), rec("none", 64 / 255, 0.02), rec("jpeg-q50", 32 / 255, 0.05), rec("jpeg-q50", 64 / 255, 0.4), rec("tvm", 16 / 255, 0.9)]);
    assert.deepEqual(rows.map((r) => [r.defense, Math.round(r.eps * 255), r.flagged]), [["none", 64, false], ["jpeg-q50", 64, true]]);
    assert.match(renderMarkdown([rec("jpeg-q50", 64 / 255, 0.4)]), /JPEG\(q=50\).*64\/255: 40\.0 % — \*\*possible gradient masking\*\*/);
  });
});

describe("an adaptive attack repeated over runs (adaptive.runs)", () => {
  const repeated: ExperimentInput = { ...suite, name: "adaptive-runs", defenses: ["none"], adaptive: { attacks: ["pgd"], runs: 3, evalImages: 40 } };
  it("reports the mean, the sample standard deviation and the every-run share; run 0 is the one-run cell", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-adaptive-runs-"));
    await runExperiment(parseExperiment(repeated), { outDir: out, progress: "none" });
    const records = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    const cell = records.find((r) => r.threat === "adaptive" && r.attack === "pgd")!;
    const runs = cell.runs!;
    assert.equal(runs.accuracies.length, 3);
    const mean = runs.accuracies.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.abs(cell.accuracy - mean) < 1e-12);
    assert.ok(Math.abs(runs.std - Math.sqrt(runs.accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / 2)) < 1e-12);
    assert.ok(runs.everyRun <= Math.min(...runs.accuracies) + 1e-12, `every-run share ${runs.everyRun} above a run ${runs.accuracies}`);
    // Each run crafted its own AEs (PGD's random start reseeded): three sets, not all equal.
    const sets = readdirSync(join(out, "cache")).filter((f) => f.startsWith("aes-")).map((f) => loadSafetensors(join(out, "cache", f)).tensors.get("adversarial")!.toArray() as number[]);
    assert.equal(sets.length, 3);
    assert.ok(sets.some((s) => s.some((v, i) => v !== sets[0][i])), "the runs' AEs differ");
    // The one-run config in the same folder reuses run 0's AEs and gets run 0's accuracy.
    await runExperiment(parseExperiment({ ...repeated, adaptive: { attacks: ["pgd"], evalImages: 40 } }), { outDir: out, progress: "none" });
    const single = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8"))).find((r) => r.threat === "adaptive" && r.attack === "pgd")!;
    assert.equal(single.runs, undefined);
    assert.equal(single.accuracy, runs.accuracies[0]);
    // The table shows mean ± std (every run), and its note says so.
    const table = buildTables(records).find((t) => t.threat === "adaptive")!;
    assert.match(table.rows[0].cells[1], /^\d+\.\d±\d+\.\d \(\d+\.\d\)$/);
    assert.match(renderMarkdown(records), /mean ± standard deviation over 3 runs/);
  });
  it("runs must be a positive integer", () => {
    assert.throws(() => parseExperiment({ ...repeated, adaptive: { attacks: ["pgd"], runs: 0 } }), /adaptive\.runs/);
  });
});
