/**
 * What the inference fast path (models/fast-path.ts) needs from libtorch below the usual ops:
 * channels-last layouts, oneDNN's convolution called directly, an in-place ReLU.
 */
import { callRaw } from "./dispatch.js";
import { op, type Tensor } from "./tensor.js";

/** c10::MemoryFormat::ChannelsLast: NHWC strides for an NCHW tensor. */
const CHANNELS_LAST = 2;

/** `t` laid out channels-last (NHWC in memory, still NCHW in shape); the same storage when it already is. */
export function toChannelsLast(t: Tensor): Tensor {
  return op("aten::contiguous", [t, CHANNELS_LAST]);
}

/**
 * oneDNN's 2-d convolution (`aten::mkldnn_convolution`): CPU float32 only, no autograd needed.
 * Channels-last input and weight keep it in oneDNN's fast layout.
 */
export function oneDnnConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, padding: readonly [number, number], stride: readonly [number, number], dilation: readonly [number, number], groups: number): Tensor {
  return op("aten::mkldnn_convolution", [x, weight, bias, padding, stride, dilation, groups]);
}

/** max(x, 0) in place; returns `x`. */
export function relu_(x: Tensor): Tensor {
  callRaw("aten::relu_", [x], true);
  return x;
}
