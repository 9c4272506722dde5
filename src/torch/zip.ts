/**
 * Reading zip archives (PyTorch checkpoints, NumPy .npz files) through fflate, a small, dependency-
 * free zip/deflate library; its terse errors become ones that name the file.
 */
import { unzipSync } from "fflate";

/** Thrown for a zip that cannot be read (truncated, corrupt, or an unsupported compression). */
export class ZipError extends Error {
  constructor(path: string, detail: string) {
    super(`${path}: cannot read the zip archive: ${detail}`);
    this.name = "ZipError";
  }
}

/** True when `bytes` start with a zip local-file or end-of-archive signature. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** The entry names of a zip, without extracting any. */
export function zipEntryNames(bytes: Uint8Array, path: string): string[] {
  const names: string[] = [];
  unzipOrThrow(bytes, path, (name) => { names.push(name); return false; });
  return names;
}

function unzipOrThrow(bytes: Uint8Array, path: string, filter?: (name: string) => boolean): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, filter ? { filter: (f) => filter(f.name) } : undefined);
  } catch (err) {
    const msg = (err as Error).message;
    throw new ZipError(path, `${msg}${/invalid zip|unexpected EOF|end of/i.test(msg) ? " (the file looks truncated or is not a zip)" : ""}`);
  }
}

/** Every entry of a zip, by name (stored entries are views of `bytes`, deflated ones are inflated). */
export function readZip(bytes: Uint8Array, path: string): Map<string, Uint8Array> {
  return new Map(Object.entries(unzipOrThrow(bytes, path)));
}
