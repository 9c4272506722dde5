/**
 * Downloading a dataset's official files by name (`idfr data download cifar10`): each file is
 * streamed to `<name>.part`, resumed with an HTTP Range request when a partial file is there,
 * checked against its published MD5, and only then renamed to its final name, so a file under
 * its final name is always complete and verified. Mirrors are tried in order; archives the loader
 * needs unpacked (CIFAR) are unpacked into a temporary folder and renamed into place.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ensureDir } from "../core/fs.js";
import { Interrupted, interruptRequested, watchInterrupt } from "../core/interrupt.js";
import { Progress, type ProgressMode } from "../core/progress.js";
import { DATASET_SOURCES, type DatasetSource, type DownloadableDataset, type SourceFile, type SourceTable } from "./download-sources.js";
import { DataFormatError } from "./errors.js";
import { extractTarGz } from "./untar.js";
import { defaultDataRoot } from "./data-root.js";

export { defaultDataRoot } from "./data-root.js";

export { DATASET_SOURCES, DOWNLOADABLE_DATASETS, isDownloadable, type DatasetSource, type DownloadableDataset, type SourceFile, type SourceTable } from "./download-sources.js";

/** Default wait for a server to answer, and for the next bytes of a body, in milliseconds. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;


/** Options of {@link downloadDataset}. */
export interface DownloadOptions {
  /** The dataset folder: what later goes to `--root` / `--data` (default {@link defaultDataRoot}). */
  root?: string;
  /** SVHN: also fetch extra_32x32.mat (1.3 GB; default false). */
  extra?: boolean;
  /** Base URLs (folders holding the same file names) used instead of the official ones, tried in order. */
  mirrors?: readonly string[];
  /** The table of sources (default {@link DATASET_SOURCES}); tests point it at a local server. */
  sources?: Partial<SourceTable>;
  /** Milliseconds to wait for an answer, and between two pieces of a body (default 30 s). */
  timeoutMs?: number;
  /** How progress is shown (default: a bar when stderr is a terminal, lines otherwise). */
  progress?: ProgressMode;
  /** Receives one line per file: skipped, downloaded, resumed, unpacked. */
  log?: (line: string) => void;
}

/** What happened to one file. */
export type FileStatus = "present" | "downloaded" | "resumed";

/** The outcome of {@link downloadDataset}. */
export interface DownloadResult {
  name: DownloadableDataset;
  /** The dataset folder (absolute): pass it as `--root` (or `--data` to `idfr run`). */
  root: string;
  files: { name: string; path: string; status: FileStatus; url?: string }[];
  /** Folders unpacked from archives in this call. */
  unpacked: string[];
}

/** A file that could not be downloaded: every URL tried, with why each failed. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  /** The file being fetched. */
  readonly file: string;
  /** Each URL tried and what went wrong there. */
  readonly attempts: readonly { url: string; reason: string }[];

  constructor(file: string, message: string, attempts: readonly { url: string; reason: string }[] = []) {
    super(message);
    this.file = file;
    this.attempts = attempts;
  }
}

/** The source entry of `name`, from the given table or the official one. */
function sourceOf(name: DownloadableDataset, sources: Partial<SourceTable> | undefined): DatasetSource {
  const source = sources?.[name] ?? DATASET_SOURCES[name];
  if (!source) throw new TypeError(`dataset: expected one of ${Object.keys(DATASET_SOURCES).join(", ")}, got ${JSON.stringify(name)}`);
  return source;
}

/** The files of a dataset that a download fetches: the optional ones only when asked for. */
function wantedFiles(source: DatasetSource, extra: boolean | undefined): SourceFile[] {
  return source.files.filter((f) => !f.optional || extra);
}

/**
 * Files the loader needs that are not under `root`, relative to it (empty when the dataset is
 * ready). It looks where the loader looks: idx files `.gz` or raw; CIFAR files in the unpacked
 * folder (or directly in `root`).
 */
