/**
 * The JPEG codec's worker thread: sharp (libvips + libjpeg) only offers asynchronous calls, while a
 * purifier must answer synchronously, so this thread runs sharp and the caller blocks until it has
 * answered (see ./jpeg-codec.ts).
 */
import { workerData } from "node:worker_threads";
import sharp from "sharp";
import type { JpegReply, JpegRequest, JpegWorkerInit } from "./jpeg-protocol.js";

const init = workerData as JpegWorkerInit;
const port = init.port;

async function roundTrip(req: JpegRequest): Promise<Uint8Array> {
  const { width, height, channels, count, quality } = req;
  const size = width * height * channels;
  const out = new Uint8Array(count * size);
  for (let k = 0; k < count; k++) {
    const raw = req.pixels.subarray(k * size, (k + 1) * size);
    // Baseline JPEG with libjpeg's standard tables and 4:2:0 chroma subsampling, as PIL writes it
    // (Guo et al. and ART use PIL); one-channel images stay one-channel (greyscale JPEG).
    const encoded = await sharp(raw, { raw: { width, height, channels } })
      .jpeg({ quality, chromaSubsampling: "4:2:0", mozjpeg: false })
      .toBuffer();
    let decoder = sharp(encoded);
    decoder = channels === 1 ? decoder.toColourspace("b-w") : decoder.removeAlpha();
    const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== channels) {
      throw new Error(`decoded ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x${channels}`);
    }
    out.set(data, k * size);
  }
  return out;
}

function answer(reply: JpegReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
  Atomics.store(init.signal, 0, 1);
  Atomics.notify(init.signal, 0);
}

port.on("message", (req: JpegRequest) => {
  roundTrip(req).then(
    (pixels) => answer({ pixels }, [pixels.buffer as ArrayBuffer]),
    (err: unknown) => answer({ error: err instanceof Error ? err.message : String(err) }),
  );
});
