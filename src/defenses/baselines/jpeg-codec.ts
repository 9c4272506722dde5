/**
 * A synchronous JPEG round trip (encode at a quality, decode) for NCHW tensors, on sharp. sharp's
 * API is asynchronous but `Defense.purify` is not, so one worker thread runs sharp and the caller
 * waits for its answer on a shared flag (Atomics.wait) and reads it with receiveMessageOnPort.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import { startModuleWorker } from "../../core/worker-thread.js";
import { tensor, tidy, type Tensor } from "../../torch/index.js";
import type { JpegReply, JpegRequest, JpegWorkerInit } from "./jpeg-protocol.js";

/** How long one batch may take before the codec is presumed dead. */
const TIMEOUT_MS = 120_000;

interface Channel {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

let channel: Channel | undefined;

function open(): Channel {
  if (channel) return channel;
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const init: JpegWorkerInit = { port: port2, signal };
  const worker = startModuleWorker(import.meta.url, "jpeg-worker", { workerData: init, transferList: [port2] });
  // The codec thread must never keep a finished program alive.
  worker.unref();
  port1.unref();
  worker.on("exit", () => {
    if (channel?.worker === worker) channel = undefined;
  });
  channel = { worker, port: port1, signal };
  return channel;
}

/** Encodes and decodes interleaved 8-bit images; blocks until the codec thread answers. */
export function jpegRoundTripBytes(req: JpegRequest): Uint8Array {
  const ch = open();
  Atomics.store(ch.signal, 0, 0);
  ch.port.postMessage(req);
  if (Atomics.wait(ch.signal, 0, 0, TIMEOUT_MS) === "timed-out") {
    void ch.worker.terminate();
    channel = undefined;
    throw new Error(`jpeg: the codec thread did not answer within ${TIMEOUT_MS / 1000} s`);
  }
  const received = receiveMessageOnPort(ch.port);
  if (!received) throw new Error("jpeg: the codec thread signalled but sent no reply");
  const reply = received.message as JpegReply;
  if (reply.error !== undefined) throw new Error(`jpeg: ${reply.error}`);
  return reply.pixels;
}

/**
 * JPEG-compresses each image of an NCHW batch in [0, 1] at `quality` (1..100) and decodes it again:
 * values are rounded to 8 bits first, as an image file would hold them. Grey (C = 1) and RGB (C = 3)
 * images only. Returns a new float32 tensor on x's device.
 */
export function jpegRoundTrip(x: Tensor, quality: number): Tensor {
  const [n, c, h, w] = x.shape;
  if (c !== 1 && c !== 3) throw new RangeError(`jpeg: expected 1 (grey) or 3 (RGB) channels, got ${c}`);
  return tidy(() => {
    const hwc = x.detach().clamp(0, 1).mul(255).round().to("uint8").permute([0, 2, 3, 1]).contiguous().cpu();
    // A fresh copy: the request's buffer is handed to another thread.
    const bytes = Uint8Array.from(hwc.toTypedArray() as Uint8Array);
    const decoded = jpegRoundTripBytes({ pixels: bytes, count: n, width: w, height: h, channels: c, quality });
    const nchw = tensor(decoded, [n, h, w, c]).permute([0, 3, 1, 2]).float().div(255).contiguous();
    return x.device === "cpu" ? nchw : nchw.to(x.device);
  });
}
