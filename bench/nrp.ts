/**
 * node --import tsx bench/nrp.ts — NRP purification speed (images/s), static inference
 * (clamp(P(x), 0, 1), no gradient), at the `cpu` preset's size and at the authors' sizes.
 *
 * Cases (freshly initialised weights; speed does not depend on their values):
 * - `cpu`: NRP nf 16, nb 2, gc 8 on 1x28x28 (Fashion-MNIST), batch 64;
 * - `paper-nrp`: NRP nf 64, nb 23, gc 32 (16.55 M parameters) on 3x32x32 (CIFAR) and 1x28x28, batch 2;
 * - `paper-resg`: NRP_resG nf 64, nb 23 (1.70 M parameters) on 3x32x32 and 1x28x28, batch 32;
 * - with BENCH_IMAGENET=1, both paper purifiers on 3x224x224, batch 1 (slow on a CPU).
 * Each case: one warm-up call, then the median of BENCH_REPS (default 3) timed calls.
 * Last line: one JSON object with every case's images/s. BENCH_DEVICE (default cpu) picks the
 * device, BENCH_THREADS the CPU threads (default the engine's: all cores).
 */
import { availableParallelism, loadavg } from "node:os";
import { makePurifier, type PurifierArch, type PurifierSizes } from "../src/defenses/nrp/networks.js";
import { Generator, getNumThreads, nn, noGrad, rand, setNumThreads, tidy } from "../src/torch/index.js";
import { median } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const DEVICE = process.env.BENCH_DEVICE ?? "cpu";
if (process.env.BENCH_THREADS) setNumThreads(Number(process.env.BENCH_THREADS));

interface Case {
  name: string;
  arch: PurifierArch;
  sizes: Omit<PurifierSizes, "channels">;
  shape: [number, number, number];
  batch: number;
}

const CPU = { nf: 16, nb: 2, gc: 8 };
const PAPER = { nf: 64, nb: 23, gc: 32 };
const CASES: Case[] = [
  { name: "cpu nrp 1x28x28", arch: "nrp", sizes: CPU, shape: [1, 28, 28], batch: 64 },
  { name: "paper nrp 3x32x32", arch: "nrp", sizes: PAPER, shape: [3, 32, 32], batch: 2 },
  { name: "paper nrp 1x28x28", arch: "nrp", sizes: PAPER, shape: [1, 28, 28], batch: 2 },
  { name: "paper nrp-resg 3x32x32", arch: "nrp-resg", sizes: PAPER, shape: [3, 32, 32], batch: 32 },
  { name: "paper nrp-resg 1x28x28", arch: "nrp-resg", sizes: PAPER, shape: [1, 28, 28], batch: 32 },
  ...(process.env.BENCH_IMAGENET === "1" ? [
    { name: "paper nrp 3x224x224", arch: "nrp", sizes: PAPER, shape: [3, 224, 224], batch: 1 } as Case,
    { name: "paper nrp-resg 3x224x224", arch: "nrp-resg", sizes: PAPER, shape: [3, 224, 224], batch: 1 } as Case,
  ] : []),
];

function run(c: Case): number {
  const g = new Generator(0);
  const purifier = nn.init.withInitGenerator(g, () => makePurifier(c.arch, { channels: c.shape[0], ...c.sizes })).to(DEVICE).eval();
  const x = rand([c.batch, ...c.shape], { generator: g }).to(DEVICE);
  const once = () => {
    const t0 = performance.now();
    tidy(() => {
      // Reading one value back waits for an asynchronous device (CUDA) to finish.
      noGrad(() => purifier.forward(x).clamp(0, 1)).max().item();
    });
    return (performance.now() - t0) / 1000;
  };
  once();
  const seconds = median(Array.from({ length: REPS }, once));
  purifier.dispose();
  x.dispose();
  g.dispose();
  return c.batch / seconds;
}

function main(): void {
  console.log(`NRP purification, static, ${DEVICE}, ${getNumThreads()} threads, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(2)}, median of ${REPS}`);
  const result: Record<string, number> = {};
  for (const c of CASES) {
    const ips = run(c);
    result[c.name] = Number(ips.toPrecision(4));
    console.log(`${c.name.padEnd(26)} batch ${String(c.batch).padStart(3)}  ${ips.toPrecision(4).padStart(9)} images/s`);
  }
  console.log(JSON.stringify({ device: DEVICE, imagesPerSecond: result }));
}

main();
