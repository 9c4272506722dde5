/**
 * npm run bench:distributed — data-parallel ID training on this machine, and a paper-scale estimate.
 *
 * Measures, on the same global batch (the ID's default, 64 CIFAR-sized images through the engine
 * bench's frozen CNN): one process with 2 threads, against 2 ranks (Gloo, loopback) with 1 thread
 * each, and one process with 1 thread as a control; and, in the 2-rank run, the time of the gradient all-reduce per step (within the step, and
 * alone) for the full-width ID's parameters. Then estimates CIFAR-10 Algorithm 1 at the paper's
 * size (100 epochs over 50,000 AEs + 50,000 Gaussian copies, batch 64, VGG16 target) for 1, 8 and
 * 64 GPUs from FLOP counts and the measured communication volume, under stated assumptions about
 * GPU throughput and links (flags below). These are estimates, not measurements.
 *
 *   --steps N        timed steps per run (default 6, after 1 warm-up)
 *   --batch N        global batch (default 64)
 *   --gpu-tflops X   effective fp32 throughput of one GPU on these small convolutions (default 10)
 *   --json           print only the JSON result
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DataParallel, initFromEnv, destroyDefaultGroup, localRows, defaultGroup } from "../src/distributed/index.js";
import { InputDenoiser } from "../src/defenses/idfr/denoiser.js";
import { F, Generator, nn, optim, rand, randint, setNumThreads, tidy, keep } from "../src/torch/index.js";
import { BenchCNN, FLOPS } from "./engine-workloads.js";
import { median } from "./reference.js";
import { freePort } from "../src/distributed/free-port.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

interface WorkerResult {
  world: number;
  threads: number;
  stepMs: number;
  imagesPerSecond: number;
  /** Median all-reduce time inside a step (2 ranks only). */
  reduceMs: number | null;
  /** Median all-reduce time of the same gradients, alone. */
  reduceAloneMs: number | null;
  gradBytes: number;
}

/** One rank (or the single process): ID training steps on a fixed batch, timed. */
async function worker(threads: number, steps: number, batch: number): Promise<void> {
  setNumThreads(threads);
  const group = await initFromEnv({ timeoutMs: 600_000 });
  const draws = new Generator(0);
  const cnn = nn.init.withInitGenerator(draws, () => new BenchCNN()).eval();
  for (const p of cnn.parameters()) p.requiresGrad = false;
  const id = nn.init.withInitGenerator(draws, () => new InputDenoiser({ channels: 3, zeroInitResidual: false }));
  const x = keep(rand([batch, 3, 32, 32], { generator: draws }));
  const y = keep(randint(0, 10, [batch], { generator: draws }));
  const adam = new optim.Adam(id.parameters(), { lr: 0.01 });
  const dp = group ? new DataParallel(group, id) : null;
  dp?.broadcastState();
  const detach = dp?.attach(adam);
  const step = () => tidy(() => {
    id.train();
    adam.zeroGrad();
    F.crossEntropy(cnn.forward(id.forward(localRows(x))), localRows(y)).backward();
    adam.step();
  });
  const stepTimes: number[] = [];
  const reduceTimes: number[] = [];
  for (let s = 0; s < steps + 1; s++) {
    group?.barrierSync();
    const before = dp?.stats.milliseconds ?? 0;
    const t0 = performance.now();
    step();
    if (s > 0) {
      stepTimes.push(performance.now() - t0);
      if (dp) reduceTimes.push(dp.stats.milliseconds - before);
    }
  }
  const alone: number[] = [];
  if (dp) {
    for (let s = 0; s < steps + 1; s++) {
      group!.barrierSync();
      const t0 = performance.now();
      dp.reduceGradients(adam.params);
      if (s > 0) alone.push(performance.now() - t0);
    }
  }
  detach?.();
  const gradBytes = id.parameters().reduce((a, p) => a + p.numel * 4, 0);
  const stepMs = median(stepTimes);
  const result: WorkerResult = {
    world: group?.worldSize ?? 1, threads, stepMs, imagesPerSecond: batch / (stepMs / 1000),
    reduceMs: dp ? median(reduceTimes) : null, reduceAloneMs: dp ? median(alone) : null, gradBytes,
  };
  if ((defaultGroup()?.rank ?? 0) === 0) process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  await destroyDefaultGroup();
}


/** Runs `ranks` worker processes with `threads` threads each; resolves with rank 0's result. */
async function run(ranks: number, threads: number, steps: number, batch: number): Promise<WorkerResult> {
  const port = await freePort();
  const self = fileURLToPath(import.meta.url);
  const outputs = await Promise.all(Array.from({ length: ranks }, (_, rank) => new Promise<string>((resolve, reject) => {
    const env = ranks > 1 ? { RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(ranks), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) } : { WORLD_SIZE: "1" };
    const child = spawn(process.execPath, ["--import", "tsx", self, "--worker", String(threads), String(steps), String(batch)],
      { env: { ...process.env, ...env, OMP_NUM_THREADS: String(threads) }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`bench rank ${rank} exited with ${code}`))));
  })));
  const line = outputs.join("").split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error("bench: rank 0 printed no result");
  return JSON.parse(line.slice("RESULT ".length)) as WorkerResult;
}

/** Forward FLOPs of one 32x32 image through the CIFAR VGG16 (13 convolutions, then 512 -> classes). */
function vgg16Flops(): number {
  const cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"] as const;
  let hw = 32;
  let cin = 3;
  let flops = 0;
  for (const c of cfg) {
    if (c === "M") hw /= 2;
    else {
      flops += 2 * cin * c * 9 * hw * hw;
      cin = c;
    }
  }
  return flops + 2 * 512 * 10;
}

