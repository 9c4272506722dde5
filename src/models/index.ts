export type { Classifier, LogitsModel } from "./classifier.js";
export { logitsOf } from "./classifier.js";
export { SplitClassifier, type ClassifierConfig } from "./split.js";
export { createClassifier, ARCHITECTURES, NORMALIZATION, type ArchName, type CreateClassifierOptions } from "./registry.js";
export { saveClassifier, loadClassifier, readModelInfo, type ModelInfo } from "./io.js";
export { TorchScriptClassifier, type TorchScriptInfo } from "./torchscript.js";
export { predict, accuracy } from "./evaluate.js";
export { withFrozen } from "./freeze.js";
export { enableFastPath, foldedConvParameters, type FastPath, type FastPathOptions } from "./fast-path.js";
