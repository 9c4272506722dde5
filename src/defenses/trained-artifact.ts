/**
 * The one way a learned defense gets its trained parts in a run: built once per key for all entries
 * of the run, kept in an artifact folder keyed on everything that produced it, trained there when the
 * folder is not complete (resuming its checkpoint after an interruption), counted in the run's
 * statistics, and loaded from the folder.
 */
import type { DeviceName } from "../core/context.js";
import type { ProgressMode } from "../core/progress.js";
import type { DefenseEnv } from "./registry.js";

/** The run options every trainer takes, pointed at the artifact folder. */
export interface ArtifactRun {
  outDir: string;
  resume: true;
  progress: ProgressMode;
  device: DeviceName;
  dataset: string;
  log: (line: string) => void;
}

export interface ArtifactSteps<T> {
  /** Whether `dir` already holds the finished artifact. */
  done(dir: string): boolean;
  /** Trains into `dir` and saves what `load` reads (freeing what it trained). */
  train(dir: string, run: ArtifactRun): Promise<void>;
  /** Reads the artifact from `dir` onto the run's device. */
  load(dir: string): T;
}

/** The artifact of `kind` for `key` (see the file's header). */
export function trainedArtifact<T>(env: DefenseEnv, kind: string, key: unknown, steps: ArtifactSteps<T>): Promise<T> {
  return env.shared({ kind, key }, async () => {
    const dir = env.artifactDir(kind, key);
    if (!steps.done(dir)) {
      await steps.train(dir, { outDir: dir, resume: true, progress: env.progress, device: env.device, dataset: env.dataset, log: (line) => env.log(line) });
      env.trained();
    }
    return steps.load(dir);
  });
}