/** Ring all-reduce time: 2(W−1)/W of the bytes over the slowest link, plus 2(W−1) latencies. */
function ringSeconds(bytes: number, world: number, bandwidth: number, latency: number): number {
  return world === 1 ? 0 : (2 * (world - 1) / world) * bytes / bandwidth + 2 * (world - 1) * latency;
}

function formatDuration(s: number): string {
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

async function main(): Promise<void> {
  const steps = flag("--steps", 6);
  const batch = flag("--batch", 64);
  const gpuTflops = flag("--gpu-tflops", 10);
  const jsonOnly = args.includes("--json");
  const one = await run(1, 2, steps, batch);
  const two = await run(2, 1, steps, batch);
  // The control: on a loaded machine one OpenMP process with 2 threads can be slower than with 1.
  const single = await run(1, 1, steps, batch);

  // Paper scale: CIFAR-10 Algorithm 1.
  const rowsPerEpoch = 50_000 * 2; // AEs of the training set + one round of Gaussian copies
  const epochs = 100;
  const idBatch = 64;
  const perImage = 3 * FLOPS.id + 2 * vgg16Flops(); // ID forward + backward (2x), frozen VGG16 forward + input gradient
  const craft = 50_000 * 20 * 2 * vgg16Flops(); // BIM-20 training AEs on VGG16, once, no communication
  // The faster one-process configuration measured here stands for "this CPU".
  const cpuGflops = (batch * (3 * FLOPS.id + 2 * FLOPS.cnn)) / (Math.min(one.stepMs, single.stepMs) / 1000) / 1e9;
  const links: Record<number, { bandwidth: number; latency: number; what: string }> = {
    1: { bandwidth: Infinity, latency: 0, what: "-" },
    8: { bandwidth: 100e9, latency: 10e-6, what: "one node, NVLink-class, 100 GB/s" },
    64: { bandwidth: 12.5e9, latency: 30e-6, what: "8 nodes, 100 Gb/s network, 12.5 GB/s" },
  };
  const estimates = [1, 8, 64].map((gpus) => {
    const link = links[gpus];
    const comm = ringSeconds(one.gradBytes, gpus, link.bandwidth, link.latency);
    // Strong scaling: the paper's global batch of 64 split over the GPUs (local batch 64 / W).
    const strongStep = (idBatch / gpus) * perImage / (gpuTflops * 1e12) + comm;
    const strong = (Math.ceil(rowsPerEpoch / idBatch) * epochs) * strongStep + craft / gpus / (gpuTflops * 1e12);
    // Weak scaling: 64 per GPU (global 64·W, W times fewer steps; the learning rate needs retuning).
    const weakStep = idBatch * perImage / (gpuTflops * 1e12) + comm;
    const weak = (Math.ceil(rowsPerEpoch / (idBatch * gpus)) * epochs) * weakStep + craft / gpus / (gpuTflops * 1e12);
    return { gpus, link: link.what, allReduceMs: comm * 1000, strongSeconds: strong, weakSeconds: weak };
  });
  const cpuSeconds = (rowsPerEpoch * epochs * perImage + craft) / (cpuGflops * 1e9);
  const result = { steps, batch, gpuTflops, oneRankTwoThreads: one, twoRanksOneThread: two, oneRankOneThread: single, speedup: one.stepMs / two.stepMs,
    cpuGflops, cpuPaperScaleSeconds: cpuSeconds, idGradBytes: one.gradBytes, estimates };
  if (!jsonOnly) {
    const mb = (one.gradBytes / 1e6).toFixed(2);
    console.log(`ID training step, global batch ${batch} (32x32x3, full-width ID through the bench CNN), median of ${steps} steps:`);
    console.log(`  1 rank  x 2 threads: ${one.stepMs.toFixed(0)} ms/step, ${one.imagesPerSecond.toFixed(1)} img/s`);
    console.log(`  2 ranks x 1 thread : ${two.stepMs.toFixed(0)} ms/step, ${two.imagesPerSecond.toFixed(1)} img/s (x${result.speedup.toFixed(2)})`);
    console.log(`  1 rank  x 1 thread : ${single.stepMs.toFixed(0)} ms/step, ${single.imagesPerSecond.toFixed(1)} img/s (control)`);
    console.log(`  gradient all-reduce (Gloo, loopback, ${mb} MB of ID parameters): ${two.reduceMs!.toFixed(1)} ms in the step, ${two.reduceAloneMs!.toFixed(1)} ms alone`);
    console.log(`Paper-scale estimate, CIFAR-10 Algorithm 1 (100 epochs x 100,000 rows, batch 64, VGG16 target, BIM-20 AEs crafted once):`);
    console.log(`  this CPU (one process, ${cpuGflops.toFixed(0)} GFLOP/s measured, the faster of 1 and 2 threads): ${formatDuration(cpuSeconds)}`);
    console.log(`  GPUs assumed at ${gpuTflops} effective TFLOP/s each:`);
    console.log(`  | GPUs | links | all-reduce / step | global batch 64 | batch 64 per GPU |`);
    console.log(`  | ---: | --- | ---: | ---: | ---: |`);
    for (const e of estimates) console.log(`  | ${e.gpus} | ${e.link} | ${e.allReduceMs.toFixed(2)} ms | ${formatDuration(e.strongSeconds)} | ${formatDuration(e.weakSeconds)} |`);
  }
  console.log(JSON.stringify(result));
}

if (args[0] === "--worker") await worker(Number(args[1]), Number(args[2]), Number(args[3]));
else await main();
