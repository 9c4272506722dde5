import type { MessagePort } from "node:worker_threads";

/** Messages between the JPEG codec client ({@link ./jpeg-codec.ts}) and its worker thread. */

/** A batch to encode and decode: `count` images of height×width×channels bytes each, interleaved (HWC). */
export interface JpegRequest {
  pixels: Uint8Array;
  count: number;
  width: number;
  height: number;
  channels: 1 | 3;
  quality: number;
}

/** The decoded images in the request's layout, or why the codec failed. */
export type JpegReply = { pixels: Uint8Array; error?: undefined } | { error: string; pixels?: undefined };

/** What the worker is started with: the port it answers on and the flag it raises when it has. */
export interface JpegWorkerInit {
  port: MessagePort;
  /** Int32 flag: the worker sets it to 1 and notifies once a reply is posted. */
  signal: Int32Array;
}
