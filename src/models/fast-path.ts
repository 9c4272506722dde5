/**
 * The inference fast path for serving and evaluation, applied to a built-in model in place
 * (`enableFastPath(model)`, then run it under `inferenceMode`):
 *
 * - **Batch norm folded** into the conv before it: in eval mode a BatchNorm2d after a conv is an
 *   affine map per channel, y = (conv(x) − μ)·γ/√(σ² + ε) + β, merged once into the conv's weights
 *   and bias, so one conv runs instead of conv + batch norm.
 * - **oneDNN directly** (CPU, float32): every conv calls libtorch's oneDNN
 *   convolution on channels-last maps with channels-last weights prepared once, and every linear
 *   layer runs as a 1x1 oneDNN convolution. libtorch's own dispatch picks a slow im2col kernel for
 *   small batches, and Debian's libtorch does its matrix products with a generic BLAS; on the demo's
 *   models this is where most of the time went.
 * - **ReLU in place** on the fresh output of a conv + batch norm + ReLU unit (without autograd).
 *
 * With autograd on (attacks through a served model) the same layers run and differentiate with
 * respect to the input (the prepared weights are constants); in training mode every module runs its
 * own forward. Outputs match the plain path within float32 rounding (the suite checks 1e-5, and
 * input gradients too). Run the model under `inferenceMode` when no gradient is needed.
 */
import { F, isGradEnabled, keep, nn, noGrad, oneDnnConv2d, relu_, tidy, toChannelsLast, type Tensor } from "../torch/index.js";
import { ConvBnRelu } from "./conv-bn-relu.js";

/** Options of {@link enableFastPath}. */
export interface FastPathOptions {
  /**
   * Call oneDNN's convolution directly for convs and linear layers on CPU float32 inputs (default
   * true). False leaves only the folding.
   */
  oneDnn?: boolean;
}

/** What {@link enableFastPath} did; `restore()` puts every module back as it was. */
export interface FastPath {
  /** Conv + batch-norm pairs merged. */
  readonly pairs: number;
  /** Convs and linear layers that run through oneDNN directly (on CPU inputs). */
  readonly oneDnnLayers: number;
  /** Gives every module its own forward back and frees the prepared weights. */
  restore(): void;
}

