/**
 * Where a training loop's batches come from. A classifier reads image batches from the data
 * layer's BatchLoader (built ahead in worker threads); IDFR's algorithms index their own tensors,
 * so their "batches" are just the step numbers of the epoch.
 */

/** The batches of each epoch, in order; `batchesPerEpoch` of them. */
export interface BatchSource<B> {
  readonly batchesPerEpoch: number;
  epoch(epoch: number): AsyncIterable<B> | Iterable<B>;
}

/** Step numbers 0 .. count − 1 as the batches of every epoch (the step indexes its own data). */
export function indexBatches(count: number): BatchSource<number> {
  if (!Number.isInteger(count) || count < 0) throw new TypeError(`batches per epoch: expected a non-negative integer, got ${count}`);
  return {
    batchesPerEpoch: count,
    *epoch(): Iterable<number> {
      for (let b = 0; b < count; b++) yield b;
    },
  };
}
