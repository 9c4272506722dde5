/**
 * PyTorch checkpoints (`torch.save`) read without Python: state dicts, and checkpoints that nest
 * them ({"state_dict": ..., "epoch": 90}), in both of torch.save's formats.
 *
 * - Zip (PyTorch >= 1.6): `<name>/data.pkl` is a pickle whose tensors refer, by persistent id
 *   ("storage", torch.FloatStorage, key, location, numel), to the raw little-endian bytes in
 *   `<name>/data/<key>` (`<name>/byteorder` says "big" on big-endian machines).
 * - Legacy (before 1.6): pickles one after another: a magic number, the protocol version, system
 *   info (byte order), the object (persistent ids ("storage", type, key, location, numel, view)),
 *   the list of storage keys, then each storage as an int64 element count and its bytes.
 *
 * Each tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`; strided
 * views (a transposed weight) are gathered into C order. Only the globals listed here are
 * allowed, and none is executed: anything else fails naming it (or, with `unknown: "opaque"`, is
 * left out of the result).
 */
import { readFileSync } from "node:fs";
import type { SourceDType } from "./host-array.js";
import type { HostArray } from "./host-array.js";
import { SOURCE_ITEM_SIZE } from "./host-array.js";
import { NUMPY_GLOBALS } from "./npy.js";
import { describe, PyGlobal, unpickle, type GlobalHandler } from "./pickle.js";
import { flattenTree, flatToTensors, type FlatTree } from "./py-tree.js";
import type { Tensor } from "./tensor.js";
import { isZip, readZip } from "./zip.js";

/** Thrown for a checkpoint this reader cannot read; names the file and the reason. */
export class PthError extends Error {
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = "PthError";
  }
}

const STORAGES: Record<string, SourceDType> = {
  FloatStorage: "float32", DoubleStorage: "float64", HalfStorage: "float16", BFloat16Storage: "bfloat16",
  LongStorage: "int64", IntStorage: "int32", ShortStorage: "int16", CharStorage: "int8", ByteStorage: "uint8", BoolStorage: "bool",
  UntypedStorage: "uint8",
};

/** A storage named by a persistent id; legacy files fill its bytes after the object pickle. */
class Storage {
  bytes: Uint8Array | undefined;
  constructor(readonly key: string, readonly dtype: SourceDType, readonly numel: number, public littleEndian: boolean) {}
}

/** A tensor as the pickle describes it: a view (offset, size, stride) of a storage. */
export class TensorRef {
  constructor(readonly storage: Storage, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
  get dtype(): SourceDType {
    return this.storage.dtype;
  }
  hostArray(name: string): HostArray {
    const bytes = this.storage.bytes;
    if (!bytes) throw new Error(`${name}: the bytes of storage ${this.storage.key} are missing from the file`);
    return { dtype: this.storage.dtype, littleEndian: this.storage.littleEndian, bytes, shape: this.size, stride: this.stride, offset: this.offset };
  }
}

const ints = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v) || !v.every((d) => typeof d === "number" && Number.isInteger(d))) throw new Error(`${what}: expected a tuple of integers, got ${describe(v)}`);
  return v as number[];
};

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof Storage)) throw new Error(`_rebuild_tensor: expected a storage, got ${describe(storage)}`);
  if (typeof offset !== "number") throw new Error(`_rebuild_tensor: expected an integer storage offset, got ${describe(offset)}`);
  const s = ints(size, "tensor size");
  const st = ints(stride, "tensor stride");
  if (st.length !== s.length) throw new Error(`tensor of size [${s}] has ${st.length} strides`);
  return new TensorRef(storage, offset, s, st);
}

