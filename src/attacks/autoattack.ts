/**
 * AutoAttack (Croce & Hein, ICML 2020): an ensemble of parameter-free attacks run one after the
 * other, each only on the points that every earlier one failed to break, so the result is the
 * per-sample worst case: a point counts as robust only if no attack broke it, and a broken point
 * keeps the first adversarial example that broke it. Norm: l_inf. Untargeted only.
 *
 * Versions (as the reference's `set_version`):
 * - "standard": APGD-CE (1 restart), APGD-T (9 target classes, 1 restart), FAB-T (9 target
 *   classes, 1 restart), Square (5000 queries, pInit 0.8, 1 restart); 100 iterations each.
 * - "plus": APGD-CE, APGD-DLR (5 restarts each), FAB (5 restarts), Square, APGD-T, FAB-T.
 * - "rand", for randomised defenses: APGD-CE and APGD-DLR, 1 restart, each gradient averaged
 *   over `eotIter` (default 20) draws (the model is wrapped with {@link withEot} unless it already
 *   is an {@link EotModel}).
 * - "custom": the sub-attacks listed in `attacks`, in that order, with the reference's class
 *   defaults (5 restarts for APGD-CE/DLR and FAB).
 *
 * Before attacking, the first batch goes through the sanity checks of sanity-checks.ts (a random
 * model outside version "rand", probabilities instead of logits, too few classes: an error); after
 * the run, a warning if Square broke points the gradient attacks did not. Warnings go to `log`
 * (default `process.emitWarning`) and are kept in {@link AutoAttack.warnings}.
 * Defaults: ε = 8/255, version "standard", seed 0 (the same seed for every sub-attack).
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import { tidy, type Tensor } from "../torch/index.js";
import { APGD, indexTensor } from "./apgd.js";
import { APGDTargeted } from "./apgd-targeted.js";
import { Attack, type AttackResult, type BatchContext, type CommonOptions, type RunOptions } from "./attack.js";
import { EotModel, withEot } from "./eot.js";
import { FAB } from "./fab.js";
import { AUTOATTACK_ATTACKS, AUTOATTACK_VERSIONS, checkChoice, checkInteger, checkNumber, invalidOption, type AutoAttackPart, type AutoAttackVersion } from "./options.js";
import { checkClasses, checkOutputRange, checkRandomized, checkSquare, defaultWarningLog, type WarningLog } from "./sanity-checks.js";
import { Square } from "./square.js";

export { AUTOATTACK_ATTACKS, AUTOATTACK_VERSIONS, type AutoAttackPart, type AutoAttackVersion };

/** The sub-attacks each fixed version runs, in order. */
const VERSION_ATTACKS: Record<Exclude<AutoAttackVersion, "custom">, readonly AutoAttackPart[]> = {
  standard: ["apgd-ce", "apgd-t", "fab-t", "square"],
  plus: ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"],
  rand: ["apgd-ce", "apgd-dlr"],
};

export interface AutoAttackOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Which attacks with which settings (default "standard"). */
  version?: AutoAttackVersion;
  /** The sub-attacks of version "custom", in order (required there, refused otherwise). */
  attacks?: readonly AutoAttackPart[];
  /** Seed of every sub-attack's random draws (default 0). */
  seed?: number;
  /** Iterations of APGD, APGD-T and FAB (default 100). */
  steps?: number;
  /** Restarts of APGD-CE, APGD-DLR and FAB (default: 1 in "standard" and "rand", 5 in "plus" and "custom"); APGD-T and FAB-T always run 1 per target. */
  restarts?: number;
  /** Target classes of APGD-T and FAB-T (default 9; at most the model's classes − 1). */
  targetClasses?: number;
  /** Square's queries (default 5000). */
  queries?: number;
  /** Square's initial fraction of pixels per square (default 0.8). */
  pInit?: number;
  /** APGD's step-halving threshold (default 0.75). */
  rho?: number;
  /** Draws each APGD gradient averages over (default 20 in "rand", else 1; ignored for an EotModel). */
  eotIter?: number;
  /** Where warnings go (default `process.emitWarning`); they are also kept in `warnings`. */
  log?: WarningLog;
}

export interface ResolvedAutoAttackOptions {
  eps: number;
  version: AutoAttackVersion;
  attacks: readonly AutoAttackPart[];
  seed: number;
  steps: number;
  restarts: number;
  targetClasses: number;
  queries: number;
  pInit: number;
  rho: number;
  eotIter: number;
}

const KEYS = ["eps", "version", "attacks", "seed", "steps", "restarts", "targetClasses", "queries", "pInit", "rho", "eotIter", "log"] as const;

export class AutoAttack extends Attack<ResolvedAutoAttackOptions> {
  readonly name = "autoattack";
  readonly #log: WarningLog;
  readonly #parts: { name: AutoAttackPart; attack: Attack<object> }[];
  #warnings: string[] = [];
  #robust: Record<string, number> = {};
  #checked = false;

