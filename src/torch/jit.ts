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
    return new ScriptModule(native.jitLoad(path, device), path);
  }

  /** Calls a method (default "forward"); gradients flow through it to tensor inputs. */
  run(method: string, ...inputs: (Tensor | number | boolean | string | null)[]): unknown {
    const args = inputs.map((v) => (v instanceof Tensor ? v.handle : v)) as NativeArg[];
    return wrap(native.moduleRun(this.#handle, method, args));
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
