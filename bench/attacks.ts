/**
 * npm run bench:attacks — attack throughput against PyTorch on the same libtorch.
 *
 * BIM-20 (step 2/255) and APGD-CE-100 at ε = 8/255 on a VGG16-style CIFAR network (13 conv3x3 +
 * BN + ReLU layers 64,64,M,128,128,M,256x3,M,512x3,M,512x3,M, then Linear), batch 128 of 3x32x32.
 * Channel widths are scaled by BENCH_WIDTH (default 1/4: full width takes minutes per APGD run on
 * two cores); bench/attacks_ref.py builds the same network at the same width. Each workload runs
 * in TypeScript and in PyTorch, interleaved in one session, median of BENCH_REPS (default 3) after
 * one warm-up round. Last line: one JSON object with images/s and the ratio ts_time / ref_time.
 *
 * Environment: BENCH_WIDTH, BENCH_REPS, BENCH_BATCH, BENCH_THREADS (default: the engine's), BENCH_PYTHON,
 * BENCH_ONLY (comma-separated workload names).
 */
import { APGD } from "../src/attacks/apgd.js";
import { BIM } from "../src/attacks/bim.js";
import { getNumThreads, keep, manualSeed, nn, rand, randint, setNumThreads } from "../src/torch/index.js";
import { median, PYTHON, Reference } from "./reference.js";

const WIDTH = Number(process.env.BENCH_WIDTH ?? 0.25);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 128);
const EPS = 8 / 255;

const CFG: (number | "M")[] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"];

/** VGG16 for 32x32 inputs with every width scaled by `width` (batch norm, eval mode, frozen). */
function vgg16(width: number): nn.Sequential {
  const layers: nn.Module[] = [];
  let cin = 3;
  for (const c of CFG) {
    if (c === "M") {
      layers.push(new nn.MaxPool2d(2));
      continue;
    }
    const w = Math.round(c * width);
    layers.push(new nn.Conv2d(cin, w, 3, { padding: 1 }), new nn.BatchNorm2d(w), new nn.ReLU());
    cin = w;
  }
  const net = new nn.Sequential(...layers, new nn.Flatten(), new nn.Linear(cin, 10)).eval();
  for (const p of net.parameters()) p.requiresGrad = false;
  return net;
}


async function main(): Promise<void> {
  if (process.env.BENCH_THREADS) setNumThreads(Number(process.env.BENCH_THREADS));
  const threads = getNumThreads();
  manualSeed(0);
  const net = vgg16(WIDTH);
  const x = keep(rand([BATCH, 3, 32, 32]));
  const y = keep(randint(0, 10, [BATCH]));
  const bim = new BIM(net, { eps: EPS, steps: 20, stepSize: 2 / 255 });
  const apgd = new APGD(net, { eps: EPS, steps: 100, loss: "ce" });
  const all: Record<string, () => void> = {
    bim20: () => bim.run(x, y).adversarial.dispose(),
    apgd100: () => apgd.run(x, y).adversarial.dispose(),
  };
  const only = process.env.BENCH_ONLY?.split(",");
  const workloads = Object.fromEntries(Object.entries(all).filter(([name]) => !only || only.includes(name)));
  const ref = await Reference.start("attacks_ref.py", [String(threads), String(WIDTH), String(BATCH)]);
  if (!ref) console.log(`reference: not available (${PYTHON} with torch not found); TypeScript runs alone`);
  console.log(`VGG16 at width ${WIDTH} (first conv ${Math.round(64 * WIDTH)} channels), batch ${BATCH}, threads ${threads}, median of ${REPS} after 1 warm-up round`);
  const times: Record<string, { ts: number[]; ref: number[] }> = {};
  for (const name of Object.keys(workloads)) times[name] = { ts: [], ref: [] };
  for (let rep = 0; rep < 1 + REPS; rep++) {
    for (const [name, fn] of Object.entries(workloads)) {
      // The warm-up round runs only BIM: APGD uses the same kernels, and one APGD run costs ~5 BIM runs.
      if (rep === 0 && name !== "bim20" && "bim20" in workloads) continue;
      const t0 = performance.now();
      fn();
      const ts = performance.now() - t0;
      const r = ref ? await ref.run(name) : NaN;
      if (rep > 0) {
        times[name].ts.push(ts);
        times[name].ref.push(r);
      }
    }
  }
  ref?.stop();
  const result: Record<string, { ts_ips: number; ref_ips: number | null; ratio: number | null }> = {};
  console.log("workload    ts_ms      ref_ms    ts_img/s  ref_img/s  ratio");
  for (const [name, t] of Object.entries(times)) {
    const ts = median(t.ts);
    const r = ref ? median(t.ref) : null;
    result[name] = { ts_ips: round((BATCH * 1000) / ts), ref_ips: r === null ? null : round((BATCH * 1000) / r), ratio: r === null ? null : round(ts / r, 3) };
    console.log(`${name.padEnd(9)} ${ts.toFixed(0).padStart(8)} ${(r?.toFixed(0) ?? "-").padStart(10)} ${result[name].ts_ips.toFixed(1).padStart(10)} ${(result[name].ref_ips?.toFixed(1) ?? "-").padStart(10)} ${(result[name].ratio?.toFixed(3) ?? "-").padStart(6)}`);
  }
  console.log(JSON.stringify({ workloads: result }));
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
