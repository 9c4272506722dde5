/**
 * Crash-safe file writes: write a temp file beside the target, flush it, then rename over. A process
 * killed mid-write (kill -9, power loss) leaves its temp file behind; those are removed the next
 * time anything is written to the same folder, or when a run starts there.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Our temp files: `.<target name>.<pid>.<milliseconds>.tmp`. */
const TEMP_NAME = /^\..+\.(\d+)\.(\d+)\.tmp$/;

/** Folders already cleaned by this process (one directory listing per folder, not per write). */
const cleaned = new Set<string>();

/** The temp file a write to `path` uses in this process now. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

/** Whether a process with this id is running (one we may not signal counts as running). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files that writes by processes no longer running left in `dir` (files named
 * like ours whose pid is dead); files of running processes, ours included, are left alone.
 * Returns the paths removed. A missing folder has nothing to remove.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(join(dir, name));
    } catch {
      // Another process may be cleaning the same folder; what it leaves is removed next time.
    }
  }
  cleaned.add(dir);
  return removed;
}

/**
 * Writes `chunks` to `path` so that a crash leaves either the old file or the complete new one,
 * never a partial file.
 */
export function writeFileAtomic(path: string, chunks: Uint8Array | string | readonly (Uint8Array | string)[]): void {
  const list = Array.isArray(chunks) ? chunks : [chunks];
  if (!cleaned.has(dirname(path))) removeStaleTempFiles(dirname(path));
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "w");
  try {
    for (const chunk of list) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dirFd = openSync(dirname(path), "r");
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself is still atomic.
  }
}
