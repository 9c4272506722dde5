/** Option parsers shared by the CLI commands; each error names the option and what was expected. */
import { InvalidArgumentError } from "commander";

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

/** An l_inf radius on the [0, 1] scale: "8/255" or "0.031". */
export function epsilon(value: string): number {
  const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(value);
  const n = m ? Number(m[1]) / Number(m[2]) : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a radius in [0, 1] such as 8/255 or 0.031, got ${JSON.stringify(value)}`);
  return n;
}

/** A comma-separated list of radii: "4/255,8/255,16/255". */
export function epsilonList(value: string): number[] {
  return value.split(",").map((v) => epsilon(v));
}
