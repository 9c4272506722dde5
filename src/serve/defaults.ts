/** The server's default settings, and the name a folder is served under: cheap to import (the CLI reads them). */
import { basename } from "node:path";

export const DEFAULTS = {
  device: "cpu", fastPath: true, maxBatch: 32, maxDelayMs: 5, maxQueue: 256, timeoutMs: 30_000, batching: true,
  bodyLimit: 16 * 1024 * 1024, maxRequestImages: 256, samplesPerClass: 2,
} as const;

/** The default name of a served folder: its last path element. */
export function defaultModelName(dir: string): string {
  return basename(dir.replace(/[\\/]+$/, ""));
}
