/** Starting ranks of the distributed tests as child processes, on a free loopback port. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../core/child.js";
import { freePort } from "../../src/distributed/free-port.js";
export { freePort };

export const WORKER = join(ROOT, "test", "distributed", "fixtures", "rank-worker.ts");


export interface RankProcess {
  child: ChildProcess;
  output: () => string;
  /** Exit code (or signal name) and when, in ms since start. */
  exited: Promise<{ code: number | string | null; ms: number }>;
  /** Resolves when the output matches. */
  waitFor: (pattern: RegExp) => Promise<void>;
}

/** Runs `node --import tsx <script> ...args` with `env` added. */
export function startProcess(args: string[], env: Record<string, string>): RankProcess {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  let waiters: { pattern: RegExp; resolve: () => void }[] = [];
  for (const s of [child.stdout!, child.stderr!]) {
    s.setEncoding("utf8").on("data", (d: string) => {
      text += d;
      waiters = waiters.filter((w) => (w.pattern.test(text) ? (w.resolve(), false) : true));
    });
  }
  const exited = new Promise<{ code: number | string | null; ms: number }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code: code ?? signal, ms: performance.now() - t0 }));
  });
  return {
    child, exited, output: () => text,
    waitFor: (pattern) => new Promise<void>((resolve) => {
      if (pattern.test(text)) resolve();
      else waiters.push({ pattern, resolve });
    }),
  };
}

/** Rank `rank` of `world` running the worker in `mode`. */
export function startRank(rank: number, world: number, port: number, mode: string, extra: string[] = [], env: Record<string, string> = {}): RankProcess {
  return startProcess([WORKER, mode, ...extra], {
    RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), ...env,
  });
}
