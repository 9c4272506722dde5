/**
 * npm run bench:serve [-- DEFENSE_DIR] — how fast `idfr serve` answers.
 *
 * 1. Defended forward (ID, encoder, FR, head; no autograd) on one defense's weights at batch 1, 16
 *    and 128: idfr's plain path (no-grad), batch norm folded (inference mode), the whole fast path
 *    (src/models/fast-path.ts) and eager PyTorch (bench/serve_ref.py, Debian's python3-torch)
 *    on the same weights, interleaved; median of REPS runs, in CPU time (each process's own, so a
 *    busy machine does not count) and wall-clock time. Ratios: PyTorch's time over idfr's.
 * 2. Load: the server as a child process on loopback, driven by autocannon with v2 infer requests
 *    of one image: requests/s, p50 and p99 latency, errors, at 1, 16 and 64 connections, dynamic
 *    batching on and off; then, after a warm-up of 5,000 requests (V8 grows its old space and
 *    libtorch its allocator caches before either settles), 10,000 requests with the server's
 *    resident memory sampled every 250 ms: start, end, peak and the least-squares slope.
 *
 * DEFENSE_DIR defaults to the demo's ID+FR (runs/demo/cache/idfr-*); without one, a defense of the
 * demo's shapes (small CNN at width 0.5, ID at width 0.5, FR) with random weights is made in a
 * temporary folder: speed does not depend on the weights' values. Last line: one JSON object.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { FeatureRestorer, IdfrDefense, InputDenoiser, loadDefense, readDefenseManifest, saveDefense } from "../src/defenses/idfr/index.js";
import { enableFastPath } from "../src/models/fast-path.js";
import { createClassifier, saveClassifier } from "../src/models/index.js";
import { getNumThreads, inferenceMode, manualSeed, noGrad, rand, setNumThreads, tensor, tidy, type Tensor } from "../src/torch/index.js";
import { median, PYTHON } from "./reference.js";
import { freePort } from "../src/distributed/free-port.js";

const REPS = Number(process.env.BENCH_REPS ?? 9);
const WARMUP = 3;
const BATCHES = [1, 16, 128];
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 8);
const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 10_000);
const RSS_WARMUP = Number(process.env.BENCH_RSS_WARMUP ?? 5_000);
/** BENCH_SKIP_LOAD_TABLE=1: only the resident-memory part of the load bench. */
const SKIP_LOAD_TABLE = Boolean(process.env.BENCH_SKIP_LOAD_TABLE);
/** Extra `idfr serve` flags for every server the bench starts, e.g. BENCH_SERVER_ARGS="--max-delay-ms 2". */
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter(Boolean);
const here = dirname(fileURLToPath(import.meta.url));

function findDefense(): { dir: string; made: string | null } {
  const given = process.argv[2] ?? process.env.BENCH_DEFENSE;
  if (given) return { dir: resolve(given), made: null };
  const cache = resolve("runs/demo/cache");
  const found = existsSync(cache) ? readdirSync(cache).filter((d) => d.startsWith("idfr-") && existsSync(join(cache, d, "fr.safetensors"))) : [];
  if (found.length) return { dir: join(cache, found[0]), made: null };
  const root = mkdtempSync(join(tmpdir(), "idfr-bench-serve-"));
  manualSeed(0);
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.5, normalization: "fashion-mnist" });
  saveClassifier(join(root, "model"), target.eval(), { dataset: "fashion-mnist" });
  const defense = new IdfrDefense(target, new InputDenoiser({ channels: 1, width: 0.5, zeroInitResidual: false }), new FeatureRestorer(target.embeddingDim));
  saveDefense(join(root, "defense"), defense, { targetDir: join(root, "model") });
  return { dir: join(root, "defense"), made: root };
}

interface Clock {
  wall: number;
  cpu: number;
}

/** bench/serve_ref.py, started once and asked for one timed forward per line. */
class PyReference {
  private constructor(private readonly proc: ChildProcess, private readonly lines: AsyncIterator<string>) {}

