import type { Augmentation } from "./augment.js";
import type { Shape4 } from "./types.js";

/** Data a loader worker starts with; `images` lives on a SharedArrayBuffer. */
export interface WorkerInit {
  images: Uint8Array;
  shape: Shape4;
  augmentation: Augmentation;
}

/** One batch to build, or (`close`) the request to exit once the batches asked for before are sent. */
export type WorkerMessage = WorkerRequest | { close: true };

/** One batch to build. */
export interface WorkerRequest {
  close?: undefined;
  id: number;
  indices: Uint32Array;
  seed: number;
}

/** The built batch, or why it failed. */
export type WorkerReply = { id: number; images: Float32Array; error?: undefined } | { id: number; error: string; images?: undefined };
