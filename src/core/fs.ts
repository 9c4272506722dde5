/**
 * Output folders. `mkdirSync(dir, { recursive: true })` is not enough: under a file system that
 * refuses new entries without saying EACCES (e.g. /proc, where mkdir answers ENOENT), Node's
 * recursive mkdir retries forever at 100 % CPU. `ensureDir` walks up to the nearest folder that
 * exists, checks it, and creates the missing levels one at a time, so every failure ends in one
 * sentence that names the folder, what it is for, and the folder that refused it.
 */
import { accessSync, constants, mkdirSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";

/** An output folder that cannot be created or written; `code` is the system error behind it, if any. */
export class OutputFolderError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.name = "OutputFolderError";
    this.code = code;
  }
}

/** stat that answers undefined for "not there" (a missing entry, or a path through a file). */
function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

/** Whether this process may create entries in the folder `dir` (root passes unless the file system refuses). */
function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why `parent` refused a new folder, from the error mkdir gave. */
function refusal(parent: string, code: string | undefined): string {
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `${parent} is read-only`;
    case "EROFS":
      return `${parent} is read-only (read-only file system)`;
    case "ENOSPC":
      return `no space left on the device holding ${parent}`;
    case "EDQUOT":
      return `the disk quota of ${parent} is used up`;
    default:
      // /proc and other virtual file systems answer ENOENT (or ENOTSUP) for a folder they will not hold.
      return `${parent} is not writable${code ? ` (${code})` : ""}`;
  }
}

/**
 * Makes sure `dir` is a folder this process can write into, creating it and any missing parents,
 * and returns its absolute path. `what` names what the folder is for in error messages (a CLI flag
 * such as "--out", or "the trained model"). Throws an {@link OutputFolderError} such as
 * "cannot create the output folder /proc/x/out for --out: /proc is not writable", or
 * "... : /data is read-only", or "... : /data/results is a file".
 */
export function ensureDir(dir: string, what?: string): string {
  if (typeof dir !== "string" || dir.length === 0) {
    throw new OutputFolderError(`expected a folder path${what ? ` for ${what}` : ""}, got ${JSON.stringify(dir)}`);
  }
  const target = resolve(dir);
  const purpose = what ? ` for ${what}` : "";
  const cannotCreate = (reason: string, code?: string) => new OutputFolderError(`cannot create the output folder ${dir}${purpose}: ${reason}`, code);

  // The nearest existing ancestor (the target itself when it exists), and the levels below it to create.
  const missing: string[] = [];
  let existing = target;
  const look = (path: string): Stats | undefined => {
    try {
      return statIfExists(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw cannotCreate(`${path} cannot be looked at (${code ?? (err as Error).message})`, code);
    }
  };
  let stats = look(existing);
  while (!stats) {
    missing.push(existing);
    const parent = dirname(existing);
    if (parent === existing) throw cannotCreate(`no part of the path ${target} exists`);
    existing = parent;
    stats = look(existing);
  }
  if (!stats.isDirectory()) {
    if (missing.length === 0) throw new OutputFolderError(`the output folder ${dir}${purpose} is a file, not a folder`, "ENOTDIR");
    throw cannotCreate(`${existing} is a file`, "ENOTDIR");
  }
  if (missing.length === 0) {
    if (!writable(target)) throw new OutputFolderError(`cannot write to the output folder ${dir}${purpose}: ${target} is read-only`, "EACCES");
    return target;
  }
  if (!writable(existing)) throw cannotCreate(`${existing} is read-only`, "EACCES");

  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process made it meanwhile: fine if it is a folder.
      if (code === "EEXIST" && statIfExists(level)?.isDirectory()) continue;
      if (code === "EEXIST") throw cannotCreate(`${level} is a file`, "ENOTDIR");
      throw cannotCreate(refusal(dirname(level), code), code);
    }
  }
  return target;
}
