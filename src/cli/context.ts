/**
 * The options every command shares (`--device`, `--deterministic`, `--threads`, and `--progress`
 * where a command reports progress) and the RunContext built from them. The device is checked
 * against the linked libtorch while the command line is parsed, so a missing GPU fails before any
 * work starts; the engine settings are applied before the command's action runs.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { runContext, type DeviceName, type RunContext } from "../core/context.js";
import type { ProgressMode } from "../core/progress.js";
import type { Classifier } from "../models/classifier.js";
import { cudaDeviceCount, getNumThreads, parseDeviceName, setDeterministic, setNumThreads } from "../torch/index.js";
import { positiveInt } from "./parse.js";

/** The shared options as commander parses them. */
export interface RunFlags {
  device?: DeviceName;
  progress?: ProgressMode;
  deterministic?: boolean;
  threads?: number;
}

/**
 * The CPU thread count `--deterministic` uses when `--threads` is not given. CPU kernels split
 * their reductions by thread count, so bit-identical results across machines need the same count
 * everywhere, and 1 is the count every machine has. A larger `--threads N` is faster and still
 * matches any machine run with the same N.
 */
export const DETERMINISTIC_THREADS = 1;

/**
 * Applies `--deterministic` and `--threads` to libtorch (deterministic algorithms, the thread
 * count) and returns what is in effect. Without either flag libtorch is left as it is.
 */
export function applyEngineFlags(flags: Pick<RunFlags, "deterministic" | "threads">): { deterministic: boolean; threads: number } {
  const deterministic = flags.deterministic === true;
  const threads = flags.threads ?? (deterministic ? DETERMINISTIC_THREADS : undefined);
  if (threads !== undefined) setNumThreads(threads);
  if (deterministic) setDeterministic(true);
  return { deterministic, threads: getNumThreads() };
}

/**
 * Checks a `--device` value: its form ("cpu", "cuda", "cuda:N") and that the linked libtorch has
 * that device. `deviceCount` is the number of CUDA devices libtorch sees (injectable for tests).
 */
export function parseDevice(value: string, deviceCount: () => number = cudaDeviceCount): DeviceName {
  const parsed = parseDeviceName(value);
  if (parsed?.type === "cpu") return "cpu";
  if (!parsed) throw new InvalidArgumentError(`expected cpu, cuda or cuda:N (N a device index), got ${JSON.stringify(value)}`);
  const count = deviceCount();
  // Plain Errors (not InvalidArgumentError) reach the user as they are, naming the option first.
  if (count === 0) {
    throw new Error(`--device ${value}: this libtorch was built without CUDA (or sees no GPU); install a CUDA build of libtorch and set LIBTORCH, or use --device cpu`);
  }
  if (parsed.index >= count) throw new Error(`--device ${value}: this machine has ${count} CUDA device(s), numbered 0 to ${count - 1}`);
  return value as DeviceName;
}

/** The `--device` option alone (for `.addOption(deviceOption())` in a command's chain). */
export function deviceOption(): Option {
  return new Option("--device <name>", "where models and batches run: cpu, cuda or cuda:N").argParser((v: string) => parseDevice(v)).default("cpu");
}

/**
 * Adds `--device`, `--deterministic` and `--threads` (and `--progress` when `progress` is true) to a
 * command, and applies the engine flags before its action runs; returns the command.
 */
export function addRunOptions(cmd: Command, options: { progress?: boolean } = {}): Command {
  cmd.addOption(deviceOption());
  cmd.option("--deterministic", `libtorch's deterministic algorithms (an op without one fails) and a fixed CPU thread count (--threads, default ${DETERMINISTIC_THREADS}), so results match across machines`);
  cmd.option("--threads <n>", "CPU threads for libtorch's intra-op parallelism (default: OMP_NUM_THREADS if set, else all cores; 1 with --deterministic)", positiveInt);
  cmd.hook("preAction", (command) => {
    applyEngineFlags(command.opts<RunFlags>());
  });
  if (options.progress) {
    cmd.addOption(new Option("--progress <mode>", "progress display: a live bar, plain lines (logs) or none (default: bar on a terminal)").choices(["bar", "lines", "none"]));
  }
  return cmd;
}

/** The RunContext of a command from its parsed flags, with anything else the command knows. */
export function contextFromFlags(flags: RunFlags, extra: Partial<RunContext> = {}): RunContext {
  const engine = applyEngineFlags(flags); // already applied by the preAction hook; applying again changes nothing
  return runContext({ ...extra, device: flags.device ?? extra.device ?? "cpu", progress: flags.progress ?? extra.progress, ...engine });
}

/** Moves a classifier's weights to `device` (a no-op for "cpu", where models are loaded). */
export function moveToDevice<T extends Classifier>(model: T, device: DeviceName): T {
  if (device === "cpu") return model;
  const movable = model as unknown as { to?: (device: string) => unknown };
  if (typeof movable.to !== "function") throw new Error(`--device ${device}: a ${model.arch} model cannot be moved off the CPU`);
  movable.to(device);
  return model;
}
