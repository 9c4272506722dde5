/**
 * The addon's `distributed` object (native/distributed.cc): torch's c10d store, process groups and
 * collectives. Only `backends` is always there; the rest exists when the addon was built with Gloo.
 */
import type { TensorHandle } from "./native.js";

/** An opaque c10d TCPStore handle. */
export type StoreHandle = { readonly __storeHandle: unique symbol };
/** An opaque c10d process group handle. */
export type GroupHandle = { readonly __groupHandle: unique symbol };
/** An opaque handle to a started collective. */
export type WorkHandle = { readonly __workHandle: unique symbol };

export type ReduceOpName = "sum" | "max" | "min" | "product";

export interface DistributedBinding {
  /** The backends compiled in: "gloo" and, with a CUDA libtorch built with it, "nccl". */
  backends(): string[];
  createStore(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): Promise<StoreHandle>;
  createGroup(backend: string, store: StoreHandle, prefix: string, rank: number, size: number, timeoutMs: number, hostname: string): Promise<GroupHandle>;
  destroyGroup(group: GroupHandle): void;
  allReduce(group: GroupHandle, tensors: TensorHandle[], op: ReduceOpName, timeoutMs: number): WorkHandle;
  broadcast(group: GroupHandle, tensors: TensorHandle[], root: number, timeoutMs: number): WorkHandle;
  allGather(group: GroupHandle, outputs: TensorHandle[], input: TensorHandle): WorkHandle;
  /** The sum over ranks as a new tensor recorded for autograd: its backward all-reduces the gradient. */
  allReduceSumDifferentiable(group: GroupHandle, tensor: TensorHandle, timeoutMs: number): TensorHandle;
  barrier(group: GroupHandle): WorkHandle;
  waitWork(work: WorkHandle, timeoutMs: number): void;
  waitWorkAsync(work: WorkHandle, timeoutMs: number): Promise<void>;
}
