import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream";
import { createInflate } from "node:zlib";
import { DataFormatError, withFileErrors } from "../errors.js";
import { ChunkReader } from "./chunk-reader.js";

/**
 * A reader for the numeric arrays of MATLAB level-5 MAT-files ("MAT-File Format", MathWorks, the
 * version MATLAB writes with -v6 and -v7): a 128-byte header (text, subsystem offset, version 0x0100,
 * endian indicator "IM"/"MI"), then data elements, each an 8-byte tag (type, byte count) or a 4-byte
 * "small element" tag with up to 4 bytes of data. Top-level variables are miMATRIX (14) elements,
 * or miCOMPRESSED (15) elements holding one zlib-compressed miMATRIX.
 *
 * It reads what datasets such as SVHN hold: real numeric arrays (double, single, [u]int8..64,
 * char as its code units) with their dimensions and names. Cell, struct, object and sparse
 * variables are skipped; complex arrays are rejected. Elements are streamed from disk (and through
 * zlib) so that a multi-gigabyte array can be consumed piece by piece without gathering the file.
 */

/** Storage types of numeric data elements. */
export type MatStorage =
  | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "single" | "double" | "int64" | "uint64"
  | "utf8" | "utf16" | "utf32";

/** MATLAB array classes this reader returns (numeric classes and char). */
export type MatClass =
  | "char" | "double" | "single" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64";

/** Typed arrays holding the values of an array, in the element's storage type. */
export type MatData =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** What is known about a variable once its header is read, before its data. */
export interface MatArrayInfo {
  name: string;
  /** The MATLAB class (how MATLAB presents the values). */
  className: MatClass;
  /** How the values are stored in the file; MATLAB may store a double array as uint8 to save space. */
  storage: MatStorage;
  /** Dimensions, MATLAB order (column-major: the first index varies fastest). */
  dims: number[];
  /** Byte offset of the variable's top-level element in the file. */
  fileOffset: number;
  compressed: boolean;
}

/** A variable with its values (column-major, in its storage type, host byte order). */
export interface MatArray extends MatArrayInfo {
  data: MatData;
}

/**
 * Receives the raw bytes of a variable's values in file order (column-major, file byte order)
 * as views valid only during the call; `offset` is the position of `piece` within the values.
 */
export type MatSink = (piece: Uint8Array, offset: number) => void;

/** Decides, per variable, whether to read its values into a typed array, stream them to a sink, or skip them. */
export type MatVisitor = (info: MatArrayInfo) => "read" | "skip" | MatSink;

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MI_INT8 = 1;
const MI_INT32 = 5;
const MI_UINT32 = 6;

const STORAGE: Record<number, [MatStorage, number]> = {
  1: ["int8", 1], 2: ["uint8", 1], 3: ["int16", 2], 4: ["uint16", 2], 5: ["int32", 4], 6: ["uint32", 4],
  7: ["single", 4], 9: ["double", 8], 12: ["int64", 8], 13: ["uint64", 8], 16: ["utf8", 1], 17: ["utf16", 2], 18: ["utf32", 4],
};
const WIDTH = Object.fromEntries(Object.values(STORAGE)) as Record<MatStorage, number>;
const CLASSES: Record<number, MatClass> = {
  4: "char", 6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32", 13: "uint32", 14: "int64", 15: "uint64",
};
const SKIPPED_CLASSES: Record<number, string> = { 1: "cell", 2: "struct", 3: "object", 5: "sparse", 16: "function", 17: "opaque" };

/** Parsed 128-byte header. */
export interface MatHeader {
  text: string;
  littleEndian: boolean;
}

/** Parses and checks the 128-byte MAT-file header. */
export function parseMatHeader(bytes: Uint8Array, file: string): MatHeader {
  if (bytes.length < 128) {
    throw new DataFormatError(file, `truncated MAT-file header: expected 128 bytes, found ${bytes.length}`);
  }
  const text = Buffer.from(bytes.subarray(0, 116)).toString("latin1").replace(/[\0 ]+$/, "");
  if (text.startsWith("MATLAB 7.3")) {
    throw new DataFormatError(file, "is a MAT-file v7.3 (HDF5), which this reader does not read; expected a level-5 MAT-file (save it with -v7)");
  }
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian !== "IM" && endian !== "MI") {
    throw new DataFormatError(file, `not a level-5 MAT-file: endian indicator is ${JSON.stringify(endian)}, expected "IM" or "MI"`, { offset: 126 });
  }
  const littleEndian = endian === "IM";
  const version = new DataView(bytes.buffer, bytes.byteOffset + 124, 2).getUint16(0, littleEndian);
  if (version !== 0x0100) {
    throw new DataFormatError(file, `MAT-file version is 0x${version.toString(16)}, expected 0x0100 (level 5)`, { offset: 124 });
  }
  return { text, littleEndian };
}

