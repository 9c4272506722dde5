/**
 * Weight initialisations, matching `torch.nn.init` (all run without recording gradients).
 *
 * Each random initialisation draws from, in order of precedence: the `generator` it is given, the
 * generator of the innermost {@link withInitGenerator} scope, or libtorch's global generator. Layer
 * constructors call these without a generator, so `withInitGenerator(g, () => build())` decides
 * where a whole model's initial weights come from without threading a generator through every
 * constructor.
 */
import { noGrad } from "../autograd.js";
import type { Generator } from "../generator.js";
import type { Tensor } from "../tensor.js";

let scoped: Generator | undefined;

/**
 * Runs `build` with `generator` as the source of every initialisation that is not given one (the
 * layers a model's constructor makes), and returns what it returns. Scopes nest; the previous
 * generator is restored afterwards, also when `build` throws. The same generator state gives the
 * same initial weights: `withInitGenerator(new Generator(s), build)` equals `manualSeed(s); build()`
 * on the CPU.
 */
export function withInitGenerator<T>(generator: Generator, build: () => T): T {
  if (typeof build !== "function") throw new TypeError("withInitGenerator: expected a synchronous function that builds modules");
  const previous = scoped;
  scoped = generator;
  try {
    const out = build();
    if (out instanceof Promise) throw new TypeError("withInitGenerator: build must be synchronous (a scope cannot span an await)");
    return out;
  } finally {
    scoped = previous;
  }
}

/** The generator an initialisation draws from: its own, else the scope's, else undefined (global). */
export function initGenerator(generator?: Generator): Generator | undefined {
  return generator ?? scoped;
}

/** fan_in and fan_out of a weight [out, in, ...kernel] as PyTorch computes them. */
export function fans(weight: Tensor): { fanIn: number; fanOut: number } {
  const shape = weight.shape;
  if (shape.length < 2) throw new RangeError(`fans: need a weight with at least 2 dims, got shape [${shape}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export type Nonlinearity = "linear" | "relu" | "leaky_relu" | "tanh" | "sigmoid";

/** PyTorch's `calculate_gain`. */
export function gain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case "linear":
    case "sigmoid": return 1;
    case "tanh": return 5 / 3;
    case "relu": return Math.SQRT2;
    case "leaky_relu": return Math.sqrt(2 / (1 + param * param));
  }
}

/** Fills `t` with U(low, high) draws (see the file comment for which generator). */
export function uniform_(t: Tensor, low: number, high: number, generator?: Generator): Tensor {
  return noGrad(() => t.uniform_(low, high, initGenerator(generator)));
}

/** Fills `t` with N(mean, std²) draws (see the file comment for which generator). */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, initGenerator(generator)));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** He-uniform; PyTorch's conv/linear default is `a = sqrt(5)` with fan_in. */
export function kaimingUniform_(t: Tensor, a = 0, mode: "fanIn" | "fanOut" = "fanIn", nonlinearity: Nonlinearity = "leaky_relu", generator?: Generator): Tensor {
  const bound = gain(nonlinearity, a) * Math.sqrt(3 / fans(t)[mode]);
  return uniform_(t, -bound, bound, generator);
}

export function kaimingNormal_(t: Tensor, a = 0, mode: "fanIn" | "fanOut" = "fanIn", nonlinearity: Nonlinearity = "leaky_relu", generator?: Generator): Tensor {
  return normal_(t, 0, gain(nonlinearity, a) / Math.sqrt(fans(t)[mode]), generator);
}

export function xavierUniform_(t: Tensor, g = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
