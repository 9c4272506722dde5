/**
 * The only module that loads the compiled addon. Everything native the project uses is declared
 * in {@link NativeBinding}; when the binary cannot be loaded the error lists concrete fixes.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DistributedBinding } from "./native-distributed.js";

/** An opaque native tensor handle. */
export type TensorHandle = { readonly __tensorHandle: unique symbol };
/** An opaque native random generator handle. */
export type GeneratorHandle = { readonly __generatorHandle: unique symbol };
/** An opaque native TorchScript module handle. */
export type ModuleHandle = { readonly __moduleHandle: unique symbol };

/** Values the addon accepts as op arguments (after Tensors are replaced by their handles). */
export type NativeArg = TensorHandle | GeneratorHandle | number | boolean | string | null | undefined | NativeArg[];
/** Values the addon returns from ops and TorchScript methods. */
export type NativeResult = TensorHandle | number | boolean | string | null | undefined | NativeResult[] | { [k: string]: NativeResult };

export interface NativeBinding {
  /** Resolves "aten::name" + overload to an id for callOp; throws for an unknown op. */
  findOp(name: string, overload: string): number;
  /** The operator's schema, as PyTorch prints it. */
  opSchema(id: number): string;
  /** Boxed call through the c10 dispatcher; undefined arguments take the schema default. */
  callOp(id: number, args: NativeArg[], discard?: boolean): NativeResult;
  dispose(t: TensorHandle): void;
  liveTensors(): number;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], scalarType: number): TensorHandle;
  toBuffer(t: TensorHandle): ArrayBuffer;
  /** [scalarType, device, requiresGrad, ...sizes] */
  meta(t: TensorHandle): [number, string, boolean, ...number[]];
  setRequiresGrad(t: TensorHandle, value: boolean): void;
  isLeaf(t: TensorHandle): boolean;
  grad(t: TensorHandle): TensorHandle | null;
  setGrad(t: TensorHandle, g: TensorHandle | null): void;
  backward(outputs: TensorHandle[], grads: (TensorHandle | null)[] | null, retainGraph: boolean): void;
  autogradGrad(outputs: TensorHandle[], inputs: TensorHandle[], grads: (TensorHandle | null)[] | null,
    retainGraph: boolean, createGraph: boolean, allowUnused: boolean): (TensorHandle | null)[];
  setGradEnabled(enabled: boolean): boolean;
  inferenceMode<T>(fn: () => T): T;
  setNumThreads(n: number): void;
  numThreads(): number;
  /** libtorch's deterministic mode on or off (algorithms, cuDNN; cuDNN benchmark always off). */
  setDeterministic(on: boolean): void;
  /** [deterministicAlgorithms, warnOnly, cudnnDeterministic, cudnnBenchmark] as libtorch holds them. */
  deterministic(): [boolean, boolean, boolean, boolean];
  manualSeed(seed: number): void;
  /** A new generator on `device` seeded with `seed` (the stream the global one gives after manualSeed(seed)). */
  makeGenerator(seed: number, device: string): GeneratorHandle;
  disposeGenerator(g: GeneratorHandle): void;
  cudaDeviceCount(): number;
  version(): string;
  jitLoad(path: string, device: string | null): ModuleHandle;
  moduleRun(m: ModuleHandle, method: string, inputs: NativeArg[]): NativeResult;
  moduleTensors(m: ModuleHandle, kind: "parameters" | "buffers"): [string, TensorHandle][];
  moduleTrain(m: ModuleHandle, on: boolean): void;
  moduleTo(m: ModuleHandle, device: string): void;
  /** torch's c10d collectives (src/distributed/ is their only user). */
  distributed: DistributedBinding;
}

/** The package folder (the one holding binding.gyp), from src/torch or a compiled copy of it. */
function projectRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, "..", ".."), join(here, "..", "..", "..")].find((p) => existsSync(join(p, "binding.gyp")));
}

function load(): NativeBinding {
  const root = projectRoot();
  const candidates = root
    ? [join(root, "build", "Release", "idfr_torch.node"), join(root, "build", "Debug", "idfr_torch.node")]
    : [];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      "idfr: the native addon is not built. Fix: install libtorch (`sudo apt-get install libtorch-dev`, " +
        "or set LIBTORCH=/path/to/libtorch), then run `npm run build:native` (or `bash scripts/setup.sh`).",
    );
  }
  let binding: NativeBinding;
  try {
    binding = createRequire(import.meta.url)(found) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `idfr: the native addon at ${found} could not be loaded (${reason}). Fix: make sure the libtorch it was ` +
        "built against is still installed (`sudo apt-get install libtorch-dev`, or the folder LIBTORCH names), " +
        "then rebuild with `npm run build:native`.",
    );
  }
  assertSupportedLibtorch(binding.version(), found);
  return binding;
}

interface VersionRule {
  SUPPORTED: string;
  versionProblem(version: string, where?: string): string | null;
}

/** The supported libtorch range, shared with the build script so the two never disagree. */
function versionRule(): VersionRule {
  return createRequire(import.meta.url)(join(projectRoot() ?? "", "scripts", "libtorch.cjs")) as VersionRule;
}

/** The libtorch versions idfr works with, e.g. ">= 1.13". */
export const SUPPORTED_LIBTORCH: string = versionRule().SUPPORTED;

/**
 * Throws one sentence naming the found and the supported libtorch versions when `version` (as
 * the addon reports it) is outside the supported range; `where` names the addon or library.
 */
export function assertSupportedLibtorch(version: string, where: string): void {
  const problem = versionRule().versionProblem(version, where);
  if (problem !== null) throw new Error(`idfr: ${problem.replace(/\.$/, "")}, then rebuild with \`npm run build:native\`.`);
}

/** The loaded addon. */
export const native: NativeBinding = load();
