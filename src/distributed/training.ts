/**
 * What the one training loop (train/loop.ts) asks of a multi-process run: a DataParallel for its
 * module when the process is in a group of more than one, and rank 0's starting point (fresh, or
 * resumed from its checkpoint) handed to every rank, so a resume works with any world size and
 * without a folder shared between hosts.
 */
import type { optim, nn, Tensor } from "../torch/index.js";
import { DataParallel } from "./data-parallel.js";
import { defaultGroup } from "./default-group.js";
import { broadcastJson, broadcastTensorMap } from "./exchange.js";

/**
 * A DataParallel over the default group for `module`, or null when the process runs alone. Batch
 * norm is synchronised when IDFR_SYNC_BATCH_NORM=1 (`idfr launch --sync-batch-norm` sets it).
 */
export function startDataParallel(module: nn.Module, env: NodeJS.ProcessEnv = process.env): DataParallel | null {
  const group = defaultGroup();
  return group && group.worldSize > 1 ? new DataParallel(group, module, { syncBatchNorm: syncBatchNormFromEnv(env) }) : null;
}

/** IDFR_SYNC_BATCH_NORM: "1"/"true" on, unset/"0"/"false" off; anything else is an error naming it. */
export function syncBatchNormFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.IDFR_SYNC_BATCH_NORM;
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new RangeError(`IDFR_SYNC_BATCH_NORM: expected 1 or 0 (true or false), got ${JSON.stringify(raw)}`);
}

/**
 * Rank 0's `state` (e.g. the epoch to start from and the history), module parameters and
 * buffers, optimizer state and extra tensors, on every rank. Call on every rank at the same point.
 */
export function shareStartingPoint<S extends { stepCount: number }>(dp: DataParallel, state: S, optimizer: optim.Optimizer,
  extra?: { save: () => Map<string, Tensor>; load: (tensors: Map<string, Tensor>) => void }): S {
  const group = dp.group;
  const shared = broadcastJson(group, state);
  dp.broadcastState();
  const opt = broadcastTensorMap(group, group.rank === 0 ? optimizer.stateDict() : null);
  const more = extra ? broadcastTensorMap(group, group.rank === 0 ? extra.save() : null) : new Map<string, Tensor>();
  try {
    if (group.rank !== 0) {
      if (opt.size > 0 || shared.stepCount > 0) optimizer.loadStateDict(opt, shared.stepCount);
      if (more.size > 0) extra?.load(more);
    }
  } finally {
    for (const t of [...opt.values(), ...more.values()]) t.dispose();
  }
  return shared;
}
