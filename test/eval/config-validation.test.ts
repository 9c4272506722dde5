/** Experiment configs checked by their schema: cross-references, folder names, registered names, attack settings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseExperiment, type ExperimentInput } from "../../src/eval/index.js";

const base: ExperimentInput = {
  name: "check",
  dataset: { name: "mnist" },
  targets: [{ arch: "small-cnn", surrogate: { arch: "small-cnn", seed: 1 } }],
  defenses: ["none", "jpeg-q50"],
  attacks: ["fgsm", "bim"],
  eps: ["8/255"],
  threats: ["transfer", "adaptive"],
};

function problems(input: unknown): string {
  try {
    parseExperiment(input, "c.json");
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail("the config was accepted");
}

describe("experiment config validation", () => {
  it("accepts the base config", () => {
    assert.equal(parseExperiment(base).version, 1);
  });
  it("refuses adaptive.defenses naming a defense that is not among defenses", () => {
    assert.match(problems({ ...base, adaptive: { defenses: ["none", "id+fr"] } }),
      /adaptive\.defenses\.1: "id\+fr" is not among defenses \(none, jpeg-q50\)/);
    assert.match(problems({ ...base, adaptive: { defenses: ["magic"] } }), /adaptive\.defenses: unknown defense "magic"; known: none, fast-at, /);
  });
  it("refuses a name that is not a plain folder name", () => {
    for (const name of ["../../..", "a/b", "..", ".hidden", "a\\b", ""]) {
      assert.match(problems({ ...base, name }), /name: /, JSON.stringify(name));
    }
    assert.match(problems({ ...base, name: "../../.." }), /name: expected a plain folder name .* got "\.\.\/\.\.\/\.\."/);
    assert.equal(parseExperiment({ ...base, name: "paper-cifar10_v2.1" }).name, "paper-cifar10_v2.1");
  });
  it("lists the known names for an unknown defense or attack", () => {
    assert.match(problems({ ...base, defenses: ["none", "jpeg"] }), /defenses: unknown defense "jpeg"; known: none, fast-at, feature-squeezing, jpeg-q25, jpeg-q50, jpeg-q75, tvm, .*id, id\+fr/);
    assert.match(problems({ ...base, attacks: ["fgsm", "deepfool"] }), /attacks\.1: Invalid option: expected one of "fgsm"\|"bim"\|"pgd"\|"cw"\|"cw-l2"\|"pgd-l2"\|"apgd-ce"\|"apgd-dlr"/);
  });
  it("takes attack settings that some listed attack takes, and refuses the rest", () => {
    const c = parseExperiment({ ...base, attackOptions: { steps: 40 }, adaptive: { attacks: ["pgd"], preset: "standard-20", attackOptions: { randomStart: false } } });
    assert.equal(c.attackOptions.steps, 40);
    assert.equal(c.adaptive.preset, "standard-20");
    assert.match(problems({ ...base, attackOptions: { restarts: 2 } }), /attackOptions\.restarts: none of the attacks \(fgsm, bim\) takes restarts/);
    assert.match(problems({ ...base, attackOptions: { steps: 0 } }), /attackOptions\.steps: Too small/);
    assert.match(problems({ ...base, attackOptions: { stepsize: 0.1 } }), /attackOptions: Unrecognized key: "stepsize"/);
  });
  it("checks the idfr section against the ID and FR schemas, FR sigma included", () => {
    const c = parseExperiment({ ...base, idfr: { id: { epochs: 3 }, fr: { sigma: 0.2 } } });
    assert.deepEqual(c.idfr.id, { epochs: 3 }, "only what the config gives: defaults stay with the trainer");
    assert.equal(c.idfr.fr.sigma, 0.2);
    assert.match(problems({ ...base, idfr: { id: { epochs: 0 } } }), /idfr\.id\.epochs: Too small/);
    assert.match(problems({ ...base, idfr: { fr: { sigma: -1 } } }), /idfr\.fr\.sigma: Too small/);
  });
});
