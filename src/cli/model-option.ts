/** Model folders given on the command line: loaded with errors that name the option, and checked against the data. */
import type { Classifier } from "../models/classifier.js";
import { checkModelFitsData, type DataFacts } from "../models/fits-data.js";
import { loadClassifier, type ModelInfo } from "../models/io.js";
import type { DeviceName } from "../core/context.js";
import { moveToDevice } from "./context.js";

export interface ModelOptionChecks {
  /** Use a model that does not fit the data anyway (each mismatch becomes a warning). */
  force?: boolean;
  device: DeviceName;
  /** Where warnings go (default: stderr). */
  warn?: (line: string) => void;
}

/**
 * Loads the model folder `dir` given as `option` (e.g. "--model"), refuses it when it was trained on
 * other data than `data` (unless `force`), and moves it to the device. Errors start with the option
 * and folder, so a broken surrogate is not mistaken for a broken target.
 */
export function loadModelOption(option: string, dir: string, data: DataFacts, checks: ModelOptionChecks): Classifier & { info: ModelInfo } {
  let model: Classifier & { info: ModelInfo };
  try {
    model = loadClassifier(dir);
  } catch (err) {
    throw new Error(`${option} ${dir}: ${(err as Error).message}`);
  }
  const warn = checks.warn ?? ((line: string) => process.stderr.write(`idfr: ${line}\n`));
  for (const m of checkModelFitsData(model.info, data, { force: checks.force, label: `${option} ${dir}` })) warn(`warning: ${option} ${dir}: ${m} (--force)`);
  return moveToDevice(model, checks.device);
}
