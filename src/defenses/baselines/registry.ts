/**
 * The baseline defenses by name, as rows of the result tables name them. Baselines that need
 * training of their own (NRP, ComDefend, ADP, SOAP) are not here; Fast AT is a trained target
 * (`idfr train-model --mode fast-at`), not a wrapper.
 */
import type { Classifier } from "../../models/classifier.js";
import type { Defense } from "../defense.js";
import { FeatureSqueezing, type FeatureSqueezingOptions } from "./feature-squeezing.js";
import { JpegDefense, type JpegOptions } from "./jpeg.js";
import { TvmDefense, type TvmOptions } from "./tvm.js";

/** Names accepted by {@link createBaseline}, in the order of the paper's tables. */
export const BASELINE_NAMES = ["feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm"] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** Per-family options; each baseline reads its own part (a `name` given here is ignored). */
export interface BaselineOptions {
  /** Dataset name: Feature Squeezing takes Xu et al.'s squeezers for it. */
  dataset?: string;
  featureSqueezing?: Omit<FeatureSqueezingOptions, "name">;
  jpeg?: Omit<JpegOptions, "name" | "quality">;
  tvm?: Omit<TvmOptions, "name">;
}

/** True when `name` is one of {@link BASELINE_NAMES}. */
export function isBaselineName(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

/** The baseline called `name`, wrapping `target`. */
export function createBaseline(name: BaselineName | string, target: Classifier, options: BaselineOptions = {}): Defense {
  if (!isBaselineName(name)) throw new TypeError(`createBaseline: unknown baseline ${JSON.stringify(name)}; expected one of ${BASELINE_NAMES.join(", ")}`);
  switch (name) {
    case "feature-squeezing":
      return new FeatureSqueezing(target, { dataset: options.dataset, ...options.featureSqueezing, name });
    case "tvm":
      return new TvmDefense(target, { ...options.tvm, name });
    default: {
      const quality = Number(name.slice("jpeg-q".length));
      return new JpegDefense(target, { ...options.jpeg, quality, name });
    }
  }
}
