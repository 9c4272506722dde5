/**
 * The options every command shares (`--device`, and `--progress` where a command reports
 * progress) and the RunContext built from them. The device is checked against the linked
 * libtorch while the command line is parsed, so a missing GPU fails before any work starts.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { runContext, type DeviceName, type RunContext } from "../core/context.js";
import type { ProgressMode } from "../core/progress.js";
import type { Classifier } from "../models/classifier.js";
import { cudaDeviceCount, parseDeviceName } from "../torch/index.js";

/** The shared options as commander parses them. */
export interface RunFlags {
  device?: DeviceName;
  progress?: ProgressMode;
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

/** Adds `--device` (and `--progress` when `progress` is true) to a command; returns the command. */
export function addRunOptions(cmd: Command, options: { progress?: boolean } = {}): Command {
  cmd.addOption(deviceOption());
  if (options.progress) {
    cmd.addOption(new Option("--progress <mode>", "progress display: a live bar, plain lines (logs) or none (default: bar on a terminal)").choices(["bar", "lines", "none"]));
  }
  return cmd;
}

/** The RunContext of a command from its parsed flags, with anything else the command knows. */
export function contextFromFlags(flags: RunFlags, extra: Partial<RunContext> = {}): RunContext {
  return runContext({ ...extra, device: flags.device ?? extra.device ?? "cpu", progress: flags.progress ?? extra.progress });
}

/** Moves a classifier's weights to `device` (a no-op for "cpu", where models are loaded). */
export function moveToDevice<T extends Classifier>(model: T, device: DeviceName): T {
  if (device === "cpu") return model;
  const movable = model as unknown as { to?: (device: string) => unknown };
  if (typeof movable.to !== "function") throw new Error(`--device ${device}: a ${model.arch} model cannot be moved off the CPU`);
  movable.to(device);
  return model;
}
