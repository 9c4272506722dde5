/**
 * The one path from TypeScript to a libtorch operator: resolve "aten::name.overload" once, then
 * call it boxed through the c10 dispatcher with Tensor arguments replaced by their handles.
 */
import { native, type GeneratorHandle, type NativeArg, type NativeResult, type TensorHandle } from "./native.js";

const ids = new Map<string, number>();

/** Resolves a qualified op name ("aten::add.Tensor") to its dispatcher id, once per process. */
export function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    const sep = qualified.indexOf(".", qualified.indexOf("::"));
    const name = sep < 0 ? qualified : qualified.slice(0, sep);
    const overload = sep < 0 ? "" : qualified.slice(sep + 1);
    id = native.findOp(name, overload);
    ids.set(qualified, id);
  }
  return id;
}

/** The schema of a qualified op name, as PyTorch prints it. */
export function opSchema(qualified: string): string {
  return native.opSchema(opId(qualified));
}

/** Something that carries a native handle: a tensor, or a generator for `Generator?` arguments. */
export interface HasHandle {
  readonly handle: TensorHandle | GeneratorHandle;
}

export type OpArg = HasHandle | number | boolean | string | null | undefined | readonly OpArg[];

function toNative(arg: OpArg): NativeArg {
  if (arg !== null && typeof arg === "object") {
    if (Array.isArray(arg)) return arg.map(toNative);
    return (arg as HasHandle).handle;
  }
  return arg as NativeArg;
}

/** Calls an op by qualified name; returns the raw native result (handles not yet wrapped). */
export function callRaw(qualified: string, args: readonly OpArg[], discard = false): NativeResult {
  return native.callOp(opId(qualified), args.map(toNative), discard);
}
