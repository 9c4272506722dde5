/**
 * Unpacking a .tar.gz archive (the CIFAR binary versions), streamed: gunzip, then the tar blocks
 * (POSIX ustar, with GNU long names and pax path records), writing regular files and folders only.
 * Entry paths are checked: an absolute path or a `..` part is refused, so an archive cannot write
 * outside the destination.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createGunzip } from "node:zlib";
import { DataFormatError } from "./errors.js";

const BLOCK = 512;

/** Options of {@link extractTarGz}. */
export interface ExtractOptions {
  /** Unpack only entries under this top-level folder (others are skipped). */
  only?: string;
}

/** A parsed tar header. */
interface Header {
  name: string;
  size: number;
  type: string;
}

/**
 * Unpacks `archive` (.tar.gz) into the folder `dest` (created if needed). Returns the paths of
 * the files written, relative to `dest`, with "/" separators.
 */
export async function extractTarGz(archive: string, dest: string, options: ExtractOptions = {}): Promise<string[]> {
  const written: string[] = [];
  const queue = new ByteQueue();
  /** Uncompressed bytes consumed so far: the offset reported in errors. */
  let offset = 0;
  let entry: { header: Header; remaining: number; padding: number; file?: FileHandle; collect?: Buffer[]; skip: boolean } | null = null;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let ended = false;

  const fail = (message: string, at = offset): DataFormatError => new DataFormatError(archive, message, { offset: at });

  const startEntry = async (header: Header): Promise<void> => {
    const padding = (BLOCK - (header.size % BLOCK)) % BLOCK;
    const name = paxPath ?? longName ?? header.name;
    if (header.type !== "x" && header.type !== "g" && header.type !== "L") {
      longName = undefined;
      paxPath = undefined;
    }
    if (header.type === "L" || header.type === "x" || header.type === "g") {
      entry = { header, remaining: header.size, padding, collect: [], skip: false };
      return;
    }
    const parts = safeParts(name);
    if (parts === null) throw fail(`entry ${JSON.stringify(name)} has an absolute path or a ".." part; refusing to unpack it`);
    const wanted = parts.length > 0 && (options.only === undefined || parts[0] === options.only);
    const path = join(dest, ...parts);
    if (wanted && header.type === "5") await mkdir(path, { recursive: true });
    if (wanted && (header.type === "0" || header.type === "7")) {
      await mkdir(dirname(path), { recursive: true });
      entry = { header: { ...header, name }, remaining: header.size, padding, file: await open(path, "w"), skip: false };
      written.push(parts.join("/"));
      return;
    }
    // Folders, skipped entries, links and devices: their data (if any) is passed over.
    entry = { header, remaining: header.size, padding, skip: true };
  };

  const finishEntry = async (): Promise<void> => {
    const e = entry!;
    if (e.file) await e.file.close();
    if (e.collect) {
      const text = Buffer.concat(e.collect).toString("utf8");
      if (e.header.type === "L") longName = text.replace(/\0.*$/s, "");
      if (e.header.type === "x") paxPath = paxRecord(text, "path") ?? paxPath;
    }
    entry = null;
  };

  const consume = async (): Promise<void> => {
    for (;;) {
      if (ended) {
        queue.clear();
        return;
      }
      if (entry === null) {
        const block = queue.take(BLOCK);
        if (!block) return;
        if (block.every((b) => b === 0)) {
          ended = true; // the end-of-archive marker (two zero blocks; the rest is padding)
          continue;
        }
        const header = parseHeader(block, () => fail("not a tar archive: a header block's checksum does not match"));
        offset += BLOCK;
        await startEntry(header);
        continue;
      }
      if (entry.remaining > 0) {
        const piece = queue.takeUpTo(entry.remaining);
        if (!piece) return;
        entry.remaining -= piece.length;
        offset += piece.length;
        if (entry.file) await entry.file.write(piece);
        else if (entry.collect) entry.collect.push(piece);
        continue;
      }
      if (entry.padding > 0) {
        const piece = queue.takeUpTo(entry.padding);
        if (!piece) return;
        entry.padding -= piece.length;
        offset += piece.length;
        continue;
      }
      await finishEntry();
    }
  };

  try {
    const input = createReadStream(archive).pipe(createGunzip());
    try {
      for await (const chunk of input) {
        queue.push(chunk as Buffer);
        await consume();
      }
    } catch (err) {
      if (err instanceof DataFormatError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new DataFormatError(archive, "missing file; expected a .tar.gz archive", { cause: err });
      if (typeof code === "string" && code.startsWith("Z_")) throw fail(`not a valid gzip stream (${(err as Error).message})`);
      throw err;
    }
    if (entry !== null) throw fail(`the archive ends inside ${(entry as { header: Header }).header.name}; the file is truncated`);
  } finally {
    if (entry !== null) await (entry as { file?: FileHandle }).file?.close();
  }
  return written;
}

/** The parts of an entry path, or null when it is absolute or climbs out with "..". */
function safeParts(name: string): string[] | null {
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return null;
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  return parts.includes("..") ? null : parts;
}

/** A NUL-terminated string field. */
function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** A numeric field: octal text, or base-256 when the high bit of the first byte is set (GNU, sizes over 8 GB). */
function numeric(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    let n = block[start] & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + block[start + i];
    return n;
  }
  const text = field(block, start, length).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function parseHeader(block: Buffer, badChecksum: () => Error): Header {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (numeric(block, 148, 8) !== sum) throw badChecksum();
  let name = field(block, 0, 100);
  const prefix = block.subarray(257, 262).toString("latin1") === "ustar" ? field(block, 345, 155) : "";
  if (prefix) name = `${prefix}/${name}`;
  const flag = block[156];
  return { name, size: numeric(block, 124, 12), type: flag === 0 ? "0" : String.fromCharCode(flag) };
}

/** A value from pax extended-header records ("<length> <key>=<value>\n" each). */
function paxRecord(text: string, key: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (m && m[1] === key) found = m[2];
  }
  return found;
}

/** Chunks waiting to be parsed, taken from the front. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  clear(): void {
    this.#chunks = [];
    this.#length = 0;
  }

  /** Exactly `n` bytes, or null when fewer are waiting. */
  take(n: number): Buffer | null {
    if (this.#length < n) return null;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) at += this.#copyFront(out, at, n - at);
    return out;
  }

  /** Between 1 and `n` bytes (what the first chunk holds), or null when none are waiting. */
  takeUpTo(n: number): Buffer | null {
    if (this.#length === 0) return null;
    const first = this.#chunks[0];
    const size = Math.min(n, first.length);
    const out = first.subarray(0, size);
    if (size === first.length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(size);
    this.#length -= size;
    return out;
  }

  #copyFront(out: Buffer, at: number, want: number): number {
    const first = this.#chunks[0];
    const size = Math.min(want, first.length);
    first.copy(out, at, 0, size);
    if (size === first.length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(size);
    this.#length -= size;
    return size;
  }
}
