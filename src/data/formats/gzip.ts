import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { DataFormatError } from "../errors.js";

const gunzipAsync = promisify(gunzip);

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * `bytes` inflated when they are gzip (detected by magic bytes, not by the file name), otherwise as
 * they are. Inflation runs on libuv's thread pool, off the main thread.
 */
export async function maybeGunzip(bytes: Buffer, file: string): Promise<Buffer> {
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (err) {
    throw new DataFormatError(file, `corrupt or truncated gzip data (${(err as Error).message}); expected a complete .gz file`, { cause: err });
  }
}
