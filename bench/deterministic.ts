/**
 * node --import tsx bench/deterministic.ts — what `--deterministic` costs.
 *
 * Runs the same small workloads in one process under three engine settings, interleaved, and
 * reports the median time of each after one warm-up round:
 * - `default`: libtorch as the CLI leaves it without flags (all cores, deterministic mode off);
 * - `det`: what `--deterministic` applies (deterministic algorithms, 1 CPU thread);
 * - `det-same-threads`: `--deterministic --threads <default count>`, which isolates the cost of
 *   the algorithm flags from the cost of the thread count.
 * Workloads: `train`, 10 SGD steps of the small CNN (width 1) on a batch of 64 28x28 images; and
 * `pgd10`, PGD-10 (ε = 8/255) on a batch of 64 against the same model in eval mode.
 * Last line: one JSON object with the medians (ms) and the ratios to `default`.
 *
 * Environment: BENCH_REPS (default 5), BENCH_BATCH (default 64), BENCH_THREADS (the `default`
 * setting's thread count; default the engine's, i.e. all cores).
 */
import { availableParallelism, loadavg } from "node:os";
import { PGD } from "../src/attacks/pgd.js";
import { applyEngineFlags } from "../src/cli/context.js";
import { createClassifier } from "../src/models/registry.js";
import { F, Generator, getNumThreads, keep, nn, optim, rand, randint, setDeterministic, setNumThreads, tidy } from "../src/torch/index.js";
import { median } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
if (process.env.BENCH_THREADS) setNumThreads(Number(process.env.BENCH_THREADS));
const defaultThreads = getNumThreads();

const SETTINGS: Record<string, () => void> = {
  default: () => {
    setDeterministic(false);
    setNumThreads(defaultThreads);
  },
  det: () => applyEngineFlags({ deterministic: true }),
  "det-same-threads": () => applyEngineFlags({ deterministic: true, threads: defaultThreads }),
};

function main(): void {
  const draws = new Generator(0);
  const model = nn.init.withInitGenerator(draws, () =>
    createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 1, normalization: "mnist" }));
  const x = keep(rand([BATCH, 1, 28, 28], { generator: draws }));
  const y = keep(randint(0, 10, [BATCH], { generator: draws }));
  draws.dispose();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const pgd = new PGD(model, { eps: 8 / 255, steps: 10, seed: 0 });
  const workloads: Record<string, () => void> = {
    train: () => {
      model.train();
      for (let i = 0; i < 10; i++) {
        tidy(() => {
          opt.zeroGrad();
          const loss = F.crossEntropy(model.forward(x), y);
          loss.backward();
          opt.step();
        });
      }
    },
    pgd10: () => {
      model.eval();
      pgd.run(x, y).adversarial.dispose();
    },
  };
  console.log(`small CNN (width 1), batch ${BATCH}; default threads ${defaultThreads}; median of ${REPS} after 1 warm-up round; ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} cores`);
  const times: Record<string, Record<string, number[]>> = {};
  for (const w of Object.keys(workloads)) times[w] = Object.fromEntries(Object.keys(SETTINGS).map((s) => [s, []]));
  for (let rep = 0; rep < 1 + REPS; rep++) {
    for (const [setting, apply] of Object.entries(SETTINGS)) {
      apply();
      for (const [name, run] of Object.entries(workloads)) {
        const t0 = performance.now();
        run();
        if (rep > 0) times[name][setting].push(performance.now() - t0);
      }
    }
  }
  SETTINGS.default();
  const result: Record<string, Record<string, number>> = {};
  for (const [name, bySetting] of Object.entries(times)) {
    const ms = Object.fromEntries(Object.entries(bySetting).map(([s, t]) => [s, median(t)]));
    result[name] = { ...Object.fromEntries(Object.entries(ms).map(([s, v]) => [`${s}_ms`, Math.round(v * 10) / 10])) };
    for (const s of Object.keys(SETTINGS).filter((s) => s !== "default")) result[name][`${s}_ratio`] = Math.round((ms[s] / ms.default) * 100) / 100;
    console.log(`${name.padEnd(6)} ${Object.entries(ms).map(([s, v]) => `${s} ${v.toFixed(0)} ms`).join(", ")}; ` +
      `--deterministic costs x${result[name].det_ratio} (x${result[name]["det-same-threads_ratio"]} at ${defaultThreads} threads)`);
  }
  console.log(JSON.stringify(result));
}

main();
