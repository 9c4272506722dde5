/**
 * The attack settings as flags (`--steps`, `--step-size`, `--random-start`, `--restarts`, ...),
 * derived from the attacks' schema, for every command that runs an attack.
 */
import type { Command } from "commander";
import { attackSettingsFor, AttackSettingsSchema, type AttackName, type AttackSettings } from "../attacks/index.js";
import { addSchemaOptions, schemaValuesFrom, type SchemaFlags } from "./schema-options.js";

/** The attack commands give their own --seed; every other setting gets a flag. */
const FLAGS: SchemaFlags = { omit: ["seed"] };

/** Adds the attack-settings flags to `cmd`; returns `cmd`. */
export function addAttackOptions(cmd: Command): Command {
  return addSchemaOptions(cmd, AttackSettingsSchema, FLAGS);
}

/**
 * The settings given on the command line for attack `name`, checked against what it takes
 * (`--random-start` with `--attack bim` is an error naming both).
 */
export function attackOptionsFrom(flags: Record<string, unknown>, name: AttackName): AttackSettings {
  return attackSettingsFor(name, schemaValuesFrom(flags, AttackSettingsSchema, FLAGS), "flags");
}
