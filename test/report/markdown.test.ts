/** Markdown tables rendered from a fixed results.json (values from the paper's Table 1). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildTables, renderMarkdown, summarize } from "../../src/eval/report/index.js";
import { validateResults, type ResultRecord } from "../../src/eval/results.js";

const records = validateResults(JSON.parse(readFileSync(new URL("./fixtures/results.json", import.meta.url), "utf8")));
const md = renderMarkdown(records);
const rowOf = (label: string, after: string) => md.slice(md.indexOf(after)).split("\n").find((l) => l.startsWith(`| ${label} |`));

test("two targets share a table: clean then attack × target columns, cells a/b/c for ε = 4/8/16", () => {
  assert.ok(md.includes("## CIFAR-10, black-box (transfer) attacks — VGG16 and ResNet18"));
  assert.ok(md.includes("| Defense | Clean VGG16 | Clean ResNet18 | FGSM (ε = 4/8/16) VGG16 | FGSM (ε = 4/8/16) ResNet18 | CW (ε = 4/8/16) VGG16 |"));
  assert.equal(rowOf("No Defense", "## CIFAR-10"), "| No Defense | 92.6 | 93.2 | 80.3/64.6/46.1 | 82.8/67.6/45.2 | 83.5/77.0/69.3 | 84.5/76.2/70.3 | 82.7/57.1/30.9 | 83.2/55.1/31.5 |");
  assert.equal(rowOf("JPEG(q=50)", "## CIFAR-10"), "| JPEG(q=50) | 80.2 | 82.3 | 74.4/68.2/51.0 | 73.5/69.2/51.8 | 79.0/77.8/75.1 | 79.2/77.2/74.4 | 75.7/70.5/63.3 | 76.3/71.2/64.3 |");
  assert.equal(rowOf("IDFR", "## CIFAR-10"), "| IDFR | 91.2 | 92.5 | 89.7/86.8/73.8 | 90.0/86.2/75.4 | 91.9/90.9/90.6 | 91.7/90.8/90.2 | 90.4/91.7/88.6 | 91.2/90.9/89.1 |");
});

test("rows follow the paper's order and a missing ε shows as –", () => {
  const labels = md.slice(md.indexOf("## CIFAR-10"), md.indexOf("## MNIST")).split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Defense") && !l.startsWith("| ---")).map((l) => l.split(" | ")[0].slice(2));
  assert.deepEqual(labels, ["No Defense", "Feature Squeezing", "JPEG(q=50)", "TVM", "IDFR"]);
  assert.ok(md.includes("## MNIST, white-box attacks — small CNN"));
  assert.ok(md.includes("| Defense | Clean | FGSM (ε = 4/8/16) |"));
  assert.equal(rowOf("ID", "## MNIST"), "| ID | 98.6 | 95.0/92.2/– |");
});

test("each table states n and the 95 % interval; transfer tables name the surrogates", () => {
  assert.ok(md.includes("n = 1000 test images per value. Each value's 95 % Wilson interval reaches at most ±3.1 points"));
  assert.ok(md.includes("n = 500 test images per value. Each value's 95 % Wilson interval reaches at most ±4.4 points"));
  assert.ok(md.includes("Adversarial examples crafted on resnet18-seed1 (for VGG16); vgg16-seed1 (for ResNet18)."));
  assert.ok(md.includes("– = not evaluated."));
});

test("the Fig. 3 averages: clean, undefended, mean and worst baseline, IDFR", () => {
  const [cifar, mnist] = summarize(records);
  assert.equal(cifar.label, "CIFAR-10 (Black-box)");
  assert.equal(cifar.worstBaseline, "jpeg-q50");
  // MNIST: undefended FGSM (61.2 + 30.4 + 8.2) / 3 = 33.27; Feature Squeezing is the only baseline.
  assert.ok(Math.abs((mnist.values.undefended ?? 0) - 0.3327) < 1e-3);
  assert.equal(mnist.values.baselineMean, mnist.values.baselineWorst);
  assert.ok(md.includes("| CIFAR-10 (Black-box) | 92.9 | 66.0 | 72.9 | 70.7 (JPEG(q=50)) | 88.3 |"));
  assert.ok(md.includes("| MNIST (White-box) | 98.8 | 33.3 | 74.7 | 74.7 (Feature Squeezing) | 93.0 |"));
});

test("three targets get a table each; a rerun cell replaces the earlier one", () => {
  const base: ResultRecord = { dataset: "svhn", target: "a", defense: "none", threat: "whitebox", attack: "pgd", eps: 8 / 255, n: 10, accuracy: 0.5, ci95: [0.2, 0.8], seconds: 1 };
  const rs: ResultRecord[] = ["a", "b", "c"].map((target) => ({ ...base, target }));
  rs.push({ ...base, accuracy: 0.7 });
  const tables = buildTables(rs);
  assert.deepEqual(tables.map((t) => t.targets), [["a"], ["b"], ["c"]]);
  assert.deepEqual(tables[0].rows[0].cells, ["–", "70.0"]);
  assert.equal(renderMarkdown([]), "# IDFR evaluation report\n\nNo result records.\n");
});

test("learned baselines bring their notes: the paper's rows were not the authors' methods, SOAP classifies with its own model", () => {
  assert.ok(!md.includes("## Notes on the baselines"), "no learned baseline, no notes");
  const withSoap = renderMarkdown([...records, ...records.filter((r) => r.defense === "none").map((r) => ({ ...r, defense: "soap" }))]);
  const notes = withSoap.slice(withSoap.indexOf("## Notes on the baselines"));
  assert.ok(notes.includes("third-party reimplementation that follows none of the original methods"));
  assert.ok(notes.includes("SOAP replaces the target"));
  assert.ok(!notes.includes("Fast AT replaces the target"));
});
