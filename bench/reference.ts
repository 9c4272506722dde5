/**
 * The PyTorch side of a benchmark: a Python script started once and asked to run one workload per
 * line on stdin, answering with the milliseconds it took. Lets TypeScript and PyTorch runs be
 * interleaved in one session, so both see the same machine state.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Debian's python3 (with python3-torch) unless BENCH_PYTHON names another. */
export const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Items per second of `fn` handling `items` each call: one warm-up call, then the median of `reps` timed calls. */
export function itemsPerSecond(items: number, reps: number, fn: () => void): number {
  fn();
  return items / median(Array.from({ length: reps }, () => {
    const t0 = performance.now();
    fn();
    return (performance.now() - t0) / 1000;
  }));
}

export class Reference {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ReturnType<typeof spawn>) {
    this.lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  }

  /** Starts bench/<script> with `args`; null when Python or torch is missing. */
  static async start(script: string, args: readonly string[]): Promise<Reference | null> {
    if (!existsSync(PYTHON)) return null;
    const path = join(dirname(fileURLToPath(import.meta.url)), script);
    const proc = spawn(PYTHON, [path, ...args], { stdio: ["pipe", "pipe", "inherit"] });
    const ref = new Reference(proc);
    const first = await ref.lines.next();
    if (first.done || !String(first.value).startsWith("ready")) {
      proc.kill();
      return null;
    }
    console.log(`reference: PyTorch ${String(first.value).split(" ")[1]} via ${PYTHON}`);
    return ref;
  }

  /** Runs one workload in the reference process; its time in milliseconds. */
  async run(name: string): Promise<number> {
    this.proc.stdin!.write(`${name}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error("reference process ended early");
    return Number(line.value);
  }

  stop(): void {
    this.proc.stdin!.end();
  }
}
