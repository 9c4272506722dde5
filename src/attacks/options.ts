/**
 * Option checks shared by the attacks. Errors name the option and show the value received, so a
 * typo in a config file points at itself: `eps: expected a number in [0, 1], got -1`.
 */

/** An option that fails its check: a RangeError (or TypeError for the wrong type) naming it. */
export function invalidOption(name: string, expected: string, got: unknown): Error {
  const shown = typeof got === "string" ? JSON.stringify(got) : typeof got === "number" || typeof got === "boolean" ? String(got) : got === undefined ? "undefined" : got === null ? "null" : Array.isArray(got) ? "an array" : `a value of type ${typeof got}`;
  const message = `${name}: expected ${expected}, got ${shown}`;
  return typeof got === "number" ? new RangeError(message) : new TypeError(message);
}

/** A finite number in [min, max]. */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? "a finite number" : max === Infinity ? `a number >= ${min}` : min === -Infinity ? `a number <= ${max}` : `a number in [${min}, ${max}]`;
    throw invalidOption(name, range, value);
  }
  return value;
}

/** A number > 0 (and <= max). */
export function checkPositive(name: string, value: unknown, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw invalidOption(name, max === Infinity ? "a positive number" : `a number in (0, ${max}]`, value);
  }
  return value;
}

/** An integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? "a positive integer" : `an integer >= ${min}`) : `an integer in [${min}, ${max}]`;
    throw invalidOption(name, range, value);
  }
  return value;
}

/** A boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidOption(name, "true or false", value);
  return value;
}

/** One of a fixed list of strings. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw invalidOption(name, `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
  }
  return value as T;
}

/** Rejects option keys an attack does not know (a misspelt `stepsize` would otherwise be ignored silently). */
export function checkKnownKeys(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] !== undefined && !known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
}

/**
 * Parses a perturbation budget written as a fraction (`8/255`) or a decimal (`0.031`), as the
 * command line and config files accept it. The result must lie in [0, max] (default [0, 1], the
 * l_inf range; pass Infinity for L2 budgets).
 */
export function parseEps(text: string, name = "eps", max = 1): number {
  const trimmed = text.trim();
  const fraction = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(trimmed);
  let value: number;
  if (fraction) value = Number(fraction[1]) / Number(fraction[2]);
  else if (/^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(trimmed)) value = Number(trimmed);
  else throw invalidOption(name, "a number such as 0.031 or a fraction such as 8/255", text);
  if (!Number.isFinite(value) || value < 0 || value > max) throw invalidOption(name, max === Infinity ? "a finite number >= 0" : `a number in [0, ${max}]`, text);
  return value;
}