  constructor(model: LogitsModel, options: AutoAttackOptions = {}) {
    const version = checkChoice("version", options.version ?? "standard", AUTOATTACK_VERSIONS);
    const resolved: ResolvedAutoAttackOptions = {
      eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1),
      version,
      attacks: resolveAttacks(version, options.attacks),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
      steps: checkInteger("steps", options.steps ?? 100, 1),
      restarts: checkInteger("restarts", options.restarts ?? (version === "standard" || version === "rand" ? 1 : 5), 1),
      targetClasses: checkInteger("targetClasses", options.targetClasses ?? 9, 1),
      queries: checkInteger("queries", options.queries ?? 5000, 1),
      pInit: checkNumber("pInit", options.pInit ?? 0.8, 0, 1, false),
      rho: checkNumber("rho", options.rho ?? 0.75, 0, 1),
      eotIter: checkInteger("eotIter", options.eotIter ?? (version === "rand" ? 20 : 1), 1),
    };
    if (options.log !== undefined && typeof options.log !== "function") throw invalidOption("log", "a function taking a message", options.log);
    const { log: _log, ...rest } = options;
    super(model, { ...rest, ...resolved }, KEYS, options);
    this.#log = options.log ?? defaultWarningLog;
    this.#parts = resolved.attacks.map((name) => ({ name, attack: this.#build(name) }));
  }

  /** The warnings of the last {@link run}, in the order they were raised. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Points still robust after each stage of the last {@link run}: "clean", then each sub-attack in order. */
  get robustCounts(): Readonly<Record<string, number>> {
    return this.#robust;
  }

  /** As {@link Attack.run}, untargeted only; resets and then fills {@link warnings} and {@link robustCounts}. */
  override run(x: Tensor, y: Tensor, options: RunOptions = {}): AttackResult {
    if (options.target !== undefined || options.goal?.kind === "targeted") {
      throw new TypeError("autoattack: expected an untargeted goal; AutoAttack measures untargeted robustness (its APGD-T and FAB-T choose their own target classes)");
    }
    this.#warnings = [];
    this.#robust = Object.fromEntries(["clean", ...this.options.attacks].map((k) => [k, 0]));
    this.#checked = false;
    const result = super.run(x, y, options);
    const square = checkSquare(this.#robust, x.size(0));
    if (square) this.#warn(square);
    return result;
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, sampleIds } = ctx;
    if (!this.#checked) {
      this.#checked = true;
      this.#sanityChecks(x, y);
    }
    const labels = y.toArray();
    const robust = tidy(() => this.logits(x).argmax(1).eq(y).toArray().map(Boolean));
    this.#robust.clean += robust.filter(Boolean).length;
    // perturb runs inside the caller's scope: `adversarial` is returned, the rest freed with it.
    const adversarial = x.clone();
    for (const part of this.#parts) {
      const rows = robust.flatMap((r, i) => (r ? [i] : []));
      if (rows.length > 0) {
        tidy(() => {
          const index = indexTensor(rows, x);
          const r = part.attack.run(x.indexSelect(0, index), y.indexSelect(0, index), { sampleIds: rows.map((i) => sampleIds[i]) });
          // Broken: the model's prediction on the sub-attack's output is not the label (one fresh forward, as the reference).
          const broken = r.predictions.flatMap((p, j) => (p !== labels[rows[j]] ? [j] : []));
          if (broken.length === 0) return;
          adversarial.indexPut_([indexTensor(broken.map((j) => rows[j]), x)], r.adversarial.indexSelect(0, indexTensor(broken, x)));
          for (const j of broken) robust[rows[j]] = false;
        });
      }
      this.#robust[part.name] += robust.filter(Boolean).length;
    }
    return adversarial;
  }

  #sanityChecks(x: Tensor, y: Tensor): void {
    if (this.options.version !== "rand") {
      const random = checkRandomized(this.model, x, y);
      if (random) this.#warn(random);
    }
    const { classes, warning } = checkOutputRange(this.model, x);
    if (warning) this.#warn(warning);
    checkClasses(classes, this.options.attacks, { "apgd-t": this.options.targetClasses, "fab-t": this.options.targetClasses });
  }

  #warn(message: string): void {
    const text = `autoattack: ${message}`;
    this.#warnings.push(text);
    this.#log(text);
  }

  /** One sub-attack with the reference's settings for this version. */
  #build(name: AutoAttackPart): Attack<object> {
    const o = this.options;
    const common = { eps: o.eps, seed: o.seed, batchSize: this.batchSize };
    const log = (message: string) => this.#warn(message);
    const gradientModel = o.eotIter > 1 && !(this.model instanceof EotModel) ? withEot(this.model, o.eotIter) : this.model;
    switch (name) {
      case "apgd-ce":
      case "apgd-dlr":
        return new APGD(gradientModel, { ...common, steps: o.steps, restarts: o.restarts, rho: o.rho, loss: name === "apgd-ce" ? "ce" : "dlr", log });
      case "apgd-t":
        return new APGDTargeted(gradientModel, { ...common, steps: o.steps, restarts: 1, rho: o.rho, targetClasses: o.targetClasses, log });
      case "fab":
        return new FAB(this.model, { ...common, steps: o.steps, restarts: o.restarts });
      case "fab-t":
        return new FAB(this.model, { ...common, steps: o.steps, restarts: 1, targeted: true, targetClasses: o.targetClasses });
      case "square":
        return new Square(this.model, { ...common, queries: o.queries, pInit: o.pInit, restarts: 1 });
    }
  }
}

function resolveAttacks(version: AutoAttackVersion, attacks: readonly unknown[] | undefined): readonly AutoAttackPart[] {
  if (version !== "custom") {
    if (attacks !== undefined) {
      throw new TypeError(`attacks: only version "custom" takes a list of attacks (version "${version}" runs ${VERSION_ATTACKS[version].join(", ")})`);
    }
    return VERSION_ATTACKS[version];
  }
  if (!Array.isArray(attacks) || attacks.length === 0) {
    throw invalidOption("attacks", `a non-empty list of ${AUTOATTACK_ATTACKS.map((a) => JSON.stringify(a)).join(", ")} for version "custom"`, attacks);
  }
  const list = attacks.map((a, i) => checkChoice(`attacks[${i}]`, a, AUTOATTACK_ATTACKS));
  const twice = list.find((a, i) => list.indexOf(a) !== i);
  if (twice) throw new TypeError(`attacks: ${JSON.stringify(twice)} is listed twice`);
  return Object.freeze(list);
}
