/**
 * npm run bench:engine — the engine's overhead against PyTorch on the same libtorch.
 *
 * Runs each workload (ID training step, defended forward, BIM-20) in TypeScript and in PyTorch
 * (bench/engine_ref.py, with Debian's python3-torch when present), interleaved, and reports the
 * median of REPS runs after warm-up. Last line: one JSON object with ts_ms, ref_ms, ratio, gflops.
 */
import { getNumThreads, manualSeed } from "../src/torch/index.js";
import { makeWorkloads, WORKLOAD_FLOPS } from "./engine-workloads.js";
import { median, PYTHON, Reference } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 7);
const WARMUP = 2;
const PEAK_GFLOPS = 156; // 2 cores x AVX2 FMA: 2 x 16 FLOP/cycle x ~4.9 GHz boost is the order; see README


async function main(): Promise<void> {
  manualSeed(0);
  const threads = getNumThreads();
  const workloads = makeWorkloads();
  const ref = await Reference.start("engine_ref.py", [String(threads)]);
  if (!ref) console.log(`reference: not available (${PYTHON} with torch not found); TypeScript runs alone`);
  const times: Record<string, { ts: number[]; ref: number[] }> = {};
  for (const name of Object.keys(workloads)) times[name] = { ts: [], ref: [] };
  for (let rep = 0; rep < WARMUP + REPS; rep++) {
    for (const [name, fn] of Object.entries(workloads)) {
      const t0 = performance.now();
      fn();
      const ts = performance.now() - t0;
      const r = ref ? await ref.run(name) : NaN;
      if (rep >= WARMUP) {
        times[name].ts.push(ts);
        times[name].ref.push(r);
      }
    }
  }
  ref?.stop();
  const result: Record<string, { ts_ms: number; ref_ms: number | null; ratio: number | null; gflops: number }> = {};
  console.log(`threads: ${threads}, median of ${REPS} after ${WARMUP} warm-up runs`);
  console.log("workload          ts_ms    ref_ms   ratio   GFLOP/s  % of peak");
  for (const [name, t] of Object.entries(times)) {
    const ts = median(t.ts);
    const r = ref ? median(t.ref) : null;
    const gflops = WORKLOAD_FLOPS[name] / (ts / 1000) / 1e9;
    result[name] = { ts_ms: round(ts), ref_ms: r === null ? null : round(r), ratio: r === null ? null : round(ts / r, 3), gflops: round(gflops) };
    console.log(`${name.padEnd(16)} ${ts.toFixed(1).padStart(7)} ${(r?.toFixed(1) ?? "-").padStart(9)} ${(r ? (ts / r).toFixed(3) : "-").padStart(7)} ${gflops.toFixed(1).padStart(9)} ${((100 * gflops) / PEAK_GFLOPS).toFixed(1).padStart(9)}`);
  }
  console.log(JSON.stringify({ workloads: result, peak_gflops: PEAK_GFLOPS }));
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
