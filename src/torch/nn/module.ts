/**
 * The Module base: named parameters, buffers and children whose names follow PyTorch's
 * `state_dict` keys (`features.0.weight`), so weights saved here load in PyTorch unchanged.
 */
import { noGrad } from "../autograd.js";
import { assertFinite, NonFiniteWeightsError } from "../finite.js";
import type { Generator } from "../generator.js";
import { keep } from "../scope.js";
import { Tensor } from "../tensor.js";

/** A mapping from state-dict keys to tensors. */
export type StateDict = Map<string, Tensor>;

/** Thrown by loadStateDict when keys or shapes do not match. */
export class StateDictError extends Error {
  constructor(readonly missing: string[], readonly unexpected: string[], readonly mismatched: string[]) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(", ")}`);
    if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(", ")}`);
    if (mismatched.length) parts.push(`shape mismatches: ${mismatched.join("; ")}`);
    super(`loadStateDict: ${parts.join(" | ")}`);
    this.name = "StateDictError";
  }
}

export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  /**
   * Where this module's own random draws (dropout masks) come from; undefined draws from
   * libtorch's global generator. Set it for a whole model with {@link Module.useGenerator}.
   */
  generator: Generator | undefined = undefined;
  readonly #params = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  /** Names of the buffers left out of the state dict. */
  readonly #transient = new Set<string>();
  readonly #children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable tensor (made a leaf that requires grad, and kept out of scopes). */
  protected registerParameter(name: string, t: Tensor | null): Tensor {
    if (t !== null) keep(t).requiresGrad_(true);
    this.#params.set(name, t);
    return t as Tensor;
  }

  /**
   * Registers a non-trainable tensor that moves with the module (`to`) and is freed with it
   * (`dispose`). Persistent buffers (the default, e.g. batch-norm running stats) are saved in the
   * state dict; non-persistent ones (`{ persistent: false }`, e.g. a fixed normalisation) are
   * not, as with PyTorch's `register_buffer(..., persistent=False)`.
   */
  protected registerBuffer(name: string, t: Tensor | null, options: { persistent?: boolean } = {}): Tensor {
    if (t !== null) keep(t);
    this.#buffers.set(name, t);
    if (options.persistent ?? true) this.#transient.delete(name);
    else this.#transient.add(name);
    return t as Tensor;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /**
   * Makes `generator` the source of the random draws of this module and of every submodule
   * (dropout masks), or the global generator again with undefined. The generator must live on the
   * module's device. Returns this module.
   */
  useGenerator(generator: Generator | undefined): this {
    for (const [, m] of this.namedModules()) m.generator = generator;
    return this;
  }

  /** Direct children, by name. */
  namedChildren(): [string, Module][] {
    return [...this.#children];
  }

  /** Every submodule, depth first, including this one (name ""). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    return this.#collect((m) => m.#params);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.#collect((m) => m.#buffers);
  }

  #collect(pick: (m: Module) => Map<string, Tensor | null>, persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of pick(m)) {
        if (t === null || (persistentOnly && m.#transient.has(name))) continue;
        out.push([prefix ? `${prefix}.${name}` : name, t]);
      }
    }
    return out;
  }

  /**
   * Parameters and persistent buffers by key. The tensors are the module's own: do not dispose
   * them.
   */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.#collect((m) => m.#buffers, true)]);
  }

  /**
   * Copies values into this module's tensors. With `strict` (default) every key must match and
   * every shape agree, else a StateDictError lists all problems and nothing is changed. A tensor
   * holding NaN or Inf is refused with a NonFiniteWeightsError naming its key and, for tensors read
   * by loadSafetensors, the file.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, strict = true): void {
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !incoming.has(k));
    const unexpected = [...incoming.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const src = incoming.get(k);
      if (src && src.shape.join(",") !== t.shape.join(",")) mismatched.push(`${k}: expected [${t.shape}], got [${src.shape}]`);
    }
    if (mismatched.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(strict ? missing : [], strict ? unexpected : [], mismatched);
    }
    try {
      assertFinite([...own.keys()].flatMap((k) => (incoming.has(k) ? [[k, incoming.get(k)!] as [string, Tensor]] : [])));
    } catch (err) {
      if (err instanceof NonFiniteWeightsError) err.message = `loadStateDict: ${err.message}`;
      throw err;
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = incoming.get(k);
        if (src) t.copy_(src);
      }
    });
  }

  /** Sets training mode here and in every child; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turns gradient recording for every parameter on or off (off = frozen); returns this. */
  requiresGrad_(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Moves every parameter and buffer to a device (or dtype), replacing them in place. */
  to(target: string): this {
    for (const [, m] of this.namedModules()) {
      for (const map of [m.#params, m.#buffers]) {
        for (const [name, t] of map) {
          if (t === null || t.device === target || t.dtype === target) continue;
          const moved = keep(noGrad(() => t.to(target)));
          if (map === m.#params) moved.requiresGrad_(t.requiresGrad);
          map.set(name, moved);
          // Fields that point at the old tensor follow it, whatever their name (BatchNorm2d keeps
          // "running_mean" in its `runningMean` field).
          const fields = m as unknown as Record<string, unknown>;
          for (const field of Object.keys(fields)) if (fields[field] === t) fields[field] = moved;
          t.dispose();
        }
      }
    }
    return this;
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }
}
