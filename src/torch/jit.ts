/**
 * TorchScript modules (`torch.jit.save` files): a user's PyTorch model, run and differentiated
 * from TypeScript.
 */
import { existsSync } from "node:fs";
import { native, type ModuleHandle, type NativeArg } from "./native.js";
import { Tensor, wrap } from "./tensor.js";
import { checkDevice } from "./runtime.js";

export class ScriptModule {
  readonly #handle: ModuleHandle;
  private constructor(handle: ModuleHandle, readonly path: string) {
    this.#handle = handle;
  }

  /** Loads a TorchScript file; `device` places its weights ("cpu" by default). */
  static load(path: string, options: { device?: string } = {}): ScriptModule {
    if (!existsSync(path)) throw new Error(`ScriptModule.load: no such file ${path}`);
    const device = options.device === undefined ? null : checkDevice(options.device);
    try {
      return new ScriptModule(native.jitLoad(path, device), path);
    } catch (err) {
      throw new Error(`ScriptModule.load: ${path} is not a TorchScript file that libtorch can read: ${firstLine(err)}`, { cause: err });
    }
  }

  /** Calls a method (default "forward"); gradients flow through it to tensor inputs. */
  run(method: string, ...inputs: (Tensor | number | boolean | string | null)[]): unknown {
    const args = inputs.map((v) => (v instanceof Tensor ? v.handle : v)) as NativeArg[];
    try {
      return wrap(native.moduleRun(this.#handle, method, args));
    } catch (err) {
      throw new Error(`${this.path}: ${method}() failed: ${interpreterCause(err)}`, { cause: err });
    }
  }

  /** forward(...inputs), expecting one tensor back. */
  forward(...inputs: Tensor[]): Tensor {
    const out = this.run("forward", ...inputs);
    if (!(out instanceof Tensor)) throw new TypeError(`${this.path}: forward returned ${Array.isArray(out) ? "a tuple/list" : typeof out}, expected one tensor`);
    return out;
  }

  namedParameters(): [string, Tensor][] {
    return native.moduleTensors(this.#handle, "parameters").map(([n, h]) => [n, new Tensor(h)]);
  }

  namedBuffers(): [string, Tensor][] {
    return native.moduleTensors(this.#handle, "buffers").map(([n, h]) => [n, new Tensor(h)]);
  }

  train(on = true): this {
    native.moduleTrain(this.#handle, on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  to(device: string): this {
    native.moduleTo(this.#handle, checkDevice(device));
    return this;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(err: unknown): string {
  return messageOf(err).trim().split("\n")[0];
}

/**
 * The cause of a TorchScript interpreter error, first, in at most two lines. libtorch prints two
 * TorchScript tracebacks and puts the actual error ("RuntimeError: ...") last; the second line
 * here names the innermost source frame of the original code.
 */
function interpreterCause(err: unknown): string {
  const lines = messageOf(err).trim().split("\n");
  if (!lines[0].startsWith("The following operation failed in the TorchScript interpreter")) return lines.join("\n");
  const lastIndex = (from: number, test: RegExp): number => {
    for (let i = from - 1; i >= 0; i--) if (test.test(lines[i])) return i;
    return -1;
  };
  const causeAt = lastIndex(lines.length, /^\w+(Error|Exception): /);
  const cause = causeAt < 0 ? lines[lines.length - 1] : lines.slice(causeAt).join(" ");
  const frameAt = lastIndex(causeAt < 0 ? lines.length : causeAt, /^\s*File "/);
  const frame = frameAt < 0 ? undefined : lines[frameAt];
  return frame === undefined ? cause : `${cause}\n  (in TorchScript: ${frame.trim()})`;
}
