/**
 * The inference fast path's batch-norm folding. In eval mode a BatchNorm2d after a conv is an
 * affine map per channel, y = (conv(x) − μ)·γ/√(σ² + ε) + β, so it can be merged into the conv's
 * weights and bias once: one conv instead of conv + batch norm per layer, and no extra pass over
 * the activations.
 */
import { F, keep, nn, noGrad, tidy, type Tensor } from "../torch/index.js";

/** What {@link foldBatchNorm} did; `restore()` puts every module back as it was. */
export interface FoldedBatchNorm {
  /** Number of conv + batch-norm pairs merged. */
  readonly pairs: number;
  /** Gives every module its own forward back and frees the merged weights. */
  restore(): void;
}

/** The merged weight and bias of a conv followed by a batch norm in eval mode. */
export function foldedConvParameters(conv: nn.Conv2d, bn: nn.BatchNorm2d): { weight: Tensor; bias: Tensor } {
  if (!bn.runningMean || !bn.runningVar) throw new RangeError(`foldBatchNorm: BatchNorm2d(${bn.numFeatures}) keeps no running statistics; nothing to fold`);
  const mean = bn.runningMean;
  const variance = bn.runningVar;
  return tidy(() => noGrad(() => {
    // Computed in float64 so the merged layer stays within rounding of the two-step one.
    const scale = variance.double().add(bn.eps).rsqrt().mul(bn.weight ? bn.weight.double() : 1);
    const weight = conv.weight.double().mul(scale.reshape([-1, 1, 1, 1])).to(conv.weight.dtype);
    const shift = conv.bias ? conv.bias.double().sub(mean.double()) : mean.double().neg();
    let bias = shift.mul(scale);
    if (bn.bias) bias = bias.add(bn.bias.double());
    return { weight: keep(weight), bias: keep(bias.to(conv.weight.dtype)) };
  }));
}

/**
 * Merges every batch norm that directly follows a conv into that conv, for eval mode only.
 *
 * A pair is a Conv2d child registered immediately before a BatchNorm2d child of the same module
 * with as many features as the conv has output channels: how ConvBnRelu, ResNet's blocks and
 * shortcuts and every Sequential of the built-in architectures are written, and each of them feeds
 * the conv only into that batch norm. In eval mode the conv then computes the merged layer and the
 * batch norm passes its input through; in training mode both run as before. The merged weights are
 * a snapshot: call `restore()` before changing the weights (training, loading, moving devices),
 * and fold again afterwards.
 */
export function foldBatchNorm(root: nn.Module): FoldedBatchNorm {
  const undo: (() => void)[] = [];
  for (const [, m] of root.namedModules()) {
    const children = m.namedChildren().map(([, c]) => c);
    for (let i = 0; i + 1 < children.length; i++) {
      const conv = children[i];
      const bn = children[i + 1];
      if (!(conv instanceof nn.Conv2d) || !(bn instanceof nn.BatchNorm2d) || bn.numFeatures !== conv.outChannels || !bn.runningMean) continue;
      if (Object.hasOwn(conv, "forward") || Object.hasOwn(bn, "forward")) throw new Error("foldBatchNorm: this model is already folded; restore() it first");
      const { weight, bias } = foldedConvParameters(conv, bn);
      const convForward = conv.forward.bind(conv);
      const bnForward = bn.forward.bind(bn);
      const folded = () => !conv.training && !bn.training;
      conv.forward = (x: Tensor): Tensor => {
        if (!folded()) return convForward(x);
        if (x.ndim !== 4 || x.size(1) !== conv.inChannels) {
          throw new RangeError(`Conv2d(${conv.inChannels}->${conv.outChannels}): expected input [N, ${conv.inChannels}, H, W], got [${x.shape}]`);
        }
        return F.conv2d(x, weight, bias, conv.options);
      };
      bn.forward = (x: Tensor): Tensor => (folded() ? x : bnForward(x));
      undo.push(() => {
        delete (conv as Partial<nn.Conv2d>).forward;
        delete (bn as Partial<nn.BatchNorm2d>).forward;
        weight.dispose();
        bias.dispose();
      });
      i++;
    }
  }
  let restored = false;
  return {
    pairs: undo.length,
    restore() {
      if (restored) return;
      restored = true;
      for (const u of undo) u();
    },
  };
}
