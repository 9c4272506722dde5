/** Weight initialisations, matching `torch.nn.init` (all run without recording gradients). */
import { noGrad } from "../autograd.js";
import type { Tensor } from "../tensor.js";

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

export function uniform_(t: Tensor, low: number, high: number): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** He-uniform; PyTorch's conv/linear default is `a = sqrt(5)` with fan_in. */
export function kaimingUniform_(t: Tensor, a = 0, mode: "fanIn" | "fanOut" = "fanIn", nonlinearity: Nonlinearity = "leaky_relu"): Tensor {
  const bound = gain(nonlinearity, a) * Math.sqrt(3 / fans(t)[mode]);
  return uniform_(t, -bound, bound);
}

export function kaimingNormal_(t: Tensor, a = 0, mode: "fanIn" | "fanOut" = "fanIn", nonlinearity: Nonlinearity = "leaky_relu"): Tensor {
  return normal_(t, 0, gain(nonlinearity, a) / Math.sqrt(fans(t)[mode]));
}

export function xavierUniform_(t: Tensor, g = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}
