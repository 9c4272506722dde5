/**
 * A small, safe unpickler for the subset of Python's pickle format that `torch.save` and
 * `numpy.save` write (protocols 2 to 5): it builds plain JavaScript values and never runs code.
 * A pickle names Python callables by module and name (GLOBAL / STACK_GLOBAL) and asks the loader
 * to call them (REDUCE, NEWOBJ, BUILD); here each name must be in the caller's allow-list of
 * handlers, written in TypeScript, and any other name fails with an {@link UnsupportedPickleError}
 * that names it (`os.system`, `builtins.eval`, ... are never looked up, let alone called).
 *
 * Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 * float -> number, str -> string, bytes -> Uint8Array, tuple and list -> array, dict -> Map.
 */

/** Thrown for bytes that are not a pickle this reader understands; names the byte offset. */
export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PickleError";
  }
}

/** Thrown when a pickle refers to a Python global that has no handler (it is never executed). */
export class UnsupportedPickleError extends PickleError {
  constructor(readonly global: string, detail: string) {
    super(`unsupported pickle global ${global}: ${detail}`);
    this.name = "UnsupportedPickleError";
  }
}

/** A Python global (class or function) the pickle refers to, allowed by the handler table. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object of a global the caller chose not to build (see {@link UnpickleOptions.unknown}); kept opaque. */
export class PyOpaque {
  constructor(readonly global: string, readonly args: unknown) {}
  state: unknown = undefined;
}

/** What the loader does with a global: build an object from REDUCE/NEWOBJ args, and optionally take BUILD state. */
export interface GlobalHandler {
  /** Called for `global(*args)` (REDUCE) and `cls.__new__(cls, *args)` (NEWOBJ). */
  call(args: unknown[]): unknown;
  /** Applies BUILD's state to an object `call` returned (Python's __setstate__). */
  setState?(obj: unknown, state: unknown): void;
}

export interface UnpickleOptions {
  /** Handlers keyed by "module.name"; any other global fails (or becomes opaque, see `unknown`). */
  globals: ReadonlyMap<string, GlobalHandler>;
  /** Resolves persistent ids (BINPERSID), e.g. torch's ("storage", type, key, location, numel). */
  persistentLoad?(pid: unknown): unknown;
  /**
   * "error" (default): an unknown global fails. "opaque": it becomes a {@link PyOpaque} that holds
   * its arguments and is never called, for checkpoints whose extra entries (e.g. an argparse
   * Namespace) are not needed.
   */
  unknown?: "error" | "opaque";
}

const MARK = Symbol("mark");

/** Python's int from little-endian two's-complement bytes: a number when it is safe, else a bigint. */
function longFromBytes(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/**
 * Reads one pickle from `bytes` starting at `start`; returns the value and the offset after its
 * STOP (torch's legacy format puts several pickles one after another).
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  let opPos = start;

  const fail = (what: string): never => {
    throw new PickleError(`pickle: ${what} (opcode at byte ${opPos})`);
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const i32 = () => view.getInt32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} too large`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), pos);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated: a text argument has no newline");
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK on the stack");
    return stack.splice(m!);
  };
  const global = (module: string, name: string): unknown => {
    const key = `${module}.${name}`;
    if (options.globals.has(key)) return new PyGlobal(module, name);
    if (options.unknown === "opaque") return new PyGlobal(module, name);
    throw new UnsupportedPickleError(key, "this reader builds only tensors, NumPy arrays and plain containers, and never runs code a file names");
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) return fail(`calls a ${describe(fn)}, not a global`);
    const handler = options.globals.get(fn.qualified);
    if (!handler) return new PyOpaque(fn.qualified, args);
    if (!Array.isArray(args)) return fail(`${fn.qualified} called with ${describe(args)} instead of an argument tuple`);
    return handler.call(args);
  };
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof Map)) {
      if (dict instanceof PyOpaque) return; // an object we do not build: its items go nowhere
      fail(`SETITEM(S) on a ${describe(dict)}`);
    }
    if (items.length % 2) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (list instanceof PyOpaque) return;
    if (!Array.isArray(list)) fail(`APPEND(S) on a ${describe(list)}`);
    (list as unknown[]).push(...items);
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: need(8); break; // FRAME: framing is a hint for buffered readers
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longFromBytes(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail("LONG4 with a negative length");
        stack.push(longFromBytes(take(n)));
        break;
      }
      case 0x49: { // INT (text, protocol 0/1): also True/False as I01/I00
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: { // LONG (text)
        const s = line().replace(/L$/, "");
        const v = BigInt(s);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (text)
      case 0x58: stack.push(Buffer.from(take(u32())).toString("utf8")); break; // BINUNICODE
      case 0x8c: stack.push(Buffer.from(take(u8())).toString("utf8")); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(Buffer.from(take(u64())).toString("utf8")); break; // BINUNICODE8
      // Python 2 str: bytes that were text; read as latin1 like numpy.load(encoding="latin1").
      case 0x54: stack.push(latin1(take(i32()))); break; // BINSTRING
      case 0x55: stack.push(latin1(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(take(u64()).slice()); break; // BYTEARRAY8
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on a ${describe(s)}`);
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (kwargs instanceof Map && kwargs.size) fail("NEWOBJ_EX with keyword arguments");
        stack.push(call(cls, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyOpaque) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        else {
          const owner = (obj as { [PY_CLASS]?: string } | null)?.[PY_CLASS];
          const handler = owner ? options.globals.get(owner) : undefined;
          if (!handler?.setState) fail(`BUILD (__setstate__) on a ${describe(obj)}`);
          handler!.setState!(obj, state);
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail("a persistent id (BINPERSID) in a pickle that should have none");
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID (text)
        const pid = line();
        if (!options.persistentLoad) fail("a persistent id (PERSID) in a pickle that should have none");
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number.parseInt(line(), 10), top()); break; // PUT (text)
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      case 0x97: case 0x98: fail("out-of-band buffers (protocol 5 NEXT_BUFFER/READONLY_BUFFER) are not supported"); break;
      case 0x82: case 0x83: case 0x84: fail("extension registry codes (EXT1/2/4) are not supported"); break;
      default: fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/**
 * Marks objects a handler built, so that BUILD finds the handler's setState: a handler sets
 * `obj[PY_CLASS] = "module.name"` on what `call` returns.
 */
export const PY_CLASS = Symbol("pyClass");

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof PyOpaque) return `${v.global} object`;
  if (v instanceof Map) return "dict";
  if (Array.isArray(v)) return "tuple/list";
  if (v instanceof Uint8Array) return "bytes";
  if (v === MARK) return "mark";
  return typeof v;
}
