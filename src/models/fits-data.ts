/**
 * Does a trained model fit a dataset? A model trained on Fashion-MNIST and evaluated on MNIST runs
 * without error (same shape, same number of classes) and scores near chance, silently. Commands
 * that pair a model with a dataset call {@link checkModelFitsData} first.
 */

/** What a model records about the data it was trained on (model.json's fields). */
export interface ModelDataFacts {
  /** Dataset name the model was trained on, when recorded. */
  dataset?: string;
  inputShape: readonly number[];
  numClasses: number;
  /** Class names, when recorded. */
  classes?: readonly string[];
}

/** What a dataset offers: its name, image shape [C, H, W] and class names. */
export interface DataFacts {
  name: string;
  shape: readonly number[];
  classes: readonly string[];
}

/** Options of {@link checkModelFitsData}. */
export interface FitsDataOptions {
  /** Report the mismatches instead of refusing them. */
  force?: boolean;
  /** How the model is named in the message, e.g. "--model runs/target" (default "the model"). */
  label?: string;
}

/** The ways `model` does not fit `data`, in words (empty when it fits). */
export function modelDataMismatches(model: ModelDataFacts, data: DataFacts): string[] {
  const out: string[] = [];
  if (model.dataset !== undefined && model.dataset !== data.name) out.push(`it was trained on ${model.dataset}, not ${data.name}`);
  const want = model.inputShape.join("x");
  const have = data.shape.join("x");
  if (want !== have) out.push(`it takes ${want} images, ${data.name} has ${have}`);
  if (model.numClasses !== data.classes.length) out.push(`it has ${model.numClasses} classes, ${data.name} has ${data.classes.length}`);
  else if (model.classes && model.classes.length === data.classes.length && model.classes.some((c, i) => c !== data.classes[i])) {
    const k = model.classes.findIndex((c, i) => c !== data.classes[i]);
    out.push(`its class ${k} is "${model.classes[k]}", ${data.name}'s is "${data.classes[k]}"`);
  }
  return out;
}

/**
 * Refuses a model that does not fit a dataset (other dataset name, input shape, number or names of
 * classes), naming every mismatch; with `force` it returns the mismatches instead (for a warning).
 */
export function checkModelFitsData(model: ModelDataFacts, data: DataFacts, options: FitsDataOptions = {}): string[] {
  const mismatches = modelDataMismatches(model, data);
  if (mismatches.length && !options.force) {
    throw new Error(`${options.label ?? "the model"} does not fit ${data.name}: ${mismatches.join("; ")} (pass --force to use it anyway)`);
  }
  return mismatches;
}
