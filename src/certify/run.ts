/**
 * CERTIFY over a set of images, as Cohen et al.'s `certify.py` runs it: one certificate per image,
 * written after each image to a results file (atomically), so an interrupted run resumes where it
 * stopped; and the certified accuracy at each L2 radius r — the share of images whose certified
 * prediction is the true label with a radius of at least r.
 */
import { existsSync } from "node:fs";
import { writeFileAtomic } from "../core/atomic-write.js";
import { readJsonFile } from "../core/json-file.js";
import { cleanFloats } from "../data/tensors.js";
import { imageSize, type ImageSet } from "../data/types.js";
import { tensor, tidy, type Device } from "../torch/index.js";
import { ABSTAIN, SmoothedClassifier, type BaseClassifier, type Certificate } from "./smooth.js";

/** Settings of a certification run: everything that decides its numbers. */
export interface CertifySettings {
  sigma: number;
  n0: number;
  n: number;
  alpha: number;
  seed: number;
}

/** One image's line in the results. */
export interface CertifiedImage extends Certificate {
  index: number;
  label: number;
  correct: boolean;
  seconds: number;
}

/** Certified accuracy at one radius. */
export interface CurvePoint {
  radius: number;
  accuracy: number;
}

/** The results file of `idfr certify`. */
export interface CertifyResults {
  format: "idfr-certify";
  version: 1;
  /** What was smoothed: "defense DIR", "model DIR", with the dataset. */
  base: string;
  /** Name in reports, when given. */
  label?: string;
  dataset: string;
  settings: CertifySettings;
  images: CertifiedImage[];
  /** Filled in when every image is done. */
  summary?: {
    n: number;
    /** Certified accuracy at radius 0 (Cohen's "clean" accuracy of g), abstentions, mean certified radius of correct images. */
    accuracy: number;
    abstained: number;
    meanRadius: number;
    curve: CurvePoint[];
    seconds: number;
  };
}

/** The radius grid of the curves: 0 to 2.5 in steps of 0.025 (the largest radius n = 100,000 and σ = 1 can certify is about 4.3; CPU runs stay far below). */
export const DEFAULT_RADII: number[] = Array.from({ length: 101 }, (_, i) => Math.round(i * 0.025 * 1000) / 1000);

/** Certified accuracy at each radius of `radii`: correct and radius ≥ r, over all images (abstentions count as wrong). */
export function certifiedAccuracyCurve(images: readonly Pick<CertifiedImage, "correct" | "radius">[], radii: readonly number[] = DEFAULT_RADII): CurvePoint[] {
  if (images.length === 0) throw new RangeError("certified accuracy: no images");
  return radii.map((radius) => ({ radius, accuracy: images.filter((im) => im.correct && im.radius >= radius).length / images.length }));
}

export interface CertifySetOptions extends CertifySettings {
  numClasses: number;
  batchSize?: number;
  device?: Device;
  /** Results file (JSON), written after every image; resumed when its settings match. */
  out?: string;
  base?: string;
  label?: string;
  dataset?: string;
  /** Called after each image. */
  onImage?: (done: number, total: number, image: CertifiedImage) => void;
  signal?: AbortSignal;
}

function checkSettings(s: CertifySettings): void {
  if (!Number.isInteger(s.n0) || s.n0 < 1) throw new RangeError(`n0: expected a positive integer number of selection samples, got ${s.n0}`);
  if (!Number.isInteger(s.n) || s.n < 1) throw new RangeError(`n: expected a positive integer number of estimation samples, got ${s.n}`);
  if (!(s.alpha > 0 && s.alpha < 1)) throw new RangeError(`alpha: expected a probability in (0, 1), got ${s.alpha}`);
}

/** Runs CERTIFY on every image of `set` through the smoothed `base`. */
export function certifySet(base: BaseClassifier, set: ImageSet, o: CertifySetOptions): CertifyResults {
  checkSettings(o);
  const settings: CertifySettings = { sigma: o.sigma, n0: o.n0, n: o.n, alpha: o.alpha, seed: o.seed };
  const smoothed = new SmoothedClassifier(base, { sigma: o.sigma, numClasses: o.numClasses, batchSize: o.batchSize, seed: o.seed });
  const results: CertifyResults = { format: "idfr-certify", version: 1, base: o.base ?? "", ...(o.label ? { label: o.label } : {}), dataset: o.dataset ?? "", settings, images: [] };
  if (o.out && existsSync(o.out)) {
    const old = readJsonFile(o.out, "the certification results") as Partial<CertifyResults>;
    if (old.format === "idfr-certify" && JSON.stringify(old.settings) === JSON.stringify(settings) && old.base === results.base && Array.isArray(old.images)) {
      results.images = old.images.filter((im) => im.index < set.shape[0]);
    }
  }
  const total = set.shape[0];
  const size = imageSize(set.shape);
  const save = () => { if (o.out) writeFileAtomic(o.out, `${JSON.stringify(results, null, 1)}\n`); };
  for (let i = results.images.length; i < total; i++) {
    if (o.signal?.aborted) break;
    const t0 = performance.now();
    const cert = tidy(() => {
      const x = tensor(cleanFloats(set, [i]).subarray(0, size), [1, ...set.shape.slice(1)]);
      return smoothed.certify(o.device && o.device !== "cpu" ? x.to(o.device) : x, { n0: o.n0, n: o.n, alpha: o.alpha, imageId: i });
    });
    const label = set.labels[i];
    const image: CertifiedImage = { index: i, label, ...cert, correct: cert.prediction !== ABSTAIN && cert.prediction === label, seconds: (performance.now() - t0) / 1000 };
    results.images.push(image);
    save();
    o.onImage?.(results.images.length, total, image);
  }
  if (results.images.length === total) {
    const correct = results.images.filter((im) => im.correct);
    results.summary = {
      n: total,
      accuracy: correct.length / total,
      abstained: results.images.filter((im) => im.prediction === ABSTAIN).length,
      meanRadius: correct.length ? correct.reduce((s, im) => s + im.radius, 0) / correct.length : 0,
      curve: certifiedAccuracyCurve(results.images),
      seconds: results.images.reduce((s, im) => s + im.seconds, 0),
    };
    save();
  }
  return results;
}