  static async start(args: string[]): Promise<PyReference | null> {
    if (!existsSync(PYTHON)) return null;
    const proc = spawn(PYTHON, [join(here, "serve_ref.py"), ...args], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !String(first.value).startsWith("ready")) {
      proc.kill();
      return null;
    }
    console.log(`reference: PyTorch ${String(first.value).split(" ")[1]} via ${PYTHON}`);
    return new PyReference(proc, lines);
  }

  async run(name: string): Promise<Clock> {
    this.proc.stdin!.write(`${name}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error("the reference process ended early");
    const [wall, cpu] = String(line.value).split(" ").map(Number);
    return { wall, cpu };
  }

  stop(): void {
    this.proc.stdin!.end();
  }
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Part 1: the defended forward, idfr (plain and fast) against eager PyTorch. */
async function forwardBench(dir: string) {
  const defense = loadDefense(dir);
  const manifest = readDefenseManifest(dir);
  const modelDir = join(dir, manifest.target.dir ?? "");
  const target = defense.target;
  const shape = target.inputShape;
  const size = shape[0] * shape[1] * shape[2];
  const forward = (x: Tensor) => {
    const h = target.embed(defense.denoiser.forward(x));
    return target.head(defense.restorer ? defense.restorer.forward(h) : h);
  };
  const inputs = new Map(BATCHES.map((n) => [n, rand([n, ...shape])]));
  const plain = (n: number) => tidy(() => noGrad(() => { forward(inputs.get(n)!); }));
  const fast = (n: number) => tidy(() => inferenceMode(() => { forward(inputs.get(n)!); }));
  const check = tensor(Float32Array.from({ length: 4 * size }, (_, i) => ((i * 7919) % 1000) / 999), [4, ...shape]);
  const plainCheck = tidy(() => noGrad(() => forward(check).toArray()));
  const modules = [target, defense.denoiser, defense.restorer] as Parameters<typeof enableFastPath>[0][];
  const folded = <T>(oneDnn: boolean, fn: () => T): T => {
    const folds = modules.map((m) => enableFastPath(m, { oneDnn }));
    try {
      return fn();
    } finally {
      folds.forEach((f) => f.restore());
    }
  };
  const fastCheck = folded(false, () => tidy(() => inferenceMode(() => forward(check).toArray())));
  const clCheck = folded(true, () => tidy(() => inferenceMode(() => forward(check).toArray())));
  const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  const checkFile = join(mkdtempSync(join(tmpdir(), "idfr-bench-check-")), "check.json");
  const threads = getNumThreads();
  const ref = target.arch === "small-cnn" ? await PyReference.start([dir, modelDir, String(threads), checkFile]) : null;
  if (!ref) console.log("reference: not available (python3 with torch, or an architecture serve_ref.py does not transcribe); idfr runs alone");
  const refCheck = ref ? (JSON.parse(readFileSync(checkFile, "utf8")) as number[]) : null;
  rmSync(dirname(checkFile), { recursive: true, force: true });

  const times = new Map(BATCHES.map((n) => [n, { plain: [] as Clock[], fast: [] as Clock[], cl: [] as Clock[], ref: [] as Clock[] }]));
  const time = (fn: () => void): Clock => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  for (let rep = 0; rep < WARMUP + REPS; rep++) {
    for (const n of BATCHES) {
      const t = times.get(n)!;
      const p = time(() => plain(n));
      const f = folded(false, () => time(() => fast(n)));
      const c = folded(true, () => time(() => fast(n)));
      const r = ref ? await ref.run(`b${n}`) : { wall: NaN, cpu: NaN };
      if (rep >= WARMUP) {
        t.plain.push(p);
        t.fast.push(f);
        t.cl.push(c);
        t.ref.push(r);
      }
    }
  }
  ref?.stop();
  console.log(`\ndefended forward (ID+FR, ${target.arch} ${shape.join("x")}, ${dir}), ${threads} libtorch threads, median of ${REPS} after ${WARMUP} warm-up`);
  console.log(`max |logit difference| against the plain path: folded ${maxDiff(fastCheck, plainCheck).toExponential(2)}, fast path ${maxDiff(clCheck, plainCheck).toExponential(2)}` +
    `${refCheck ? `; idfr plain vs PyTorch on the same weights: ${maxDiff(plainCheck, refCheck).toExponential(2)}` : ""}`);
  console.log("plain: no-grad; folded: BN folded + inference mode; fast: the whole fast path (folded, convs and linear layers on oneDNN, inference mode). Ratios: PyTorch's time over idfr's (above 1: idfr faster)");
  const rows: Record<string, unknown>[] = [];
  for (const clock of ["cpu", "wall"] as const) {
    console.log(`${clock === "cpu" ? "CPU time of each process (what it computed, whatever else the machine ran)" : "wall-clock time"}, ms:`);
    console.log("batch      plain     folded       fast    pytorch  pytorch/plain pytorch/folded  pytorch/fast");
    for (const n of BATCHES) {
      const t = times.get(n)!;
      const m = (xs: Clock[]) => median(xs.map((x) => x[clock]));
      const [p, f, c, r] = [m(t.plain), m(t.fast), m(t.cl), m(t.ref)];
      const ratio = (x: number) => (ref ? round(r / x, 3) : null);
      rows.push({ clock, batch: n, plain_ms: round(p, 3), folded_ms: round(f, 3), fast_ms: round(c, 3), pytorch_ms: ref ? round(r, 3) : null, pytorch_over_plain: ratio(p), pytorch_over_folded: ratio(f), pytorch_over_fast: ratio(c) });
      const x = (v: number) => (ref ? `${(r / v).toFixed(2)}x` : "-");
      console.log(`${String(n).padStart(5)} ${p.toFixed(2).padStart(10)} ${f.toFixed(2).padStart(10)} ${c.toFixed(2).padStart(10)} ${(ref ? r.toFixed(2) : "-").padStart(10)} ${x(p).padStart(14)} ${x(f).padStart(14)} ${x(c).padStart(13)}`);
    }
  }
  for (const x of inputs.values()) x.dispose();
  check.dispose();
  return { threads, rows, folded_vs_plain_max_diff: maxDiff(fastCheck, plainCheck), fast_vs_plain_max_diff: maxDiff(clCheck, plainCheck), idfr_vs_pytorch_max_diff: refCheck ? maxDiff(plainCheck, refCheck) : null };
}

interface Child {
  proc: ChildProcess;
  url: string;
}

/** The server as a child (logging warnings only, as a busy deployment would); resolves once ready. */
async function startServer(dir: string, args: string[]): Promise<Child> {
  const main = join(here, "..", "src", "cli", "main.ts");
  const port = await freePort();
  const proc = spawn(process.execPath, ["--import", "tsx", main, "serve", dir, "--name", "m", "--port", String(port), "--log-level", "warn", "--samples-per-class", "0", "--threads", String(getNumThreads()), ...SERVER_ARGS, ...args], { stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  proc.on("exit", () => { exited = true; });
  for (let i = 0; i < 600; i++) {
    if (exited) throw new Error("the server exited before it was ready");
    const ok = await fetch(`${url}/v2/health/ready`).then((r) => r.ok, () => false);
    if (ok) return { proc, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the server was not ready within 60 s");
}

async function stopServer(c: Child): Promise<number | null> {
  const exit = new Promise<number | null>((r) => c.proc.on("exit", (code) => r(code)));
  c.proc.kill("SIGTERM");
  return exit;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Part 2: the server under load. */
async function loadBench(dir: string) {
  const shape = loadDefense(dir).target.inputShape;
  const size = shape[0] * shape[1] * shape[2];
  const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, ...shape], data: Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 999) }] });
  const run = (url: string, connections: number, o: { duration?: number; amount?: number }) => autocannon({
    url: `${url}/v2/models/m/infer`, method: "POST", headers: { "content-type": "application/json" }, body, connections, ...o,
  });
  const rows: Record<string, unknown>[] = [];
  if (!SKIP_LOAD_TABLE) {
    console.log(`\nload: v2 infer, 1 image per request, ${LOAD_SECONDS} s per row; autocannon in this process, the server in a child`);
    console.log("batching  conn     req/s   p50_ms   p99_ms  errors  non2xx  mean_batch");
  }
  for (const batching of SKIP_LOAD_TABLE ? [] : [true, false]) {
    const server = await startServer(dir, batching ? [] : ["--no-batching"]);
    try {
      await run(server.url, 4, { amount: 200 }); // warm-up
      for (const connections of [1, 16, 64]) {
        const before = await batchCounts(server.url);
        const r = await run(server.url, connections, { duration: LOAD_SECONDS });
        const afterB = await batchCounts(server.url);
        const meanBatch = (afterB.images - before.images) / Math.max(1, afterB.batches - before.batches);
        const row = { batching, connections, rps: round(r.requests.average, 1), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, mean_batch: round(meanBatch, 2) };
        rows.push(row);
        console.log(`${String(batching).padEnd(8)} ${String(connections).padStart(5)} ${row.rps.toFixed(1).padStart(9)} ${String(row.p50_ms).padStart(8)} ${String(row.p99_ms).padStart(8)} ${String(row.errors).padStart(7)} ${String(row.non2xx).padStart(7)} ${row.mean_batch.toFixed(2).padStart(11)}`);
      }
    } finally {
      await stopServer(server);
    }
  }
  // Resident memory over RSS_REQUESTS requests after RSS_WARMUP, sampled every 250 ms.
  const server = await startServer(dir, []);
  let memory: Record<string, unknown>;
  try {
    const warm = rssMiB(server.proc.pid!);
    await run(server.url, 16, { amount: RSS_WARMUP });
    const samples: { t: number; rss: number }[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, rss: rssMiB(server.proc.pid!) }), 250);
    const start = rssMiB(server.proc.pid!);
    const r = await run(server.url, 16, { amount: RSS_REQUESTS });
    clearInterval(timer);
    const end = rssMiB(server.proc.pid!);
    const tenth = samples[Math.floor(samples.length / 10)]?.rss ?? start;
    const peak = Math.max(start, end, ...samples.map((s) => s.rss));
    // Slope in MiB per 1,000 requests, taking requests as proportional to time at steady load.
    const perThousand = slope(samples.map((s) => s.t), samples.map((s) => s.rss)) * r.duration / (r.requests.total / 1000);
    memory = { warmup_requests: RSS_WARMUP, rss_before_warmup_mib: round(warm, 1), requests: r.requests.total, errors: r.errors + r.timeouts, non2xx: r.non2xx, seconds: round(r.duration, 1), rss_start_mib: round(start, 1), rss_after_10pct_mib: round(tenth, 1), rss_end_mib: round(end, 1), rss_peak_mib: round(peak, 1), rss_slope_mib_per_1000_requests: round(perThousand, 2) };
    console.log(`\nresident memory: ${warm.toFixed(1)} MiB before a warm-up of ${RSS_WARMUP} requests; then over ${r.requests.total} requests (16 connections, ${r.duration.toFixed(1)} s, ${r.errors + r.timeouts} errors, ${r.non2xx} non-2xx): ` +
      `${start.toFixed(1)} MiB before, ${tenth.toFixed(1)} MiB after 10 %, ${end.toFixed(1)} MiB at the end, peak ${peak.toFixed(1)} MiB, slope ${perThousand.toFixed(2)} MiB per 1,000 requests`);
  } finally {
    const code = await stopServer(server);
    console.log(`server exit code after SIGTERM: ${code}`);
  }
  return { rows, memory };
}

/** Least-squares slope of y over x. */
function slope(x: number[], y: number[]): number {
  if (x.length < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

async function batchCounts(url: string): Promise<{ images: number; batches: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const images = Number(/idfr_batch_size_images_sum\{model="m"\} ([\d.e+]+)/.exec(text)?.[1] ?? 0);
  const batches = Number(/idfr_batch_size_images_count\{model="m"\} (\d+)/.exec(text)?.[1] ?? 0);
  return { images, batches };
}

// BENCH_THREADS: libtorch threads for idfr, PyTorch and the server alike (default: libtorch's).
if (process.env.BENCH_THREADS) setNumThreads(Number(process.env.BENCH_THREADS));
const { dir, made } = findDefense();
try {
  if (made) console.log(`no demo defense found (runs/demo/cache/idfr-*): made one of the demo's shapes with random weights in ${made}`);
  const forward = process.env.BENCH_SKIP_FORWARD ? null : await forwardBench(dir);
  const load = process.env.BENCH_SKIP_LOAD ? null : await loadBench(dir);
  console.log(JSON.stringify({ defense: dir, random_weights: made !== null, forward, load }));
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}