/**
 * Reads the variables of a level-5 MAT-file. `visit` is called for every numeric or char variable
 * once its header is known; by default every such variable is read. Returns the variables read
 * (not those streamed to a sink or skipped), by name.
 */
export async function readMat(file: string, visit: MatVisitor = () => "read"): Promise<Map<string, MatArray>> {
  const what = "a level-5 MAT-file";
  const handle = await withFileErrors(file, what, () => open(file, "r"));
  const result = new Map<string, MatArray>();
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(128);
    const { bytesRead } = await handle.read(head, 0, 128, 0);
    const { littleEndian } = parseMatHeader(head.subarray(0, bytesRead), file);
    let pos = 128;
    const tag = new Uint8Array(8);
    while (pos < size) {
      if (size - pos < 8) throw new DataFormatError(file, `truncated: ${size - pos} byte(s) left where an 8-byte element tag was expected`, { offset: pos });
      await handle.read(tag, 0, 8, pos);
      const view = new DataView(tag.buffer);
      const type = view.getUint32(0, littleEndian);
      const nbytes = view.getUint32(4, littleEndian);
      if (type >>> 16 !== 0) {
        // A small element at top level holds no variable; step over it.
        pos += 8;
        continue;
      }
      if (pos + 8 + nbytes > size) {
        throw new DataFormatError(file, `truncated: the element at this offset declares ${nbytes} bytes but the file ends ${size - pos - 8} bytes after its tag`, { offset: pos });
      }
      if (nbytes > 0 && (type === MI_MATRIX || type === MI_COMPRESSED)) {
        const array = await readTopLevel(file, pos, type, nbytes, littleEndian, visit);
        if (array) result.set(array.name, array);
      }
      pos += 8 + nbytes;
      // Uncompressed elements are padded to 8 bytes; compressed ones are not.
      if (type !== MI_COMPRESSED) pos = Math.ceil(pos / 8) * 8;
    }
  } finally {
    await handle.close();
  }
  return result;
}

async function readTopLevel(
  file: string, pos: number, type: number, nbytes: number, littleEndian: boolean, visit: MatVisitor,
): Promise<MatArray | undefined> {
  const compressed = type === MI_COMPRESSED;
  const raw = createReadStream(file, { start: pos + 8, end: pos + 8 + nbytes - 1, highWaterMark: 1 << 20 });
  const stream = compressed ? pipeline(raw, createInflate({ chunkSize: 1 << 20 }), () => {}) : raw;
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const where = compressed
    ? (consumed: number) => ({ offset: pos, text: ` [byte ${consumed} of the inflated data of the compressed element]` })
    : (consumed: number) => ({ offset: pos + 8 + consumed, text: "" });
  const reader = new ChunkReader(iterator, file, where);
  try {
    let size = nbytes;
    if (compressed) {
      const inner = await readTag(reader, littleEndian, "the tag of the compressed matrix");
      if (inner.type !== MI_MATRIX) reader.fail(`a compressed element holds data type ${inner.type}, expected miMATRIX (14)`);
      size = inner.nbytes;
    }
    const array = await readMatrix(reader, size, littleEndian, { fileOffset: pos, compressed }, visit);
    if (compressed) {
      // Inflate to the end so that zlib checks the stream's Adler-32: a corrupt stream must not pass.
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    }
    return array;
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_") || /zlib|inflate|unexpected end/i.test((err as Error).message)) {
      throw new DataFormatError(file, `corrupt compressed element (${(err as Error).message}); expected zlib data`, { offset: pos, cause: err });
    }
    throw err;
  } finally {
    stream.destroy();
    raw.destroy();
  }
}

interface Tag {
  type: number;
  nbytes: number;
  /** Data of a small element (the 4 bytes after its 4-byte tag), else undefined. */
  small?: Uint8Array;
}

async function readTag(reader: ChunkReader, le: boolean, what: string): Promise<Tag> {
  const bytes = await reader.read(8, what);
  const view = new DataView(bytes.buffer);
  const first = view.getUint32(0, le);
  if (first >>> 16 !== 0) {
    const nbytes = first >>> 16;
    if (nbytes > 4) reader.fail(`small data element of ${what} declares ${nbytes} bytes, expected at most 4`);
    return { type: first & 0xffff, nbytes, small: bytes.subarray(4, 4 + nbytes) };
  }
  return { type: first, nbytes: view.getUint32(4, le) };
}

