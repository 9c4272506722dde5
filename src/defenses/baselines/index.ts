/** Baseline defenses the paper compares IDFR with, each a `Defense` wrapping a target classifier. */
export { BASELINE_NAMES, createBaseline, isBaselineName, type BaselineName, type BaselineOptions } from "./registry.js";
export { PurifierDefense } from "./purifier-defense.js";
export {
  FeatureSqueezing, DATASET_SQUEEZERS, defaultSqueezers, describeSqueezers, squeeze, squeezersFor, type FeatureSqueezingOptions, type Squeezer,
} from "./feature-squeezing.js";
export { FeatureSqueezingDetector, type DetectionReport, type FeatureSqueezingDetectorOptions } from "./feature-squeezing-detector.js";
export { nonLocalMeans, type NonLocalMeansOptions } from "./non-local-means.js";
export { JpegDefense, JPEG_QUALITIES, type JpegOptions } from "./jpeg.js";
export { TvmDefense, type TvmOptions } from "./tvm.js";
export { medianFilter, reduceBitDepth } from "./squeezers.js";
export { jpegRoundTrip } from "./jpeg-codec.js";
export { tvInpaint, type TvInpaintOptions } from "./tv-inpaint.js";
