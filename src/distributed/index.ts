/**
 * Multi-process training and evaluation on torch's c10d (Gloo on CPU, NCCL on CUDA builds): process
 * groups from the torchrun environment, data parallelism for the one trainer, a distributed
 * sampler, and exchanges of results between ranks.
 */
export { rankEnv, type RankEnv } from "./env.js";
export { ProcessGroup, Work, DistributedError, availableBackends, type Backend, type ProcessGroupOptions, type ReduceOpName } from "./process-group.js";
export { defaultGroup, initFromEnv, setDefaultGroup, destroyDefaultGroup, isRankZero, rank, groupEnv, perRankSeed } from "./default-group.js";
export { DataParallel, localRows, shareOf, type DataParallelOptions, type ReduceStats } from "./data-parallel.js";
export { distributedShard, type SamplerOptions } from "./sampler.js";
export { broadcastJson, broadcastTensorMap, allGatherRows, allReduceNumbers } from "./exchange.js";
export { computeSharded, myShare, sumOverRanks, catRowsOverRanks, gatherSharesInPlace } from "./shard.js";
export { startDataParallel, syncBatchNormFromEnv } from "./training.js";
export { synchronizeBatchNorm, type ShareOfStep } from "./sync-batch-norm.js";
export { freePort } from "./free-port.js";
