/**
 * The torchrun environment: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as torchrun,
 * `idfr launch`, Slurm wrappers and Kubernetes training operators set them.
 */

/** Where this process sits in a multi-process run. */
export interface RankEnv {
  /** This process's rank, 0 .. worldSize − 1. */
  rank: number;
  /** Its rank on this node (selects the GPU: cuda:LOCAL_RANK). */
  localRank: number;
  worldSize: number;
  /** Host of rank 0's rendezvous store. */
  masterAddr: string;
  masterPort: number;
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  const value = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(raw ?? null)}`);
  }
  return value;
}

/**
 * The rank environment, or null for a single-process run (WORLD_SIZE unset or 1). Throws naming
 * the variable when one is missing or out of range.
 */
export function rankEnv(env: NodeJS.ProcessEnv = process.env): RankEnv | null {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE === "1") return null;
  const worldSize = intVar(env, "WORLD_SIZE", 1);
  const rank = intVar(env, "RANK", 0, worldSize - 1);
  const localRank = env.LOCAL_RANK === undefined ? rank : intVar(env, "LOCAL_RANK", 0, worldSize - 1);
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr) throw new RangeError(`MASTER_ADDR: expected the host of rank 0 (WORLD_SIZE is ${worldSize}), got nothing`);
  const masterPort = intVar(env, "MASTER_PORT", 1, 65535);
  return { rank, localRank, worldSize, masterAddr, masterPort };
}
