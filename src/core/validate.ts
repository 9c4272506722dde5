/**
 * The one place that checks user-given values: option checks for code (`checkInteger("steps", 0, 1)`
 * throws "steps: expected a positive integer, got 0"), the one parser of radii written as "8/255",
 * and the bridge from zod schemas (configs, manifests, CLI flags) to the same messages. Errors name
 * the option and show the value received, so a typo in a config file points at itself.
 */
import { z } from "zod";

/** How a received value is shown in a message: strings quoted, numbers as written, objects by kind. */
export function showValue(got: unknown): string {
  if (typeof got === "string") return JSON.stringify(got);
  if (typeof got === "number" || typeof got === "boolean" || typeof got === "bigint") return String(got);
  if (got === undefined) return "undefined";
  if (got === null) return "null";
  if (Array.isArray(got)) return "an array";
  return `a value of type ${typeof got}`;
}

/** An option that fails its check: a RangeError for a number out of range, else a TypeError. */
export function invalidParam(name: string, expected: string, got: unknown): Error {
  const message = `${name}: expected ${expected}, got ${showValue(got)}`;
  return typeof got === "number" ? new RangeError(message) : new TypeError(message);
}

/** A finite number in [min, max] (in (min, max] when `minInclusive` is false). */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity, minInclusive = true): number {
  if (typeof value !== "number" || !Number.isFinite(value) || (minInclusive ? value < min : value <= min) || value > max) {
    const low = minInclusive ? ">=" : ">";
    const range = min === -Infinity && max === Infinity ? "a finite number" : max === Infinity ? `a number ${low} ${min}` : min === -Infinity ? `a number <= ${max}` : `a number in ${minInclusive ? "[" : "("}${min}, ${max}]`;
    throw invalidParam(name, range, value);
  }
  return value;
}

/** A number > 0 (and <= max). */
export function checkPositive(name: string, value: unknown, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw invalidParam(name, max === Infinity ? "a positive number" : `a number in (0, ${max}]`, value);
  }
  return value;
}

/** An integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? "a positive integer" : `an integer >= ${min}`) : `an integer in [${min}, ${max}]`;
    throw invalidParam(name, range, value);
  }
  return value;
}

/** A boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidParam(name, "true or false", value);
  return value;
}

/** One of a fixed list of strings. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw invalidParam(name, `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
  }
  return value as T;
}

/** Rejects option keys a consumer does not know (a misspelt `stepsize` would otherwise be ignored silently). */
export function checkKnownKeys(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] !== undefined && !known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
}

/** An unknown name among registered ones: the message lists what is known. */
export function unknownName(what: string, name: string, known: readonly string[]): TypeError {
  return new TypeError(`${what}: unknown ${what.replace(/s$/, "").replace(/.*\./, "")} ${JSON.stringify(name)}; known: ${known.join(", ")}`);
}

/**
 * Parses a perturbation radius written as a fraction (`8/255`) or a decimal (`0.031`), as the
 * command line and config files accept it; numbers pass through. The result must lie in [0, max]
 * (default [0, 1], the l_inf range; pass Infinity for L2 budgets).
 */
export function parseRadius(input: string | number, name = "eps", max = 1): number {
  let value: number;
  if (typeof input === "number") value = input;
  else {
    const trimmed = input.trim();
    const fraction = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(trimmed);
    if (fraction) value = Number(fraction[1]) / Number(fraction[2]);
    else if (/^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(trimmed)) value = Number(trimmed);
    else throw invalidParam(name, "a number such as 0.031 or a fraction such as 8/255", input);
  }
  if (!Number.isFinite(value) || value < 0 || value > max) throw invalidParam(name, max === Infinity ? "a finite number >= 0" : `a number in [0, ${max}]`, input);
  return value;
}

/** A radius in a schema: a number in [0, max] or a string such as "8/255"; parses to the number. */
export function radiusSchema(max = 1) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    try {
      return parseRadius(v, "radius", max);
    } catch {
      ctx.addIssue({ code: "custom", message: `expected a radius in [0, ${max}] such as 8/255, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
  }).meta({ radius: true });
}

/** One line per problem of a failed parse: "path.to.key: message". */
export function issueLines(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
    return `${path || "(top level)"}: ${i.message}`;
  });
}

/**
 * Parses `value` with `schema`; on failure throws a TypeError whose message names every bad key,
 * prefixed by `what` ("id.epochs: Too small: expected number to be >0").
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = ""): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new TypeError(issueLines(r.error, what).join("; "));
  return r.data;
}

/** The field schema with its optional/default/nullable wrappers removed. */
export function unwrapField(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def: { type: string; innerType?: z.ZodType } };
  while (["optional", "default", "nullable", "prefault", "readonly"].includes(s.def.type) && s.def.innerType) s = s.def.innerType as typeof s;
  return s;
}

/** The default of a field, when it has one. */
export function fieldDefault(schema: z.ZodType): unknown {
  let s = schema as z.ZodType & { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown } };
  while (s.def.innerType) {
    if (s.def.type === "default") {
      const d = s.def.defaultValue;
      return typeof d === "function" ? (d as () => unknown)() : d;
    }
    s = s.def.innerType as typeof s;
  }
  return undefined;
}

/**
 * The same object schema with every default removed and every field optional: the shape of a
 * partial override ("only what differs from the defaults"), which configs and flags give.
 */
export function overridesOf<S extends z.ZodObject>(schema: S): z.ZodObject<{ [K in keyof S["shape"]]: z.ZodOptional<z.ZodType<z.output<S["shape"][K]>, z.input<S["shape"][K]>>> }> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const inner = unwrapField(field);
    const described = field.description ?? inner.description;
    shape[key] = (described ? inner.describe(described) : inner).optional();
  }
  return z.strictObject(shape) as never;
}

/** Drops undefined entries (what a CLI gives for flags left out) so they do not override defaults. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
