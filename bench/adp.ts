/**
 * node --import tsx bench/adp.ts — ADP purification speed (images/s) at the `cpu` preset's size and
 * at the authors' (NCSNv2, ngf 128, 29.7 M parameters), plus the DSM training speed at the `cpu` size.
 *
 * One draw is the full purification with every one of the 10 steps taken (the stop threshold set to
 * 0, the authors' default.yml; each step calls the score network twice: the score and the probe), so
 * these are worst-case rates; a defended classification runs `ensemble` (10) draws, so its rate is
 * the draw rate / 10. Freshly initialised weights: speed does not depend on their values.
 * Cases: `cpu` ngf 16 on 1x28x28 (Fashion-MNIST), batch 32; `paper` ngf 128 on 3x32x32 (CIFAR-10)
 * (and 1x28x28 with BENCH_PAPER_GRAY=1), batch BENCH_PAPER_BATCH (default 2). Each case: one
 * warm-up, then the median of BENCH_REPS (default 3; 1 for the paper cases unless BENCH_PAPER_REPS
 * is set) timed calls. Besides wall-clock rates it prints images per CPU-second of this process
 * (user + system), which a machine shared with other work changes less. Last line: one JSON object
 * with every rate. BENCH_DEVICE (default cpu) picks the device.
 */
import { availableParallelism, loadavg } from "node:os";
import { ADP_PURIFY_DEFAULTS, adpSteps, buildScoreNet, dsmLoss, noisyStart, ADP_PRESET_VALUES } from "../src/defenses/adp/index.js";
import { Generator, getNumThreads, noGrad, optim, rand, randn, tidy } from "../src/torch/index.js";
import { median } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const PAPER_REPS = Number(process.env.BENCH_PAPER_REPS ?? 1);
const PAPER_BATCH = Number(process.env.BENCH_PAPER_BATCH ?? 2);
const DEVICE = process.env.BENCH_DEVICE ?? "cpu";

interface Case {
  name: string;
  preset: "cpu" | "paper";
  shape: [number, number, number];
  batch: number;
  reps: number;
}

const CASES: Case[] = [
  { name: "cpu 1x28x28", preset: "cpu", shape: [1, 28, 28], batch: 32, reps: REPS },
  { name: "paper 3x32x32", preset: "paper", shape: [3, 32, 32], batch: PAPER_BATCH, reps: PAPER_REPS },
  ...(process.env.BENCH_PAPER_GRAY === "1" ? [{ name: "paper 1x28x28", preset: "paper", shape: [1, 28, 28], batch: PAPER_BATCH, reps: PAPER_REPS } as Case] : []),
];

/** CPU seconds (user + system) of this process spent in the timed calls, summed over a case. */
let cpuSeconds = 0;
const timed = (fn: () => void): number => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  cpuSeconds += (c.user + c.system) / 1e6;
  return (performance.now() - t0) / 1000;
};

/** Runs `once` (a warm-up, then `reps` times): the median wall seconds and the mean CPU seconds per call. */
function measure(once: () => number, reps: number): { wall: number; cpu: number } {
  once();
  cpuSeconds = 0;
  const wall = median(Array.from({ length: reps }, once));
  return { wall, cpu: cpuSeconds / reps };
}

/** Images per second (wall and CPU) of one full 10-step purification draw of a batch. */
function purification(c: Case): { wall: number; cpu: number } {
  const net = buildScoreNet(c.shape[0], ADP_PRESET_VALUES[c.preset], 0).to(DEVICE).eval();
  const g = new Generator(0);
  const x = rand([c.batch, ...c.shape], { generator: g }).to(DEVICE);
  const settings = { ...ADP_PURIFY_DEFAULTS, stopBelow: 0 };
  const once = () => timed(() => noGrad(() => tidy(() => {
    const noise = randn(x.shape, { generator: g }).to(DEVICE).mul(settings.noiseStd);
    const trace = adpSteps((h) => net.forward(h), noisyStart(x, noise, false), settings);
    if (trace.steps.length !== settings.maxSteps) throw new Error(`expected ${settings.maxSteps} steps, ran ${trace.steps.length}`);
    trace.images.max().item();
  })));
  const m = measure(once, c.reps);
  net.dispose();
  x.dispose();
  g.dispose();
  return { wall: c.batch / m.wall, cpu: c.batch / m.cpu };
}

/** DSM training images per second (wall and CPU) at the cpu preset (batch 64, Adam). */
function training(): { wall: number; cpu: number } {
  const s = ADP_PRESET_VALUES.cpu;
  const net = buildScoreNet(1, s, 0).to(DEVICE);
  const adam = new optim.Adam(net.parameters(), { lr: s.lr });
  const g = new Generator(1);
  const x = rand([s.batchSize, 1, 28, 28], { generator: g }).to(DEVICE);
  const once = () => timed(() => tidy(() => {
    adam.zeroGrad();
    const loss = dsmLoss(net, x, DEVICE === "cpu" ? g : undefined);
    loss.backward();
    adam.step();
    loss.item();
  }));
  const m = measure(once, REPS);
  adam.dispose();
  net.dispose();
  return { wall: s.batchSize / m.wall, cpu: s.batchSize / m.cpu };
}

const p4 = (v: number) => Number(v.toPrecision(4));

function main(): void {
  console.log(`ADP purification (10 steps, 20 score calls per image and draw), ${DEVICE}, ${getNumThreads()} threads, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(2)}`);
  const result: Record<string, number> = {};
  const train = training();
  result["cpu DSM training"] = p4(train.wall);
  result["cpu DSM training per CPU-second"] = p4(train.cpu);
  console.log(`cpu DSM training batch ${ADP_PRESET_VALUES.cpu.batchSize}  ${train.wall.toPrecision(4)} images/s  (${train.cpu.toPrecision(4)} per CPU-second)`);
  const k = ADP_PURIFY_DEFAULTS.ensemble;
  for (const c of CASES) {
    const r = purification(c);
    result[`${c.name} draw`] = p4(r.wall);
    result[`${c.name} defended (${k} draws)`] = p4(r.wall / k);
    result[`${c.name} draw per CPU-second`] = p4(r.cpu);
    console.log(`${c.name.padEnd(14)} batch ${String(c.batch).padStart(3)}  ${r.wall.toPrecision(4).padStart(9)} images/s per draw  ${(r.wall / k).toPrecision(4).padStart(9)} defended images/s  (${r.cpu.toPrecision(4)} draws per CPU-second)`);
  }
  console.log(`load at the end ${loadavg()[0]!.toFixed(2)}`);
  console.log(JSON.stringify({ device: DEVICE, imagesPerSecond: result }));
}

main();
