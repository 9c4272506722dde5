/** Certified robustness by randomized smoothing (Cohen et al. 2019), and denoised smoothing with IDFR. */
export { clopperPearsonLower, clopperPearsonUpper, normalInverseCdf, binomialTwoSidedPValue } from "./stats.js";
export { SmoothedClassifier, argmaxClassifier, certificateFrom, argmaxCount, topTwo, ABSTAIN, type BaseClassifier, type Certificate, type Prediction, type SmoothingOptions } from "./smooth.js";
export { certifySet, certifiedAccuracyCurve, DEFAULT_RADII, type CertifyResults, type CertifiedImage, type CertifySettings, type CertifySetOptions, type CurvePoint } from "./run.js";
export { certifySection, certifySpec, certifyTable, readCertifyResults, TABLE_RADII, type CertifySeries } from "./report.js";
