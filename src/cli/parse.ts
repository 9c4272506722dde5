/**
 * Option parsers shared by the CLI commands; each error names what was expected and what came.
 * The checks are core/validate.ts's, so the command line, configs and the library say the same.
 */
import { InvalidArgumentError } from "commander";
import { checkInteger, checkNumber, checkPositive, parseRadius } from "../core/validate.js";

/** Runs a core check on a flag's text, turning its error into commander's (which names the flag). */
function flag<T>(value: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^[^:]*: /, "").replace(/, got .*$/s, `, got ${JSON.stringify(value)}`));
  }
}

const num = (value: string) => (value.trim() === "" ? Number.NaN : Number(value));

export const positiveInt = (value: string): number => flag(value, () => checkInteger("value", num(value), 1));
export const nonNegativeInt = (value: string): number => flag(value, () => checkInteger("value", num(value), 0));
export const positiveNumber = (value: string): number => flag(value, () => checkPositive("value", num(value)));
export const nonNegativeNumber = (value: string): number => flag(value, () => checkNumber("value", num(value), 0));

/** An l_inf radius on the [0, 1] scale: "8/255" or "0.031". */
export const epsilon = (value: string): number => flag(value, () => parseRadius(value, "eps"));

/** A comma-separated list of radii: "4/255,8/255,16/255". */
export function epsilonList(value: string): number[] {
  return value.split(",").map((v) => epsilon(v));
}