export function missingDatasetFiles(name: DownloadableDataset, root: string, options: Pick<DownloadOptions, "extra" | "sources"> = {}): string[] {
  const missing: string[] = [];
  for (const file of wantedFiles(sourceOf(name, options.sources), options.extra)) {
    if (file.unpack) {
      const inFolder = existsSync(join(root, file.unpack.folder));
      const base = inFolder ? join(root, file.unpack.folder) : root;
      for (const f of file.unpack.files) if (!existsSync(join(base, f))) missing.push(inFolder ? `${file.unpack.folder}/${f}` : f);
    } else if (!existsSync(join(root, file.name)) && !(file.name.endsWith(".gz") && existsSync(join(root, file.name.slice(0, -3))))) {
      missing.push(file.name);
    }
  }
  return missing;
}

/**
 * Downloads a dataset's official files into its folder, verifies each file's MD5 and unpacks
 * archives the loader reads unpacked. Files already there with the right checksum are not fetched
 * again (and an unpacked CIFAR folder with every file counts as done). Ctrl-C stops the transfer
 * and keeps the partial file for the next run to resume.
 */
export async function downloadDataset(name: DownloadableDataset, options: DownloadOptions = {}): Promise<DownloadResult> {
  const source = sourceOf(name, options.sources);
  const root = ensureDir(options.root ?? defaultDataRoot(name), "the dataset download");
  const log = options.log ?? (() => {});
  const result: DownloadResult = { name, root, files: [], unpacked: [] };
  const unwatch = watchInterrupt();
  try {
    for (const file of wantedFiles(source, options.extra)) {
      const path = join(root, file.name);
      if (file.unpack && missingUnpacked(root, file).length === 0) {
        log(`${file.unpack.folder}: already unpacked in ${root}`);
        result.files.push({ name: file.name, path, status: "present" });
        continue;
      }
      const urls = options.mirrors?.length ? options.mirrors.map((m) => joinUrl(m, file.name)) : file.urls;
      const fetched = await fetchVerified(file, urls, path, options, log);
      result.files.push({ name: file.name, path, ...fetched });
      if (file.unpack) {
        await unpack(path, root, file);
        log(`${file.unpack.folder}: unpacked ${file.unpack.files.length} files from ${file.name}`);
        result.unpacked.push(join(root, file.unpack.folder));
      }
    }
  } finally {
    unwatch();
  }
  return result;
}

/** Options of {@link ensureDatasetFiles}. */
export interface EnsureOptions extends Omit<DownloadOptions, "root"> {
  /** Download what is missing (true), or fail naming the command that would (false). */
  download: boolean;
}

/**
 * Makes sure the loader finds the dataset under `root`: nothing to do when it is complete; with
 * `download`, fetches what is missing; without, throws an error naming the missing files and the
 * command that downloads them. Returns the download's result, or null when nothing was missing.
 */
export async function ensureDatasetFiles(name: DownloadableDataset, root: string, options: EnsureOptions): Promise<DownloadResult | null> {
  const missing = missingDatasetFiles(name, root, options);
  if (missing.length === 0) return null;
  if (!options.download) {
    const list = missing.length > 4 ? `${missing.slice(0, 4).join(", ")} and ${missing.length - 4} more` : missing.join(", ");
    const sizes = wantedFiles(sourceOf(name, options.sources), options.extra).map((f) => f.size);
    const size = sizes.every((x) => x !== undefined) ? ` (${sizes.join(" + ")})` : "";
    throw new DataFormatError(root, `the ${name} files are missing (${list}); download them${size} with \`idfr data download ${name} --root ${root}\`, or add --download`);
  }
  return downloadDataset(name, { ...options, root });
}

/** Files of an archive's layout missing from its unpacked folder under `root`. */
function missingUnpacked(root: string, file: SourceFile): string[] {
  const folder = join(root, file.unpack!.folder);
  return file.unpack!.files.filter((f) => !existsSync(join(folder, f)));
}

