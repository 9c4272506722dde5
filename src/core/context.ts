/**
 * What every long-running command carries from the CLI down to runners and trainers: where the
 * work runs and writes, whether it continues an earlier run, how it reports, and when to stop.
 */
import type { ProgressMode } from "./progress.js";

/** A libtorch device name: "cpu", "cuda" or "cuda:N" (checked against the linked libtorch in torch/). */
export type DeviceName = "cpu" | "cuda" | `cuda:${number}`;

export interface RunContext {
  /** Where models, data batches and attacks run. */
  device: DeviceName;
  /** Folder for checkpoints, logs and results; nothing is written without it. */
  outDir?: string;
  /** Continue from the checkpoint in outDir (refused when it was made with other settings). */
  resume: boolean;
  /** "bar" on a terminal, "lines" in logs, "none" to stay silent. */
  progress: ProgressMode;
  /** One human-readable line (default: stderr). */
  log: (line: string) => void;
  /** Aborted when the user asks the run to stop (Ctrl-C); long loops check it between steps. */
  signal?: AbortSignal;
  /**
   * libtorch's deterministic mode was on for the run (`--deterministic`): ops without a
   * deterministic kernel fail instead of running, and with a fixed thread count the numbers match
   * across machines. Recorded beside a run's results.
   */
  deterministic: boolean;
  /** libtorch's CPU intra-op threads during the run, when known (`--threads`; recorded like `deterministic`). */
  threads?: number;
}

/** What a run records about the engine it ran on: enough to explain why two runs' numbers differ. */
export interface EngineSettings {
  deterministic: boolean;
  threads?: number;
}

/** The engine settings of a context, for a run's metadata. */
export function engineSettings(ctx: Pick<RunContext, "deterministic" | "threads">): EngineSettings {
  return ctx.threads === undefined ? { deterministic: ctx.deterministic } : { deterministic: ctx.deterministic, threads: ctx.threads };
}

/** A context with defaults for what is not given. */
export function runContext(partial: Partial<RunContext> = {}): RunContext {
  return {
    device: partial.device ?? "cpu",
    outDir: partial.outDir,
    resume: partial.resume ?? false,
    progress: partial.progress ?? (process.stderr.isTTY ? "bar" : "lines"),
    log: partial.log ?? ((line) => process.stderr.write(`${line}\n`)),
    signal: partial.signal,
    deterministic: partial.deterministic ?? false,
    threads: partial.threads,
  };
}
