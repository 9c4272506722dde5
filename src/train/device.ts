/** Placing a run's tensors on its device (RunContext.device) without touching CPU runs. */
import { checkDevice, type Tensor } from "../torch/index.js";

/** The device a run asks for, checked against the linked libtorch ("cpu" when not given). */
export function runDevice(device: string | undefined): string {
  return checkDevice(device ?? "cpu");
}

/** `t` on `device`: the same tensor when it is there already (every CPU run), else a copy there. */
export function onDevice(t: Tensor, device: string): Tensor {
  return t.device === device ? t : t.to(device);
}

/** A model on `device` seen from the CPU: inputs go there, logits come back (attacks on CPU AEs of a GPU model). */
export function logitsOnCpu(logits: (x: Tensor) => Tensor, device: string): (x: Tensor) => Tensor {
  return device === "cpu" ? logits : (x) => onDevice(logits(onDevice(x, device)), "cpu");
}
