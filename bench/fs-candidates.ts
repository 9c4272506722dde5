/**
 * Clean validation accuracy of a trained classifier behind each of Feature Squeezing's candidate
 * squeezer chains (Xu et al. 2018's squeezers: bit depth 1–5, 2×2 and 3×3 median, non-local
 * means), as a Markdown table; picks a dataset's chain when Xu et al. give none (Fashion-MNIST):
 * of each kind of squeezer (bit depth, 2×2 median, non-local means) the strongest setting whose
 * accuracy alone stays within `tolerance` points of the unsqueezed accuracy, chained in Xu et al.'s
 * order (a kind with no such setting is left out); then a squeezer whose removal leaves the
 * chain's accuracy as high is dropped (it only costs time).
 * Usage: node --import tsx bench/fs-candidates.ts <model-dir> [dataset, default fashion-mnist] [tolerance points, default 2]
 */
import { loadDataset } from "../src/data/datasets.js";
import { describeSqueezers, squeeze, type Squeezer } from "../src/defenses/baselines/feature-squeezing.js";
import { loadClassifier } from "../src/models/io.js";
import { accuracy } from "../src/models/evaluate.js";
import type { Tensor } from "../src/torch/index.js";

const [dir, datasetName = "fashion-mnist", toleranceArg = "2"] = process.argv.slice(2);
if (!dir) throw new Error("usage: node --import tsx bench/fs-candidates.ts <model-dir> [dataset] [tolerance points]");
const tolerance = Number(toleranceArg) / 100;
const model = loadClassifier(dir).eval();
const ds = await loadDataset(datasetName as never);
const val = ds.splits.val ?? ds.splits.test;
const grey = val.shape[1] === 1;

const bits = (b: number): Squeezer => ({ kind: "bit-depth", bits: b });
const median = (size: number): Squeezer => ({ kind: "median", size });
const nlm = grey ? { kind: "nlm", search: 11, patch: 3, h: 4 } as const : { kind: "nlm", search: 13, patch: 3, h: 2 } as const;
const candidates: Squeezer[][] = [
  [],
  ...[1, 2, 3, 4, 5].map((b) => [bits(b)]),
  [median(2)], [median(3)], [nlm],
  ...[1, 2, 3, 4, 5].map((b) => [bits(b), median(2)]),
  ...[2, 3, 4, 5].map((b) => [bits(b), nlm]),
  ...[3, 4, 5].map((b) => [bits(b), median(2), nlm]),
];

const rows: { chain: Squeezer[]; acc: number }[] = [];
console.log(`${model.arch} from ${dir}, ${datasetName} validation (${val.shape[0]} images)\n`);
console.log("| squeezers | clean validation accuracy |\n| --- | --- |");
for (const chain of candidates) {
  const predictor = (x: Tensor) => model.forward(chain.reduce((z, s) => squeeze(z, s), x));
  const acc = accuracy(predictor, val);
  rows.push({ chain, acc });
  console.log(`| ${chain.length ? describeSqueezers(chain) : "none"} | ${(100 * acc).toFixed(2)} % |`);
}
const base = rows[0].acc;
const alone = (s: Squeezer) => rows.find((r) => r.chain.length === 1 && JSON.stringify(r.chain[0]) === JSON.stringify(s))!.acc;
const within = (s: Squeezer) => alone(s) >= base - tolerance;
let chosen = [
  [1, 2, 3, 4, 5].map(bits).find(within),
  [median(2)].find(within),
  [nlm].find(within),
].filter((s): s is Squeezer => s !== undefined);
const accuracyOf = (c: Squeezer[]) => rows.find((r) => JSON.stringify(r.chain) === JSON.stringify(c))?.acc;
for (const s of [...chosen].reverse()) {
  const without = chosen.filter((t) => t !== s);
  const [a, b] = [accuracyOf(without), accuracyOf(chosen)];
  if (without.length > 0 && a !== undefined && b !== undefined && a >= b) chosen = without;
}
const chain = rows.find((r) => JSON.stringify(r.chain) === JSON.stringify(chosen));
console.log(`\nchosen (per kind, the strongest setting within ${toleranceArg} points of ${(100 * base).toFixed(2)} % alone, chained): ` +
  `${chosen.length ? describeSqueezers(chosen) : "none"}${chain ? `, ${(100 * chain.acc).toFixed(2)} % chained` : ""}`);
