/** `idfr convert`: PyTorch and NumPy weight files to safetensors, names and values exact, ComDefend's layout mapped. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command } from "commander";
import { registerConvertCommand } from "../../src/cli/convert.js";
import { loadNrpPurifier } from "../../src/defenses/nrp/index.js";
import { loadSafetensors, noGrad, tensor } from "../../src/torch/index.js";
import { assertMatchesExpected, EXPECTED, WEIGHTS } from "../torch/weights-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "idfr-convert-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function idfr(...args: string[]): Promise<string> {
  let printed = "";
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerConvertCommand(program, { write: (s: string) => (printed += s) });
  await program.parseAsync(["node", "idfr", ...args]);
  return printed;
}

function load(path: string) {
  return loadSafetensors(path);
}

describe("idfr convert", () => {
  it("writes every tensor of a state dict, printing name, shape and dtype", async () => {
    const out = join(dir, "sd.safetensors");
    const printed = await idfr("convert", join(WEIGHTS, "state_dict.pth"), out);
    assert.match(printed, /^conv\.weight +\[3, 2, 2, 2\] +float32$/m);
    assert.match(printed, /^half +\[5\] +float32 \(from float16\)$/m);
    assert.match(printed, /^transposed +\[4, 3\] +float32$/m);
    assert.match(printed, /^mask +\[4\] +bool$/m);
    assert.match(printed, /wrote 13 tensors from .*state_dict\.pth \(pth-zip\) to /);
    const { tensors, metadata } = load(out);
    assertMatchesExpected("state_dict.pth", tensors);
    assert.equal(metadata.sourceFormat, "pth-zip");
    tensors.forEach((t) => t.dispose());
  });

  it("takes a subtree with --key and strips DataParallel's prefix", async () => {
    const out = join(dir, "nested.safetensors");
    const printed = await idfr("convert", join(WEIGHTS, "nested.pth"), out, "--key", "state_dict", "--strip-prefix", "module.");
    const { tensors, metadata } = load(out);
    assert.deepEqual([...tensors.keys()].sort(), ["0.bias", "0.weight", "2.bias", "2.weight"]);
    const renamed = new Map([...tensors].map(([k, t]) => [`state_dict.module.${k}`, t]));
    assertMatchesExpected("nested.pth", renamed, Object.keys(EXPECTED["nested.pth"]).filter((k) => k.startsWith("state_dict.")));
    assert.deepEqual(JSON.parse(metadata.checkpoint), { epoch: "7", best_acc: "0.5", arch: "tiny" });
    assert.match(printed, /wrote 4 tensors/);
    tensors.forEach((t) => t.dispose());
    await assert.rejects(idfr("convert", join(WEIGHTS, "nested.pth"), out, "--key", "model"), /--key model: no tensors under this key; the file's top-level keys are state_dict, params/);
  });

  it("names a bare saved tensor after its file", async () => {
    const out = join(dir, "bare.safetensors");
    assert.match(await idfr("convert", join(WEIGHTS, "bare_tensor.pth"), out), /^bare_tensor +\[3\] +float32$/m);
    const { tensors } = load(out);
    assert.deepEqual(tensors.get("bare_tensor")!.toArray(), [0, 0.5, 1]);
    tensors.forEach((t) => t.dispose());
  });

  it("converts NumPy files: a legacy checkpoint, .npz, ComDefend's object array", async () => {
    for (const [file, names] of [["legacy.pth", undefined], ["compressed.npz", undefined], ["comdefend.npy", undefined]] as const) {
      const out = join(dir, `${file}.safetensors`);
      await idfr("convert", join(WEIGHTS, file), out);
      const { tensors } = load(out);
      assertMatchesExpected(file === "legacy.pth" ? "state_dict.pth" : file, tensors, names);
      tensors.forEach((t) => t.dispose());
    }
  });

  it("--as comdefend maps the authors' HWIO lists onto ComCNN and RecCNN (OIHW)", async () => {
    const out = join(dir, "comdefend.safetensors");
    const printed = await idfr("convert", join(WEIGHTS, "comdefend_enc.npy"), out, "--as", "comdefend", "--decoder", join(WEIGHTS, "comdefend_dec.npy"));
    assert.match(printed, /^com\.features\.0\.weight +\[32, 1, 3, 3\] +float32$/m);
    assert.match(printed, /^rec\.features\.16\.weight +\[1, 32, 3, 3\] +float32$/m);
    const { tensors } = load(out);
    assert.equal(tensors.size, 36);
    // make_weights.py's pattern: array k, flat HWIO index j -> ((j + 17 k) % 251 - 125) / 128
    const pattern = (j: number, k: number) => Math.fround((((j + 17 * k) % 251) - 125) / 128);
    for (const [net, k, layer] of [["com", 4, 4], ["rec", 16, 16], ["com", 0, 0]] as const) {
      const w = tensors.get(`${net}.features.${layer}.weight`)!;
      const [o, i, kh, kw] = w.shape;
      const got = w.toTypedArray() as Float32Array;
      for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
        const hwio = ((y * kw + x) * i + b) * o + a;
        const v = got[((a * i + b) * kh + y) * kw + x];
        if (v !== pattern(hwio, k)) assert.fail(`${net} layer ${layer} [${a},${b},${y},${x}]: ${v} != ${pattern(hwio, k)}`);
      }
      const bias = tensors.get(`${net}.features.${layer}.bias`)!.toTypedArray() as Float32Array;
      assert.deepEqual(Array.from(bias), Array.from({ length: o }, (_, j) => pattern(j, k + 1)));
    }
    tensors.forEach((t) => t.dispose());
    // The encoder alone: ComCNN's keys only, told by its first kernel's input channels.
    const encOnly = join(dir, "enc.safetensors");
    await idfr("convert", join(WEIGHTS, "comdefend_dec.npy"), encOnly, "--as", "comdefend");
    const rec = load(encOnly).tensors;
    assert.ok([...rec.keys()].every((k) => k.startsWith("rec.")) && rec.size === 18);
    rec.forEach((t) => t.dispose());
    await assert.rejects(idfr("convert", join(WEIGHTS, "comdefend.npy"), join(dir, "x.safetensors"), "--as", "comdefend"), /expected 18 arrays/);
  });

  it("--as soap renames the SOAP authors' keys to idfr's SOAP model", async () => {
    const expected: Record<string, string[]> = {
      "soap_rot.pth": ["encoder.conv1.weight", "encoder.layer1.0.conv1.weight", "head.weight", "rotHead.weight"],
      "soap_cae.pth": ["encoder.conv1.weight", "encoder.fc1.weight", "head.weight", "decoder.fc2.weight", "decoder.conv3.weight", "decoder.conv4.bias"],
    };
    for (const [file, names] of Object.entries(expected)) {
      const out = join(dir, `${file}.safetensors`);
      await idfr("convert", join(WEIGHTS, file), out, "--as", "soap");
      const { tensors } = load(out);
      // make_weights.py fills the i-th key's tensor with i: the renamed keys keep their tensors.
      assert.deepEqual(names.map((n) => tensors.get(n)?.toArray()[0]), names.map((_, i) => i));
      tensors.forEach((t) => t.dispose());
    }
    await assert.rejects(idfr("convert", join(WEIGHTS, "nested.pth"), join(dir, "z.safetensors"), "--as", "soap"), /--as soap expects the authors' ResNet/);
  });

  it("--as nrp makes a purifier folder from the authors' state dicts whose outputs equal PyTorch's", async () => {
    const ref = JSON.parse(readFileSync(join(WEIGHTS, "nrp_outputs.json"), "utf8")) as Record<string, { arch?: string; nf: number; nb: number; gc?: number; parameters: number; output: number[]; shape: number[]; values: number[] }>;
    const x = tensor(Float32Array.from(ref.input.values), ref.input.shape);
    for (const name of ["nrp_small", "nrp_resg_small"]) {
      const folder = join(dir, name);
      await idfr("convert", join(WEIGHTS, `${name}.pth`), folder, "--as", "nrp");
      const { purifier, manifest } = loadNrpPurifier(folder);
      const want = ref[name];
      assert.equal(manifest.arch, want.arch);
      assert.deepEqual([manifest.sizes.channels, manifest.sizes.nf, manifest.sizes.nb], [3, want.nf, want.nb]);
      if (want.gc !== undefined) assert.equal(manifest.sizes.gc, want.gc);
      assert.equal(purifier.parameterCount(), want.parameters);
      const y = noGrad(() => purifier.forward(x));
      const diff = y.sub(tensor(Float32Array.from(want.output), y.shape)).abs().max().item();
      assert.ok(diff < 1e-5, `${name}: max difference to PyTorch ${diff}`);
      y.dispose();
    }
    x.dispose();
    await assert.rejects(idfr("convert", join(WEIGHTS, "state_dict.pth"), join(dir, "not-nrp"), "--as", "nrp"), /expected an NRP purifier state dict with conv_first\.weight/);
  });

  it("fails clearly on a truncated zip, an os.system pickle, and skips unknown objects on request", async () => {
    const cut = join(dir, "cut.pth");
    writeFileSync(cut, readFileSync(join(WEIGHTS, "state_dict.pth")).subarray(0, 1500));
    await assert.rejects(idfr("convert", cut, join(dir, "y.safetensors")), /cut\.pth: cannot read the zip archive: .*truncated/);
    await assert.rejects(idfr("convert", join(WEIGHTS, "evil.pth"), join(dir, "y.safetensors")), /unsupported pickle global (posix|os)\.system/);
    await assert.rejects(idfr("convert", join(WEIGHTS, "namespace.pth"), join(dir, "y.safetensors")), /argparse\.Namespace.*--skip-unsupported/);
    const printed = await idfr("convert", join(WEIGHTS, "namespace.pth"), join(dir, "ns.safetensors"), "--skip-unsupported");
    assert.match(printed, /^left out args: argparse\.Namespace object \(not read\)$/m);
    assert.match(printed, /wrote 1 tensors/);
  });
});
