/**
 * Training: the one epoch loop (batch sources, checkpoints, resume, Ctrl-C), and target-classifier
 * training on it (standard; fast AT takes its adversarial inputs from defenses/fast-at.ts).
 */
export {
  trainClassifier, gaussianInputs, DEFAULT_TRAIN_CONFIG, earlyStopDecision, learningRateScheduler, type TrainConfig, type TrainRun, type EpochRecord, type AdversarialInputs, type EarlyStopping,
} from "./classifier.js";
export { runTrainLoop, clearCheckpoint, loopFiles, type TrainLoopOptions, type LoopRecord, type StepResult, type LoopFiles } from "./loop.js";
export { indexBatches, type BatchSource } from "./batches.js";
export { checkSameSettings, differingSettings, type TrainingSettings } from "./checkpoint.js";
export { dataIdentity, type DataIdentity } from "./data-identity.js";