/** The bytes of a subelement, or of a small element, with padding to 8 bytes consumed. */
async function readSubelement(reader: ChunkReader, le: boolean, what: string, expectType: number[]): Promise<{ type: number; bytes: Uint8Array }> {
  const tag = await readTag(reader, le, what);
  if (!expectType.includes(tag.type)) reader.fail(`${what} has data type ${tag.type}, expected ${expectType.join(" or ")}`);
  if (tag.small) return { type: tag.type, bytes: tag.small };
  const bytes = await reader.read(tag.nbytes, what);
  await reader.skip(padding(tag.nbytes), `the padding of ${what}`);
  return { type: tag.type, bytes };
}

function padding(n: number): number {
  return (8 - (n % 8)) % 8;
}

async function readMatrix(
  reader: ChunkReader, size: number, le: boolean, place: { fileOffset: number; compressed: boolean }, visit: MatVisitor,
): Promise<MatArray | undefined> {
  const start = reader.consumed;
  const skipRest = () => reader.skip(size - (reader.consumed - start), "the rest of a skipped variable");
  if (size === 0) return undefined; // an empty matrix element (MATLAB writes these for empty cells)
  const flags = await readSubelement(reader, le, "the array flags", [MI_UINT32]);
  if (flags.bytes.length < 4) reader.fail(`array flags hold ${flags.bytes.length} bytes, expected 8`);
  const word = new DataView(flags.bytes.buffer, flags.bytes.byteOffset).getUint32(0, le);
  const classCode = word & 0xff;
  const complex = ((word >>> 8) & 0x08) !== 0;
  const className = CLASSES[classCode];
  if (className === undefined) {
    if (SKIPPED_CLASSES[classCode] === undefined) reader.fail(`unknown array class ${classCode}, expected a MATLAB class code 1..17`);
    await skipRest();
    return undefined;
  }
  const dimsEl = await readSubelement(reader, le, "the dimensions", [MI_INT32]);
  const dimsView = new DataView(dimsEl.bytes.buffer, dimsEl.bytes.byteOffset, dimsEl.bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d + 4 <= dimsEl.bytes.length; d += 4) {
    const v = dimsView.getInt32(d, le);
    if (v < 0) reader.fail(`negative dimension ${v}`);
    dims.push(v);
  }
  if (dims.length < 2) reader.fail(`array has ${dims.length} dimension(s), expected at least 2`);
  const nameEl = await readSubelement(reader, le, "the array name", [MI_INT8, 2]);
  const name = Buffer.from(nameEl.bytes).toString("latin1");
  const count = dims.reduce((a, b) => a * b, 1);
  const real = await readTag(reader, le, `the values of ${name}`);
  const storageInfo = STORAGE[real.type];
  if (storageInfo === undefined) reader.fail(`values of ${name} have data type ${real.type}, expected a numeric data type`);
  const [storage, width] = storageInfo;
  if (real.nbytes !== count * width) {
    reader.fail(`values of ${name} hold ${real.nbytes} bytes, expected ${count * width} (${dims.join("x")} ${storage})`);
  }
  const info: MatArrayInfo = { name, className, storage, dims, ...place };
  const action = visit(info);
  if (action === "skip") {
    await skipRest();
    return undefined;
  }
  if (complex) reader.fail(`${name} is complex, expected a real array`);
  let data: MatData | undefined;
  if (real.small) {
    if (action === "read") data = toTyped(Uint8Array.from(real.small), storage, le);
    else action(real.small, 0);
  } else if (action === "read") {
    const bytes = new Uint8Array(new ArrayBuffer(real.nbytes));
    await reader.pipe(real.nbytes, `the values of ${name}`, (piece, offset) => bytes.set(piece, offset));
    data = toTyped(bytes, storage, le);
    await reader.skip(padding(real.nbytes), `the padding of ${name}`);
  } else {
    await reader.pipe(real.nbytes, `the values of ${name}`, action);
    await reader.skip(padding(real.nbytes), `the padding of ${name}`);
  }
  return data === undefined ? undefined : { ...info, data };
}

/** Views `bytes` (fresh, aligned) as the typed array of `storage`, swapping byte order if needed. */
function toTyped(bytes: Uint8Array, storage: MatStorage, le: boolean): MatData {
  const width = WIDTH[storage];
  if (width > 1 && le !== hostLittleEndian) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  const b = bytes.buffer;
  switch (storage) {
    case "int8": return new Int8Array(b);
    case "uint8": case "utf8": return new Uint8Array(b);
    case "int16": return new Int16Array(b);
    case "uint16": case "utf16": return new Uint16Array(b);
    case "int32": return new Int32Array(b);
    case "uint32": case "utf32": return new Uint32Array(b);
    case "single": return new Float32Array(b);
    case "double": return new Float64Array(b);
    case "int64": return new BigInt64Array(b);
    case "uint64": return new BigUint64Array(b);
  }
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