/** The merged weight and bias of a conv followed by a batch norm in eval mode. */
export function foldedConvParameters(conv: nn.Conv2d, bn: nn.BatchNorm2d): { weight: Tensor; bias: Tensor } {
  if (!bn.runningMean || !bn.runningVar) throw new RangeError(`enableFastPath: BatchNorm2d(${bn.numFeatures}) keeps no running statistics; nothing to fold`);
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

const pair = (v: number | readonly [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === "number" ? [v, v] : [v[0], v[1]]);

/** Inputs oneDNN's convolution takes: float32 on the CPU (it has a backward, so attacks use it too). */
const oneDnnInput = (x: Tensor): boolean => x.device === "cpu" && x.dtype === "float32";

/**
 * Puts a model on the inference fast path (see the file's comment), in place; `restore()` undoes it.
 *
 * A batch-norm pair is a Conv2d child registered immediately before a BatchNorm2d child of the same
 * module with as many features as the conv has output channels: how ConvBnRelu, ResNet's blocks
 * and shortcuts and every Sequential of the built-in architectures are written, and each of them
 * feeds the conv only into that batch norm. The prepared weights are a snapshot: call `restore()`
 * before changing the weights (training, loading, moving devices), and apply it again afterwards.
 */
export function enableFastPath(root: nn.Module, options: FastPathOptions = {}): FastPath {
  const oneDnn = options.oneDnn ?? true;
  const undo: (() => void)[] = [];
  let pairs = 0;
  let oneDnnLayers = 0;
  const modules = root.namedModules().map(([, m]) => m);
  if (modules.some((m) => Object.hasOwn(m, "forward"))) throw new Error("enableFastPath: this model is already on the fast path; restore() it first");
  const bnAfter = new Map<nn.Conv2d, nn.BatchNorm2d>();
  for (const m of modules) {
    const children = m.namedChildren().map(([, c]) => c);
    for (let i = 0; i + 1 < children.length; i++) {
      const [conv, bn] = [children[i], children[i + 1]];
      if (conv instanceof nn.Conv2d && bn instanceof nn.BatchNorm2d && bn.numFeatures === conv.outChannels && bn.runningMean && !bnAfter.has(conv)) {
        bnAfter.set(conv, bn);
        i++;
      }
    }
  }
  for (const m of modules) {
    if (m instanceof nn.Conv2d) {
      const conv = m;
      const bn = bnAfter.get(conv);
      const own = conv.forward.bind(conv);
      const { weight, bias } = bn ? foldedConvParameters(conv, bn) : { weight: conv.weight, bias: conv.bias };
      const [padding, stride, dilation] = [pair(conv.options.padding, 0), pair(conv.options.stride, 1), pair(conv.options.dilation, 1)];
      const prepared = oneDnn && weight.device === "cpu" && weight.dtype === "float32" ? keep(tidy(() => noGrad(() => toChannelsLast(weight.detach()).clone()))) : null;
      const preparedBias = prepared && bias ? keep(tidy(() => noGrad(() => bias.detach().clone()))) : null;
      conv.forward = (x: Tensor): Tensor => {
        if (conv.training || bn?.training) return own(x);
        if (x.ndim !== 4 || x.size(1) !== conv.inChannels) {
          throw new RangeError(`Conv2d(${conv.inChannels}->${conv.outChannels}): expected input [N, ${conv.inChannels}, H, W], got [${x.shape}]`);
        }
        if (prepared && oneDnnInput(x)) {
          // The first conv converts its input; the maps after it are channels-last already.
          const input = toChannelsLast(x);
          const out = oneDnnConv2d(input, prepared, preparedBias, padding, stride, dilation, conv.options.groups ?? 1);
          input.dispose();
          return out;
        }
        return bn ? F.conv2d(x, weight, bias, conv.options) : own(x);
      };
      if (bn) {
        const bnOwn = bn.forward.bind(bn);
        bn.forward = (x: Tensor): Tensor => (conv.training || bn.training ? bnOwn(x) : x);
        pairs++;
      }
      if (prepared) oneDnnLayers++;
      undo.push(() => {
        delete (conv as Partial<nn.Conv2d>).forward;
        if (bn) {
          delete (bn as Partial<nn.BatchNorm2d>).forward;
          weight.dispose();
          bias?.dispose();
        }
        prepared?.dispose();
        preparedBias?.dispose();
      });
    } else if (m instanceof nn.Linear && oneDnn && m.weight.device === "cpu" && m.weight.dtype === "float32") {
      const linear = m;
      const own = linear.forward.bind(linear);
      const weight = keep(tidy(() => noGrad(() => linear.weight.detach().reshape([linear.outFeatures, linear.inFeatures, 1, 1]).clone())));
      const bias = linear.bias ? keep(tidy(() => noGrad(() => linear.bias!.detach().clone()))) : null;
      linear.forward = (x: Tensor): Tensor => {
        if (linear.training || x.ndim !== 2 || x.size(1) !== linear.inFeatures || !oneDnnInput(x)) return own(x);
        return tidy(() => oneDnnConv2d(x.reshape([x.size(0), linear.inFeatures, 1, 1]), weight, bias, [0, 0], [1, 1], [1, 1], 1).reshape([x.size(0), linear.outFeatures]));
      };
      oneDnnLayers++;
      undo.push(() => {
        delete (linear as Partial<nn.Linear>).forward;
        weight.dispose();
        bias?.dispose();
      });
    }
  }
  for (const m of modules) {
    if (!(m instanceof ConvBnRelu) || !bnAfter.has(m.conv)) continue;
    // conv → ReLU with the ReLU in place on the conv's fresh output: one activation map less to
    // allocate and fill. Only without autograd (attacks through a prepared model take the usual path).
    const unit = m;
    const own = unit.forward.bind(unit);
    unit.forward = (x: Tensor): Tensor => {
      if (unit.training || isGradEnabled()) return own(x);
      return relu_(unit.conv.forward(x));
    };
    undo.push(() => delete (unit as Partial<ConvBnRelu>).forward);
  }
  let restored = false;
  return {
    pairs, oneDnnLayers,
    restore() {
      if (restored) return;
      restored = true;
      for (const u of undo) u();
    },
  };
}
