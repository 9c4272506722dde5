/**
 * Command-line flags derived from a zod object schema, so commands do not list options by hand:
 * each key becomes a kebab-case flag (`stepSize` -> `--step-size`) with the schema's description,
 * choices for enums, `--x`/`--no-x` for booleans, comma lists for arrays, and a parser that checks
 * the value with the field's own schema ("expected a positive integer, got 0").
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import type { z } from "zod";
import { fieldDefault, showValue, unwrapField } from "../core/validate.js";

/** How a schema's keys map to flags. */
export interface SchemaFlags {
  /** Prepended to every flag and attribute: prefix "fr" gives `--fr-epochs` / `frEpochs`. */
  prefix?: string;
  /** Only these keys (default all). */
  only?: readonly string[];
  /** Leave these keys out. */
  omit?: readonly string[];
  /** Flag names (kebab-case, without dashes) that replace the derived ones, e.g. { gaussianRounds: "rounds" }. */
  rename?: Readonly<Record<string, string>>;
  /** Show the schema's default in the help (the value still comes from the schema, not commander). */
  showDefaults?: boolean;
}

type FieldDef = { type: string; checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[]; element?: z.ZodType; innerType?: z.ZodType };

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A default as a user would type it: radii on the 255 scale as k/255. */
function shownNumber(v: unknown): string {
  if (typeof v !== "number") return String(v);
  const levels = v * 255;
  return Math.abs(levels - Math.round(levels)) < 1e-9 && v > 0 && v < 1 ? `${Math.round(levels)}/255` : String(Number(v.toFixed(6)));
}

/** What a number field expects, in words: "a positive integer", "a number in (0, 1]". */
export function expectation(field: z.ZodType): string {
  const inner = unwrapField(field);
  const def = (inner as unknown as { def: FieldDef }).def;
  if (def.type === "enum") return `one of ${(inner as unknown as { options: string[] }).options.join(", ")}`;
  if (def.type === "boolean") return "true or false";
  if (def.type === "array") {
    const each = expectation(def.element!);
    return each.startsWith("a radius") ? "a comma-separated list of radii such as 4/255,8/255" : `a comma-separated list, each ${each}`;
  }
  if (def.type === "union" || def.type === "pipe") return (inner.meta() as { radius?: boolean } | undefined)?.radius ? "a radius such as 8/255 or 0.031" : "a value";
  if (def.type !== "number") return `a ${def.type}`;
  let integer = false;
  let lo: { value: number; inclusive: boolean } | null = null;
  let hi: { value: number; inclusive: boolean } | null = null;
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === "number_format" && (d.format === "safeint" || d.format === "int32")) integer = true;
    if (d.check === "greater_than") lo = { value: d.value!, inclusive: d.inclusive ?? false };
    if (d.check === "less_than") hi = { value: d.value!, inclusive: d.inclusive ?? false };
  }
  const noun = integer ? "integer" : "number";
  if (lo && !hi) {
    if (lo.value === 0) return lo.inclusive ? `a non-negative ${noun}` : `a positive ${noun}`;
    return `${integer ? "an" : "a"} ${noun} ${lo.inclusive ? ">=" : ">"} ${lo.value}`;
  }
  if (lo && hi) return `${integer ? "an" : "a"} ${noun} in ${lo.inclusive ? "[" : "("}${lo.value}, ${hi.value}${hi.inclusive ? "]" : ")"}`;
  if (hi) return `${integer ? "an" : "a"} ${noun} ${hi.inclusive ? "<=" : "<"} ${hi.value}`;
  return `${integer ? "an" : "a"} ${noun}`;
}

/** Parses one flag value with the field's schema; the error says what was expected and what came. */
export function flagParser(field: z.ZodType): (raw: string) => unknown {
  const inner = unwrapField(field);
  const type = (inner as unknown as { def: FieldDef }).def.type;
  const element = type === "array" ? (inner as unknown as { def: FieldDef }).def.element! : null;
  const candidate = (raw: string, kind: string): unknown => (kind === "number" ? (raw.trim() === "" ? Number.NaN : Number(raw)) : raw);
  return (raw: string) => {
    const value = element ? raw.split(",").map((part) => candidate(part, (unwrapField(element) as unknown as { def: FieldDef }).def.type)) : candidate(raw, type);
    const r = field.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(`expected ${expectation(field)}, got ${showValue(raw)}`);
    return r.data;
  };
}

interface FlagSpec {
  key: string;
  flag: string;
  attribute: string;
  field: z.ZodType;
}

function flagSpecs(schema: z.ZodObject, o: SchemaFlags): FlagSpec[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    // Nested objects have flags of their own (e.g. the training attack's settings as --attack-*).
    .filter(([key, field]) => (!o.only || o.only.includes(key)) && !o.omit?.includes(key) && (unwrapField(field) as unknown as { def: FieldDef }).def.type !== "object")
    .map(([key, field]) => {
      const flag = o.rename?.[key] ?? (o.prefix ? `${o.prefix}-${kebab(key)}` : kebab(key));
      return { key, flag, attribute: camel(flag), field };
    });
}

/** Adds one flag per schema key to `cmd` (see {@link SchemaFlags}); returns `cmd`. */
export function addSchemaOptions(cmd: Command, schema: z.ZodObject, o: SchemaFlags = {}): Command {
  for (const { flag, field } of flagSpecs(schema, o)) {
    const inner = unwrapField(field);
    const type = (inner as unknown as { def: FieldDef }).def.type;
    const help = field.description ?? inner.description ?? "";
    const shownDefault = o.showDefaults ? fieldDefault(field) : undefined;
    const suffix = shownDefault === undefined ? "" : ` (default: ${Array.isArray(shownDefault) ? shownDefault.map(shownNumber).join(",") : String(shownDefault)})`;
    if (type === "boolean") {
      cmd.addOption(new Option(`--${flag}`, `${help}${suffix}`));
      cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`));
      continue;
    }
    const placeholder = type === "array" ? "<list>" : type === "number" && expectation(field).includes("integer") ? "<n>" : type === "enum" ? "<name>" : "<x>";
    const option = new Option(`--${flag} ${placeholder}`, `${help}${suffix}`);
    if (type === "enum") option.choices((inner as unknown as { options: string[] }).options);
    else option.argParser(flagParser(field));
    cmd.addOption(option);
  }
  return cmd;
}

/**
 * The values of the flags that {@link addSchemaOptions} added, keyed by the schema's keys; flags
 * left out are absent (so they do not override defaults or presets).
 */
export function schemaValuesFrom<S extends z.ZodObject>(flags: Record<string, unknown>, schema: S, o: SchemaFlags = {}): Partial<z.output<S>> {
  const out: Record<string, unknown> = {};
  for (const { key, attribute } of flagSpecs(schema, o)) {
    if (flags[attribute] !== undefined) out[key] = flags[attribute];
  }
  return out as Partial<z.output<S>>;
}