/** The torch and collections globals a state dict or checkpoint pickle uses, plus NumPy's. */
function torchGlobals(): Map<string, GlobalHandler> {
  const m = new Map<string, GlobalHandler>(NUMPY_GLOBALS);
  m.set("torch._utils._rebuild_tensor_v2", { call: rebuildTensor });
  m.set("torch._utils._rebuild_tensor", { call: rebuildTensor });
  // nn.Parameter: the tensor it wraps (requires_grad and hooks do not matter for weights).
  m.set("torch._utils._rebuild_parameter", { call: (args) => args[0] });
  m.set("torch._utils._rebuild_parameter_with_state", { call: (args) => args[0] });
  // Tensor subclasses: func(*args) rebuilds the plain tensor; the subclass and its __dict__ are dropped.
  m.set("torch._tensor._rebuild_from_type_v2", {
    call: ([fn, , args]) => {
      if (!(fn instanceof PyGlobal) || !Array.isArray(args)) throw new Error("_rebuild_from_type_v2: expected a global and an argument tuple");
      const h = m.get(fn.qualified);
      if (!h) throw new Error(`_rebuild_from_type_v2: unsupported rebuild function ${fn.qualified}`);
      return h.call(args);
    },
  });
  m.set("torch.Size", { call: ([dims]) => ints(dims, "torch.Size") });
  const ordered: GlobalHandler = {
    call: ([items]) => {
      const d = new Map<unknown, unknown>();
      if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) d.set(kv[0], kv[1]);
      return d;
    },
  };
  m.set("collections.OrderedDict", ordered);
  const typeOnly = (name: string): GlobalHandler => ({ call: () => { throw new Error(`${name} is only read as a storage type`); } });
  for (const s of Object.keys(STORAGES)) {
    m.set(`torch.${s}`, typeOnly(`torch.${s}`));
    m.set(`torch.cuda.${s}`, typeOnly(`torch.cuda.${s}`));
  }
  m.set("torch.storage.UntypedStorage", typeOnly("torch.storage.UntypedStorage"));
  return m;
}

function storageDtype(type: unknown): SourceDType {
  if (!(type instanceof PyGlobal)) throw new Error(`storage: expected a storage type, got ${describe(type)}`);
  const dtype = STORAGES[type.name];
  if (!dtype) throw new Error(`storage type ${type.qualified} is not supported`);
  return dtype;
}

/** What a checkpoint holds, flattened, with the format it was in. */
export interface PthTree extends FlatTree {
  format: "zip" | "legacy";
}

export interface ReadPthOptions {
  /** "error" (default): a pickle global outside the allow-list fails. "opaque": such objects are left out (listed in `skipped`). */
  unknown?: "error" | "opaque";
  /** The name errors give the source when it is bytes (default "<buffer>"). */
  name?: string;
}

const load = (source: string | Uint8Array, name = "<buffer>"): [Uint8Array, string] => (typeof source === "string" ? [readFileSync(source), source] : [source, name]);

