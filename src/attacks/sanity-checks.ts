/**
 * Checks that flag an evaluation which cannot be trusted, after AutoAttack's `checks.py`
 * (Croce et al.): a model whose output changes between two identical forwards (a randomised
 * defense: use version "rand"), outputs that look like probabilities instead of logits, start
 * points with an exactly zero gradient (gradient masking), Square (gradient-free) breaking points
 * that the gradient attacks could not, and too few classes for the DLR losses or the number of
 * target classes (an error, not a warning). AutoAttack's check for dynamic defenses (tracing
 * autograd calls inside the forward) has no counterpart here.
 *
 * Warnings are strings handed to a {@link WarningLog}; by default `process.emitWarning`, so a
 * program can watch them with `process.on("warning", ...)` and `node --no-warnings` silences them.
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { noGrad, tidy, type Tensor } from "../torch/index.js";

/** Where attack warnings go. */
export type WarningLog = (message: string) => void;

/** The default {@link WarningLog}: Node's `process.emitWarning` with type "AttackWarning". */
export const defaultWarningLog: WarningLog = (message) => process.emitWarning(message, "AttackWarning");

/** The warning for `rows` start points whose gradient is exactly zero. */
export function zeroGradientMessage(attack: string, rows: number): string {
  return `${attack}: ${rows} point${rows === 1 ? " has" : "s have"} an exactly zero gradient at the start; ` +
    "gradient-based attacks cannot move them, so their robustness may be overestimated (gradient masking?)";
}

/**
 * Whether the model is random: classifies `x` `draws` times (default 5) without gradient; warns
 * when the number of correct predictions differs between draws or two draws' logits, each row
 * scaled to unit L2 norm, differ by more than `tolerance` (default 1e-4) in L2 norm.
 */
export function checkRandomized(model: LogitsModel, x: Tensor, y: Tensor, draws = 5, tolerance = 1e-4): string | null {
  const { correct, maxDiff } = tidy(() => noGrad(() => {
    const outputs: Tensor[] = [];
    const counts: number[] = [];
    for (let k = 0; k < draws; k++) {
      const z = logitsOf(model, x);
      counts.push(z.argmax(1).eq(y).sum().item());
      outputs.push(z.div(rowNorm(z).add(1e-10).unsqueeze(1)));
    }
    let worst = 0;
    for (let a = 0; a < draws; a++) {
      for (let b = a + 1; b < draws; b++) worst = Math.max(worst, rowNorm(outputs[a].sub(outputs[b])).max().item());
    }
    return { correct: counts, maxDiff: worst };
  }));
  if (correct.every((c) => c === correct[0]) && !(maxDiff > tolerance)) return null;
  return `the model's output changes between identical forwards (by up to ${maxDiff.toExponential(2)} in normalised logits): ` +
    'it looks randomised; evaluate it with version "rand" (EOT over the draws)';
}

/**
 * The number of classes; warns when the outputs on `x` look like probabilities (all in [0, 1],
 * rows summing to 1 within 1e-5): attacks need logits.
 */
export function checkOutputRange(model: LogitsModel, x: Tensor): { classes: number; warning: string | null } {
  return tidy(() => noGrad(() => {
    const z = logitsOf(model, x);
    const alpha = 1e-5;
    const probabilities = z.max().item() < 1 + alpha && z.min().item() > -alpha && z.sum(-1).sub(1).abs().lt(alpha).all();
    return {
      classes: z.size(-1),
      warning: probabilities ? "the model's outputs look like probabilities (in [0, 1], rows summing to 1): attacks need the logits" : null,
    };
  }));
}

/**
 * Throws when the attacks cannot run on a model with `classes` classes: the DLR losses need 3
 * ("apgd-dlr") or 4 ("apgd-t") classes, and each targeted attack at most classes − 1 targets.
 */
export function checkClasses(classes: number, attacks: readonly string[], targets: { "apgd-t"?: number; "fab-t"?: number }): void {
  if (attacks.includes("apgd-dlr") && classes < 3) {
    throw new RangeError(`apgd-dlr: the DLR loss needs at least 3 classes, the model has ${classes}`);
  }
  for (const name of ["apgd-t", "fab-t"] as const) {
    if (!attacks.includes(name)) continue;
    if (name === "apgd-t" && classes < 4) throw new RangeError(`apgd-t: the targeted DLR loss needs at least 4 classes, the model has ${classes}`);
    const wanted = targets[name] ?? 9;
    if (wanted > classes - 1) {
      throw new RangeError(`targetClasses: ${name} asks for ${wanted} target classes, but a model with ${classes} classes has only ${classes - 1} besides the label (set targetClasses to at most ${classes - 1})`);
    }
  }
}

/**
 * Warns when Square lowered the robust accuracy by more than `alpha` (default 0.002) below the
 * lowest accuracy of everything else that ran (the clean accuracy and the other attacks): a
 * gradient-free attack breaking what the gradient attacks could not suggests gradient masking.
 * `robust` maps "clean" and each attack to the number of points still robust after it.
 */
export function checkSquare(robust: Readonly<Record<string, number>>, n: number, alpha = 0.002): string | null {
  const names = Object.keys(robust);
  if (!("square" in robust) || names.length <= 2 || n === 0) return null;
  const others = Math.min(...names.filter((k) => k !== "square").map((k) => robust[k] / n));
  const square = robust.square / n;
  if (!(square < others - alpha)) return null;
  return `square lowered the robust accuracy by ${(100 * (others - square)).toFixed(2)} points below the gradient attacks: ` +
    "the evaluation may be unreliable (gradient masking?); run Square with more queries and restarts, or an adaptive attack";
}

/** The L2 norm of each row of [N, ...]. */
function rowNorm(t: Tensor): Tensor {
  return t.flatten(1).square().sum(1).sqrt();
}
