/**
 * The process's default group, as torch.distributed keeps one: the CLI joins it once from the
 * torchrun environment before a command runs, and the trainer and the evaluation runner find it
 * here. A process that never joined one runs alone.
 */
import { deriveSeed } from "../core/seeds.js";
import { rankEnv, type RankEnv } from "./env.js";
import { ProcessGroup, type Backend } from "./process-group.js";

let current: ProcessGroup | null = null;
let currentEnv: RankEnv | null = null;

/** The default group, or null in a single-process run. */
export function defaultGroup(): ProcessGroup | null {
  return current;
}

/** This process's rank in the default group (0 when alone). */
export function rank(): number {
  return current?.rank ?? 0;
}

/** Whether this process writes files, logs and progress: rank 0, or a process running alone. */
export function isRankZero(): boolean {
  return rank() === 0;
}

/**
 * A seed for this rank's own draws (dropout masks, random starts of its rows): `seed` itself on
 * rank 0 and alone, so a one-process run is unchanged, and an independent one on every other rank,
 * so no two ranks draw the same noise for their rows.
 */
export function perRankSeed(seed: number): number {
  return rank() === 0 ? seed : deriveSeed(seed, rank());
}

/** The launch environment the default group was made from (null when alone). */
export function groupEnv(): RankEnv | null {
  return currentEnv;
}

/**
 * Joins the default group from RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; does nothing when
 * WORLD_SIZE is unset or 1. The backend is NCCL for a CUDA run, else Gloo.
 */
export async function initFromEnv(o: { backend?: Backend; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessGroup | null> {
  const env = rankEnv(o.env);
  if (!env) return null;
  if (current) throw new Error(`the default process group exists already (rank ${current.rank} of ${current.worldSize})`);
  // NCCL exchanges go through this rank's own GPU.
  current = await ProcessGroup.create({ ...env, backend: o.backend, timeoutMs: o.timeoutMs, ...(o.backend === "nccl" ? { device: `cuda:${env.localRank}` } : {}) });
  currentEnv = env;
  return current;
}

/** Sets (or clears, with null) the default group; for library users who create their own. */
export function setDefaultGroup(group: ProcessGroup | null): void {
  current = group;
  currentEnv = null;
}

/** Leaves the default group (after a barrier, so no rank closes while another still sends). */
export async function destroyDefaultGroup(): Promise<void> {
  const g = current;
  current = null;
  currentEnv = null;
  if (!g) return;
  try {
    await g.barrier();
  } finally {
    g.destroy();
  }
}
