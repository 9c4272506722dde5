/** Command-line flags derived from the option schemas: names, parsing, checks and help. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command } from "commander";
import { addAttackOptions, attackOptionsFrom } from "../../src/cli/attack-options.js";
import { FR_FLAGS, ID_FLAGS, TRAIN_ATTACK_FLAGS } from "../../src/cli/defend.js";
import { epsilon, positiveInt } from "../../src/cli/parse.js";
import { addSchemaOptions, expectation, schemaValuesFrom } from "../../src/cli/schema-options.js";
import { FrConfigSchema, IdConfigSchema } from "../../src/defenses/idfr/config.js";
import { AttackSettingsSchema } from "../../src/attacks/options.js";

/** A throwaway command whose parse errors throw instead of exiting. */
function command(add: (cmd: Command) => Command): Command {
  return add(new Command("t").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
}

describe("flags from schemas", () => {
  it("ID and FR flags parse into config overrides, with only the flags given", () => {
    const cmd = command((c) => addSchemaOptions(addSchemaOptions(c, IdConfigSchema, ID_FLAGS), FrConfigSchema, FR_FLAGS));
    cmd.parse(["--id-epochs", "3", "--train-eps", "4/255,8/255", "--id-loss", "feature-l1", "--sigma", "0.2", "--rounds", "2", "--fr-sigma", "0.05", "--pairing", "pooled"], { from: "user" });
    const flags = cmd.opts();
    assert.deepEqual(schemaValuesFrom(flags, IdConfigSchema, ID_FLAGS), { epochs: 3, trainEps: [4 / 255, 8 / 255], idLoss: "feature-l1", sigma: 0.2, gaussianRounds: 2 });
    assert.deepEqual(schemaValuesFrom(flags, FrConfigSchema, FR_FLAGS), { sigma: 0.05, pairing: "pooled" });
  });
  it("the training attack's settings are --attack-* flags beside --attack", () => {
    const cmd = command((c) => addSchemaOptions(addSchemaOptions(c, IdConfigSchema, ID_FLAGS), AttackSettingsSchema, TRAIN_ATTACK_FLAGS));
    const flags = cmd.parse(["--attack", "pgd", "--attack-steps", "5", "--attack-random-start", "--preset", "standard-20"], { from: "user" }).opts();
    assert.deepEqual(schemaValuesFrom(flags, IdConfigSchema, ID_FLAGS), { attack: "pgd", preset: "standard-20" });
    assert.deepEqual(schemaValuesFrom(flags, AttackSettingsSchema, TRAIN_ATTACK_FLAGS), { steps: 5, randomStart: true });
    assert.equal(IdConfigSchema.parse({ attack: "pgd", attackOptions: { steps: 5 } }).attackOptions.steps, 5);
  });
  it("bad values fail with what was expected and what came", () => {
    const cmd = () => command((c) => addSchemaOptions(c, IdConfigSchema, ID_FLAGS));
    assert.throws(() => cmd().parse(["--id-epochs", "0"], { from: "user" }), /expected a positive integer, got "0"/);
    assert.throws(() => cmd().parse(["--id-lr", "fast"], { from: "user" }), /expected a positive number, got "fast"/);
    assert.throws(() => cmd().parse(["--train-eps", "4/255,lots"], { from: "user" }), /expected a comma-separated list of radii such as 4\/255,8\/255, got "4\/255,lots"/);
    assert.throws(() => cmd().parse(["--id-variant", "mine"], { from: "user" }), /Allowed choices are paper, reference-code/);
    assert.equal(expectation(AttackSettingsSchema.shape.stepSize), "a number in (0, 1]");
    assert.equal(expectation(AttackSettingsSchema.shape.rho), "a number in [0, 1]");
  });
  it("help lists every setting with its default", () => {
    const help = command((c) => addSchemaOptions(c, FrConfigSchema, FR_FLAGS)).helpInformation();
    for (const flag of ["--fr-epochs <n>", "--fr-lr <x>", "--fr-batch-size <n>", "--pairing <name>", "--fr-gaussian-rounds <n>", "--fr-sigma <x>"]) assert.ok(help.includes(flag), flag);
    assert.match(help.replace(/\s+/g, " "), /--fr-sigma <x> std of the FR's Gaussian augmentation on the \[0, 1\] scale \(default: 0\.1\)/);
  });
  it("every attack setting is a flag, checked against what the attack takes", () => {
    const parse = (args: string[]) => command(addAttackOptions).parse(args, { from: "user" }).opts();
    assert.deepEqual(attackOptionsFrom(parse(["--steps", "20", "--step-size", "0.01", "--random-start"]), "pgd"), { steps: 20, stepSize: 0.01, randomStart: true });
    assert.deepEqual(attackOptionsFrom(parse(["--no-random-start"]), "pgd"), { randomStart: false });
    assert.deepEqual(attackOptionsFrom(parse(["--restarts", "3", "--rho", "0.5"]), "apgd-ce"), { restarts: 3, rho: 0.5 });
    assert.deepEqual(attackOptionsFrom(parse([]), "bim"), {});
    assert.throws(() => attackOptionsFrom(parse(["--random-start"]), "bim"), /^TypeError: flags: bim does not take randomStart \(it takes steps, stepSize\)$/);
    assert.throws(() => parse(["--steps", "0"]), /expected a positive integer, got "0"/);
  });
  it("the shared parsers use the one radius parser and the core checks", () => {
    assert.equal(epsilon("8/255"), 8 / 255);
    assert.throws(() => epsilon("2"), /expected a number in \[0, 1\], got "2"/);
    assert.throws(() => positiveInt("0"), /expected a positive integer, got "0"/);
    assert.throws(() => positiveInt(""), /expected a positive integer, got ""/);
  });
});
