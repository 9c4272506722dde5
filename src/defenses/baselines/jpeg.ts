/**
 * JPEG compression as an input purifier (Guo, Rana, Cissé & van der Maaten, "Countering
 * Adversarial Images using Input Transformations", ICLR 2018; the IDFR paper's rows JPEG(q=25),
 * JPEG(q=50), JPEG(q=75)). Each image is rounded to 8 bits, encoded as a baseline JPEG at the
 * quality and decoded with libjpeg (through sharp), grey and RGB alike. Deterministic; attacks get
 * an identity gradient (BPDA) through it.
 */
import type { Classifier } from "../../models/classifier.js";
import type { Tensor } from "../../torch/index.js";
import { checkInteger } from "../../attacks/options.js";
import { jpegRoundTrip } from "./jpeg-codec.js";
import { PurifierDefense } from "./purifier-defense.js";

/** The qualities the paper evaluates. */
export const JPEG_QUALITIES = [25, 50, 75] as const;

/** Options of {@link JpegDefense}. */
export interface JpegOptions {
  /** JPEG quality, 1..100 (default 75, Guo et al.'s setting). */
  quality?: number;
  /** Row name in result tables (default `jpeg-q<quality>`). */
  name?: string;
}

/** JPEG compression at a fixed quality as a purifying defense around `target`. */
export class JpegDefense extends PurifierDefense {
  readonly name: string;
  readonly stochastic = false;
  readonly quality: number;

  constructor(target: Classifier, options: JpegOptions = {}) {
    super(target);
    this.quality = checkInteger("jpeg quality", options.quality ?? 75, 1, 100);
    this.name = options.name ?? `jpeg-q${this.quality}`;
  }

  protected transform(x: Tensor): Tensor {
    return jpegRoundTrip(x, this.quality);
  }
}