function joinUrl(base: string, name: string): string {
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

/** MD5 of a file, lowercase hex, streamed. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * The file at `path` with the right MD5: kept when already there, otherwise fetched from the
 * first URL that works into `path.part` and renamed. Throws a {@link DownloadError} naming every
 * URL tried when none works.
 */
async function fetchVerified(file: SourceFile, urls: readonly string[], path: string, options: DownloadOptions, log: (line: string) => void): Promise<{ status: FileStatus; url?: string }> {
  const md5 = file.md5.toLowerCase();
  if (existsSync(path)) {
    const got = await md5File(path);
    if (got === md5) {
      log(`${file.name}: already there, MD5 ok`);
      return { status: "present" };
    }
    throw new DownloadError(file.name, `${path} is already there but its MD5 is ${got}, expected ${md5} (not the official file, or damaged); delete it and run again`);
  }
  const part = `${path}.part`;
  const attempts: { url: string; reason: string }[] = [];
  for (const url of urls) {
    let resumed = false;
    try {
      resumed = await fetchToPart(url, part, file.name, options);
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      if (!(err instanceof TransferError)) throw err;
      attempts.push({ url, reason: err.message });
      continue;
    }
    const got = await md5File(part);
    if (got !== md5) {
      rmSync(part, { force: true });
      attempts.push({ url, reason: `checksum mismatch: the download's MD5 is ${got}, expected ${md5}; deleted it` });
      continue;
    }
    renameSync(part, path);
    log(`${file.name}: ${resumed ? "resumed and finished" : "downloaded"} from ${url}, MD5 ok`);
    return { status: resumed ? "resumed" : "downloaded", url };
  }
  const tried = attempts.map((a) => `${a.url}: ${a.reason}`).join("; ");
  const kept = existsSync(part) ? `; the partial file ${part} (${statSync(part).size} bytes) is kept, run again to resume` : "";
  throw new DownloadError(file.name, `could not download ${file.name} into ${dirname(path)} (tried ${attempts.length} URL${attempts.length === 1 ? "" : "s"}): ${tried}${kept}`, attempts);
}

/** A failure of one URL; the next mirror is tried. */
class TransferError extends Error {}

const INTERRUPT = Symbol("interrupt");
const TIMEOUT = Symbol("timeout");

/**
 * Streams `url` into `part`, appending from where a partial file ends when the server honours
 * the Range request (206), starting over when it answers 200. Returns whether it resumed.
 * Throws a TransferError for HTTP errors, connection failures, timeouts and early ends (the
 * bytes received so far stay in `part`).
 */
async function fetchToPart(url: string, part: string, label: string, options: DownloadOptions): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const seconds = `${timeoutMs / 1000} s`;
  let offset = existsSync(part) ? statSync(part).size : 0;
  const controller = new AbortController();
  let lastActivity = performance.now();
  const watchdog = setInterval(() => {
    if (interruptRequested()) controller.abort(INTERRUPT);
    else if (performance.now() - lastActivity > timeoutMs) controller.abort(TIMEOUT);
  }, Math.max(10, Math.min(250, timeoutMs / 4)));
  const interrupted = (): Interrupted => new Interrupted(`download ${label}`, existsSync(part) ? `the partial file ${part} is kept; run the command again to resume` : "nothing was kept");

  let received = 0;
  let expected: number | undefined;
  try {
    let res: Response;
    try {
      res = await fetch(url, {
        // identity: the checksum is of the file as published, so no transparent decompression.
        headers: { "accept-encoding": "identity", ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
        redirect: "follow",
        signal: controller.signal,
      });
    } catch (err) {
      if (controller.signal.reason === INTERRUPT) throw interrupted();
      if (controller.signal.reason === TIMEOUT) throw new TransferError(`no response within ${seconds}`);
      throw new TransferError(networkReason(err));
    }
    lastActivity = performance.now();
    let resumed = false;
    if (res.status === 206 && offset > 0) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (range && Number(range[1]) === offset) {
        resumed = true;
        if (range[3] !== "*") expected = Number(range[3]) - offset;
      } else {
        // A range other than the one asked for: its bytes cannot be appended; start over.
        await res.body?.cancel();
        rmSync(part, { force: true });
        return fetchToPart(url, part, label, options);
      }
    } else if (res.status === 416 && offset > 0) {
      // The partial file may already hold the whole file (a run stopped before renaming it);
      // the caller's checksum decides. A wrong one deletes it and the next run starts over.
      await res.body?.cancel();
      return true;
    } else if (res.status === 200) {
      offset = 0;
    } else {
      await res.body?.cancel();
      throw new TransferError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    }
    const length = res.headers.get("content-length");
    if (expected === undefined && length !== null && res.status === 200) expected = Number(length);

    const total = expected === undefined ? 0 : offset + expected;
    // Without a known size a bar has nothing to fill: plain lines instead.
    const mode = total > 0 || options.progress === "none" ? options.progress : "lines";
    const progress = new Progress({ label: `${label} (MB)`, total: megabytes(total), mode });
    const start = performance.now();
    const out = await open(part, offset > 0 ? "a" : "w");
    try {
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          lastActivity = performance.now();
          await out.write(chunk);
          received += chunk.length;
          const secs = (performance.now() - start) / 1000;
          progress.update(megabytes(offset + received), { "MB/s": (secs > 0 ? received / 1e6 / secs : 0).toFixed(1) });
          if (interruptRequested()) controller.abort(INTERRUPT);
        }
      }
    } catch (err) {
      if (controller.signal.reason === INTERRUPT) throw interrupted();
      if (controller.signal.reason === TIMEOUT) throw new TransferError(`no data for ${seconds} after ${offset + received} bytes`);
      if (expected !== undefined && received < expected) throw new TransferError(truncated(offset, received, expected));
      throw new TransferError(networkReason(err));
    } finally {
      await out.sync().catch(() => {});
      await out.close();
      progress.stop();
    }
    if (controller.signal.reason === INTERRUPT) throw interrupted();
    if (expected !== undefined && received !== expected) throw new TransferError(truncated(offset, received, expected));
    return resumed;
  } finally {
    clearInterval(watchdog);
  }
}

