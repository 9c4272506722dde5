/**
 * Learning-rate schedules as closed-form functions of the step count. Call `step()` once per
 * epoch (or per batch for OneCycle/Cyclic); it sets `optimizer.lr`.
 */
import { checkNumber, type Optimizer } from "./optimizer.js";

export abstract class LRScheduler {
  /** Steps taken so far (0 before the first `step()`). */
  lastStep = 0;
  readonly baseLr: number;
  constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
  }
  /** The learning rate after `step` scheduler steps. */
  abstract lrAt(step: number): number;
  step(): number {
    this.lastStep += 1;
    this.optimizer.lr = this.lrAt(this.lastStep);
    return this.optimizer.lr;
  }
}

/** lr = base · gamma^floor(step / stepSize) */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer, readonly stepSize: number, readonly gamma = 0.1) {
    super(optimizer);
    checkNumber("stepSize", stepSize, 1);
    optimizer.lr = this.lrAt(0);
  }
  lrAt(step: number): number {
    return this.baseLr * this.gamma ** Math.floor(step / this.stepSize);
  }
}

/** Cosine annealing from base to etaMin over tMax steps (PyTorch's closed form). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer, readonly tMax: number, readonly etaMin = 0) {
    super(optimizer);
    checkNumber("tMax", tMax, 1);
    optimizer.lr = this.lrAt(0);
  }
  lrAt(step: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * Math.min(step, this.tMax)) / this.tMax))) / 2;
  }
}

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  anneal?: "cos" | "linear";
  divFactor?: number;
  finalDivFactor?: number;
}

/** One-cycle policy (Smith 2018): warm up to maxLr, then anneal far below the start (per batch). */
export class OneCycleLR extends LRScheduler {
  readonly o: Required<OneCycleOptions>;
  constructor(optimizer: Optimizer, options: OneCycleOptions) {
    const o = { pctStart: 0.3, anneal: "cos" as const, divFactor: 25, finalDivFactor: 1e4, ...options };
    checkNumber("maxLr", o.maxLr, 0);
    checkNumber("totalSteps", o.totalSteps, 1);
    checkNumber("pctStart", o.pctStart, 0, 1);
    super(optimizer);
    this.o = o;
    optimizer.lr = this.lrAt(0);
  }
  lrAt(step: number): number {
    const { maxLr, totalSteps, pctStart, anneal, divFactor, finalDivFactor } = this.o;
    const initial = maxLr / divFactor;
    const final = initial / finalDivFactor;
    const warm = pctStart * totalSteps - 1;
    const mix = (a: number, b: number, t: number) => (anneal === "cos" ? b + ((a - b) * (1 + Math.cos(Math.PI * t))) / 2 : a + (b - a) * t);
    if (step <= warm) return mix(initial, maxLr, warm > 0 ? step / warm : 1);
    return mix(maxLr, final, Math.min(1, (step - warm) / (totalSteps - 1 - warm)));
  }
}

export interface CyclicOptions {
  baseLr: number;
  maxLr: number;
  stepSizeUp: number;
  stepSizeDown?: number;
}

/**
 * Triangular cyclic schedule (Smith 2017): linear from baseLr up to maxLr in stepSizeUp steps and
 * back down in stepSizeDown. Fast adversarial training (Wong et al. 2020) uses one such cycle
 * over the whole run, from 0 to the peak and back to 0.
 */
export class CyclicLR extends LRScheduler {
  readonly o: Required<CyclicOptions>;
  constructor(optimizer: Optimizer, options: CyclicOptions) {
    const o = { stepSizeDown: options.stepSizeUp, ...options };
    checkNumber("baseLr", o.baseLr, 0);
    checkNumber("maxLr", o.maxLr, 0);
    checkNumber("stepSizeUp", o.stepSizeUp, 0, Infinity, false);
    checkNumber("stepSizeDown", o.stepSizeDown, 0, Infinity, false);
    super(optimizer);
    this.o = o;
    optimizer.lr = this.lrAt(0);
  }
  lrAt(step: number): number {
    const { baseLr, maxLr, stepSizeUp, stepSizeDown } = this.o;
    const cycle = stepSizeUp + stepSizeDown;
    const pos = step % cycle;
    const frac = pos <= stepSizeUp ? pos / stepSizeUp : 1 - (pos - stepSizeUp) / stepSizeDown;
    return baseLr + (maxLr - baseLr) * frac;
  }
}