function readZipCheckpoint(bytes: Uint8Array, path: string, options: ReadPthOptions): unknown {
  const files = readZip(bytes, path);
  const pkl = [...files.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  const prefix = pkl?.slice(0, -"data.pkl".length);
  if (!pkl || prefix === undefined) {
    throw new PthError(path, `a zip without <name>/data.pkl is not a torch.save checkpoint (entries: ${[...files.keys()].slice(0, 8).join(", ")})`);
  }
  if (files.has(`${prefix}constants.pkl`) || [...files.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new PthError(path, "is a TorchScript archive (torch.jit.save), not a torch.save checkpoint: load it as a TorchScript model instead");
  }
  const order = files.get(`${prefix}byteorder`);
  const little = order === undefined || Buffer.from(order).toString("latin1").trim() !== "big";
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw new Error(`unexpected persistent id ${describe(pid)} (expected a storage)`);
    const [, type, key, , numel] = pid;
    const k = String(key);
    let s = storages.get(k);
    if (!s) {
      s = new Storage(k, storageDtype(type), Number(numel), little);
      s.bytes = files.get(`${prefix}data/${k}`);
      if (!s.bytes) throw new Error(`storage ${k} has no entry ${prefix}data/${k}`);
      const need = s.numel * SOURCE_ITEM_SIZE[s.dtype];
      if (s.bytes.byteLength < need) throw new Error(`storage ${k}: ${s.numel} ${s.dtype} elements need ${need} bytes, ${prefix}data/${k} has ${s.bytes.byteLength}`);
      storages.set(k, s);
    }
    return s;
  };
  return unpickle(files.get(pkl)!, { globals: torchGlobals(), persistentLoad, unknown: options.unknown }).value;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacyCheckpoint(bytes: Uint8Array, path: string, options: ReadPthOptions): unknown {
  const none = { globals: new Map<string, GlobalHandler>() };
  const magic = unpickle(bytes, none);
  if (magic.value !== LEGACY_MAGIC) throw new PthError(path, "a pickle, but not a torch.save checkpoint (no legacy magic number); a plain pickle file cannot be read safely");
  const version = unpickle(bytes, none, magic.end);
  if (version.value !== 1001) throw new PthError(path, `legacy checkpoint protocol ${String(version.value)} is not supported (1001)`);
  const sysInfo = unpickle(bytes, none, version.end);
  const little = !(sysInfo.value instanceof Map) || sysInfo.value.get("little_endian") !== false;
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw new Error(`unexpected persistent id ${describe(pid)} (expected a storage)`);
    const [, type, key, , numel, view] = pid;
    if (view !== null && view !== undefined) throw new Error("storage views (legacy view_metadata) are not supported");
    const k = String(key);
    let s = storages.get(k);
    if (!s) {
      s = new Storage(k, storageDtype(type), Number(numel), little);
      storages.set(k, s);
    }
    return s;
  };
  const obj = unpickle(bytes, { globals: torchGlobals(), persistentLoad, unknown: options.unknown }, sysInfo.end);
  const keys = unpickle(bytes, none, obj.end);
  if (!Array.isArray(keys.value)) throw new PthError(path, "legacy checkpoint: the storage key list is missing");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value) {
    const s = storages.get(String(key));
    if (!s) throw new PthError(path, `legacy checkpoint lists storage ${String(key)} that no tensor uses`);
    if (pos + 8 > bytes.length) throw new PthError(path, `legacy checkpoint truncated before storage ${s.key}`);
    const n = Number(view.getBigInt64(pos, little));
    pos += 8;
    const len = n * SOURCE_ITEM_SIZE[s.dtype];
    if (pos + len > bytes.length) throw new PthError(path, `legacy checkpoint truncated in storage ${s.key} (${len} bytes needed, ${bytes.length - pos} left)`);
    s.bytes = bytes.subarray(pos, pos + len);
    pos += len;
  }
  return obj.value;
}

/** Reads a checkpoint (path or bytes) into its flattened tree of arrays, scalars and skipped entries. */
export function readPthTree(source: string | Uint8Array, options: ReadPthOptions = {}): PthTree {
  const [bytes, path] = load(source, options.name);
  let value: unknown;
  let format: PthTree["format"];
  try {
    if (isZip(bytes)) {
      format = "zip";
      value = readZipCheckpoint(bytes, path, options);
    } else if (bytes.length > 2 && bytes[0] === 0x80) {
      format = "legacy";
      value = readLegacyCheckpoint(bytes, path, options);
    } else if (bytes.length > 262 && Buffer.from(bytes.subarray(257, 262)).toString("latin1") === "ustar") {
      throw new PthError(path, "is a tar archive: PyTorch's tar checkpoint format (before 0.4) is not supported; re-save it with a newer torch");
    } else {
      throw new PthError(path, "neither a zip (PyTorch >= 1.6) nor a pickle (legacy torch.save): not a PyTorch checkpoint");
    }
  } catch (err) {
    if (err instanceof PthError || (err as Error).name === "ZipError") throw err;
    const hint = (err as Error).name === "UnsupportedPickleError" && options.unknown !== "opaque" ? " (to read the tensors and leave such objects out: readPth's unknown: \"opaque\", idfr convert's --skip-unsupported)" : "";
    throw new PthError(path, `${(err as Error).message}${hint}`);
  }
  return { ...flattenTree(value), format };
}

/** A checkpoint's tensors (CPU) by dotted name, with its scalar entries as metadata strings. */
export interface LoadedPth {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** Entries that are neither tensors nor scalars, with what they were. */
  skipped: Map<string, string>;
  format: "zip" | "legacy";
}

/** Reads every tensor of a PyTorch checkpoint (float16/bfloat16 widened to float32, see host-array.ts). */
export function readPth(source: string | Uint8Array, options: ReadPthOptions = {}): LoadedPth {
  const tree = readPthTree(source, options);
  return { tensors: flatToTensors(tree), metadata: Object.fromEntries(tree.scalars), skipped: tree.skipped, format: tree.format };
}