function truncated(offset: number, received: number, expected: number): string {
  return `the server closed the connection after ${offset + received} of ${offset + expected} bytes (Content-Length says ${expected}${offset > 0 ? ` from byte ${offset}` : ""})`;
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** Why a connection failed, in words, from undici's error and its cause. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause as (NodeJS.ErrnoException & { code?: string }) | undefined;
  const code = cause?.code ?? (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ECONNREFUSED": return "connection refused (nothing listening)";
    case "ENOTFOUND": return "host not found (ENOTFOUND)";
    case "EAI_AGAIN": return "host name lookup failed (EAI_AGAIN; no network?)";
    case "ECONNRESET": return "connection reset by the server";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT": return "connection timed out";
    case "ENETUNREACH":
    case "EHOSTUNREACH": return `network unreachable (${code})`;
    default: {
      const message = cause?.message ?? (err as Error).message ?? String(err);
      return code ? `${message} (${code})` : message;
    }
  }
}

/**
 * Unpacks `archive` into `root/<folder>`: into a temporary folder first, checked for every file
 * the loader reads, then renamed into place, so the folder either is complete or is not there.
 */
async function unpack(archive: string, root: string, file: SourceFile): Promise<void> {
  const layout = file.unpack!;
  const final = join(root, layout.folder);
  if (existsSync(final)) {
    throw new DataFormatError(final, `is already there but lacks ${missingUnpacked(root, file).join(", ")}; delete it and run again to unpack ${file.name} afresh`);
  }
  // A fixed name, so that what an unpacking killed midway leaves is removed by the next one.
  const temp = join(root, `.${layout.folder}.unpacking`);
  rmSync(temp, { recursive: true, force: true });
  try {
    await extractTarGz(archive, temp, { only: layout.folder });
    const lacking = layout.files.filter((f) => !existsSync(join(temp, layout.folder, f)));
    if (lacking.length > 0) {
      throw new DataFormatError(archive, `does not hold ${lacking.map((f) => `${layout.folder}/${f}`).join(", ")}; expected the ${file.name} layout`);
    }
    renameSync(join(temp, layout.folder), final);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
