/**
 * The loader's worker thread: holds the dataset's pixels (shared memory, not a copy) and builds
 * the float32 batches it is asked for, handing each one back by transfer (no copy either).
 */
import { parentPort, workerData } from "node:worker_threads";
import { fillBatch } from "./batch.js";
import type { WorkerInit, WorkerMessage, WorkerReply } from "./loader-protocol.js";

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error("loader-worker: must run as a worker thread");

port.on("message", (req: WorkerMessage) => {
  if (req.close) {
    // Closing the port empties the event loop, so the thread exits on its own.
    port.close();
    return;
  }
  try {
    const size = init.shape[1] * init.shape[2] * init.shape[3];
    const out = new Float32Array(req.indices.length * size);
    fillBatch(init.images, init.shape, req.indices, init.augmentation, req.seed, out);
    const reply: WorkerReply = { id: req.id, images: out };
    port.postMessage(reply, [out.buffer]);
  } catch (err) {
    const reply: WorkerReply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
