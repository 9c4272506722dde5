/**
 * The inference worker: the one thread that owns libtorch in `idfr serve`. It loads the models,
 * then answers one request at a time (a batch to infer, an attack, the page's samples), so the
 * event loop of the server stays free for health checks, metrics and the page.
 */
import { parentPort } from "node:worker_threads";
import { ModelHost } from "./model-host.js";
import type { WorkerReply, WorkerRequest } from "./protocol.js";

if (!parentPort) throw new Error("inference-worker: must run as a worker thread");
const port = parentPort;
let host: ModelHost | null = null;

function transferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (depth > 4 || value === null || typeof value !== "object") return out;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
    return out;
  }
  for (const v of Object.values(value)) transferables(v, out, depth + 1);
  return out;
}

async function handle(msg: WorkerRequest): Promise<unknown> {
  if (msg.type === "load") {
    host?.dispose();
    host = ModelHost.load(msg.models, msg.options);
    return host.models;
  }
  if (!host) throw new Error("no models loaded");
  switch (msg.type) {
    case "infer": return host.infer(msg);
    case "attack": return host.attack(msg);
    case "samples": return host.samples(msg.model);
  }
}

// Requests are handled strictly one after another: libtorch work is synchronous, and the
// samples request (the one that awaits) must not interleave with a batch.
let chain: Promise<void> = Promise.resolve();
port.on("message", (msg: WorkerRequest) => {
  chain = chain.then(async () => {
    let reply: WorkerReply;
    try {
      reply = { id: msg.id, ok: true, result: await handle(msg) };
    } catch (err) {
      reply = { id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, reply.ok ? transferables(reply.result) : []);
  });
});
