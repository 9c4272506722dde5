/**
 * Run time of AutoAttack's custom version [apgd-ce, apgd-t] (100 steps, 9 targets, 1 restart) on
 * the small test CNN, trained for a few seconds on 300 real digits and attacked on 50 others.
 * Usage: node --import tsx bench/autoattack.ts [eps, default 8/255] [threads, default 1]
 */
import { AutoAttack, parseEps } from "../src/attacks/index.js";
import { setNumThreads } from "../src/torch/index.js";
import { accuracy, digits, trainCnn } from "../test/attacks/models.js";

const eps = parseEps(process.argv[2] ?? "8/255");
setNumThreads(Number(process.argv[3] ?? 1));
const train = digits(0, 30);
const { x, y } = digits(100, 5);
const model = trainCnn(train.x, train.y);
const attack = new AutoAttack(model, { eps, version: "custom", attacks: ["apgd-ce", "apgd-t"], restarts: 1, seed: 0 });
const report = attack.evaluate(x, y);
console.log(`clean accuracy ${accuracy(model, x, y).toFixed(2)}, eps ${eps.toFixed(4)}`);
console.log(`robust after each stage: ${JSON.stringify(attack.robustCounts)} of ${report.n}`);
console.log(`autoattack custom [apgd-ce, apgd-t]: ${report.seconds.toFixed(2)} s (${report.imagesPerSecond.toFixed(1)} images/s)`);
