import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unzipSync, zipSync } from "fflate";
import { memory } from "../../src/torch/index.js";
import { readPth, readPthTree } from "../../src/torch/pth.js";
import { unpickle, UnsupportedPickleError } from "../../src/torch/pickle.js";
import { assertMatchesExpected, WEIGHTS } from "./weights-fixtures.js";

const dispose = (m: Map<string, { dispose(): void }>) => m.forEach((t) => t.dispose());

describe("PyTorch checkpoints (.pth)", () => {
  it("reads a zip-format state dict exactly: every dtype, a transposed view, an offset slice, shared storage", () => {
    const r = readPth(join(WEIGHTS, "state_dict.pth"));
    assert.equal(r.format, "zip");
    assert.deepEqual([...r.tensors.keys()], ["conv.weight", "conv.bias", "half", "bf16", "double", "steps", "int32", "uint8", "mask", "transposed", "sliced", "base", "scalar"]);
    assertMatchesExpected("state_dict.pth", r.tensors);
    dispose(r.tensors);
  });

  it("reads the legacy (non-zip) format to the same values", () => {
    const r = readPth(join(WEIGHTS, "legacy.pth"));
    assert.equal(r.format, "legacy");
    assertMatchesExpected("state_dict.pth", r.tensors);
    dispose(r.tensors);
  });

  it("flattens nested checkpoints with dotted names and keeps scalars as metadata", () => {
    const r = readPth(join(WEIGHTS, "nested.pth"));
    assertMatchesExpected("nested.pth", r.tensors);
    assert.deepEqual([...r.tensors.keys()].sort(), ["params.0", "state_dict.module.0.bias", "state_dict.module.0.weight", "state_dict.module.2.bias", "state_dict.module.2.weight"]);
    assert.deepEqual(r.metadata, { epoch: "7", best_acc: "0.5", arch: "tiny" });
    dispose(r.tensors);
  });

  it("refuses a pickle that calls os.system, naming the global, and runs nothing", () => {
    assert.throws(() => readPth(join(WEIGHTS, "evil.pth")), (err: Error) => {
      assert.match(err.message, /evil\.pth: unsupported pickle global (posix|os)\.system/);
      return true;
    });
    assert.equal(existsSync("idfr-pickle-was-executed.txt"), false);
    assert.equal(existsSync(join(WEIGHTS, "idfr-pickle-was-executed.txt")), false);
  });

  it("names an unknown object (argparse.Namespace) and, when asked, reads the tensors without it", () => {
    const path = join(WEIGHTS, "namespace.pth");
    assert.throws(() => readPthTree(path), /unsupported pickle global argparse\.Namespace.*--skip-unsupported/);
    const r = readPth(path, { unknown: "opaque" });
    assert.deepEqual([...r.tensors.keys()], ["state_dict.w"]);
    assert.deepEqual(r.tensors.get("state_dict.w")!.toArray(), [1, 2]);
    assert.match(r.skipped.get("args") ?? "", /argparse\.Namespace/);
    dispose(r.tensors);
  });

  it("says a truncated zip is truncated", () => {
    const bytes = readFileSync(join(WEIGHTS, "state_dict.pth"));
    assert.throws(() => readPth(bytes.subarray(0, 2000)), /cannot read the zip archive: .*truncated/);
  });

  it("names a storage shorter than its tensors need, and leaks no tensor on the way", () => {
    const before = memory().numTensors;
    const files = unzipSync(readFileSync(join(WEIGHTS, "state_dict.pth")));
    files["state_dict/data/9"] = files["state_dict/data/9"].subarray(0, 40); // base's 12 floats, cut to 10
    assert.throws(() => readPth(zipSync(files, { level: 0 })), /storage 9: 12 float32 elements need 48 bytes, state_dict\/data\/9 has 40/);
    const r = readPth(join(WEIGHTS, "state_dict.pth"));
    dispose(r.tensors);
    assert.equal(memory().numTensors, before);
  });

  it("rejects files that are not checkpoints with the reason", () => {
    assert.throws(() => readPth(new TextEncoder().encode("hello world")), /not a PyTorch checkpoint/);
    // A plain pickle (no legacy magic number) is not a torch.save file.
    assert.throws(() => readPth(new Uint8Array([0x80, 0x02, 0x4b, 0x05, 0x2e])), /not a torch\.save checkpoint/);
  });
});

describe("unpickle", () => {
  const none = { globals: new Map() };
  it("builds plain values from protocol-2 opcodes", () => {
    // pickle.dumps({"a": (1, -2, 3.5), "b": [True, None, 2**70]}, protocol=2) by CPython
    const bytes = Buffer.from("80027d71002858010000006171014b014afeffffff47400c00000000000087710258010000006271035d710428884e8a0900000000000000004065752e", "hex");
    const v = unpickle(bytes, none).value as Map<string, unknown>;
    assert.deepEqual(v.get("a"), [1, -2, 3.5]);
    assert.deepEqual(v.get("b"), [true, null, 2n ** 70n]);
  });
  it("fails on an unknown global before anything could be called", () => {
    const bytes = new Uint8Array([0x80, 0x02, 0x63, ...new TextEncoder().encode("builtins\neval\n"), 0x2e]);
    assert.throws(() => unpickle(bytes, none), (err: Error) => err instanceof UnsupportedPickleError && /builtins\.eval/.test(err.message));
  });
  it("names the byte of a truncated pickle", () => {
    assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0x58, 9, 0, 0, 0, 0x61]), none), /truncated.*opcode at byte 2/);
  });
});
