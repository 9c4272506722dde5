/** Training: the epoch loop, checkpoints, and target-classifier training (standard and fast AT). */
export { trainClassifier, DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainRun, type EpochRecord } from "./classifier.js";
export { runTrainLoop, clearCheckpoint, type TrainLoopOptions, type LoopRecord, type StepResult } from "./loop.js";
