import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, tensor } from "../../src/torch/index.js";
import { values } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "idfr-st-"));
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe("safetensors", () => {
  it("writes the byte layout the format specifies", () => {
    const bytes = concat(encodeSafetensors({ b: tensor(new BigInt64Array([7n]), [1]), a: tensor([1, 2], [2]) }));
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}';
    const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
    const expected = Buffer.alloc(8 + padded.length + 16);
    expected.writeBigUInt64LE(BigInt(padded.length), 0);
    expected.write(padded, 8, "utf8");
    expected.writeFloatLE(1, 8 + padded.length);
    expected.writeFloatLE(2, 12 + padded.length);
    expected.writeBigInt64LE(7n, 16 + padded.length);
    assert.deepEqual(bytes, expected);
    assert.equal((8 + padded.length) % 8, 0, "data section starts 8-byte aligned");
  });
  it("round-trips every dtype, shapes and metadata", () => {
    const path = join(dir, "all.safetensors");
    const src = {
      f32: tensor(new Float32Array([1.5, -2, 3, 4]), [2, 2]),
      f64: tensor(new Float64Array([Math.PI]), []),
      i64: tensor(new BigInt64Array([-5n, 2n ** 50n]), [2]),
      i32: tensor(new Int32Array([1, -1]), [2, 1]),
      u8: tensor(new Uint8Array([0, 255]), [2]),
      b: tensor(new Uint8Array([1, 0, 1]), [3], "bool"),
      empty: tensor(new Float32Array(0), [0, 3]),
    };
    saveSafetensors(path, src, { format: "pt", arch: "test" });
    const { tensors, metadata } = loadSafetensors(path);
    assert.deepEqual(metadata, { format: "pt", arch: "test" });
    for (const [k, t] of Object.entries(src)) {
      const back = tensors.get(k)!;
      assert.equal(back.dtype, t.dtype, k);
      assert.deepEqual(back.shape, t.shape, k);
      assert.deepEqual(Array.from(back.toTypedArray() as never), Array.from(t.toTypedArray() as never), k);
    }
  });
  it("writes atomically: no temp file remains and a failed write leaves the old file intact", () => {
    const path = join(dir, "atomic.safetensors");
    saveSafetensors(path, { w: tensor([1]) });
    const before = readFileSync(path);
    assert.throws(() => saveSafetensors(path, { w: tensor([2]), __metadata__: tensor([0]) }), /__metadata__/);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
    assert.deepEqual(values(loadSafetensors(path).tensors.get("w")!), [1]);
  });
  it("rejects corrupt files with the file and the problem named", () => {
    const good = concat(encodeSafetensors({ w: tensor([1, 2, 3]) }));
    const write = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    assert.throws(() => loadSafetensors(write("short.st", good.subarray(0, 5))), /short\.st.*shorter than the 8-byte header/);
    assert.throws(() => loadSafetensors(write("trunc.st", good.subarray(0, good.length - 4))), /trunc\.st.*truncated/);
    const badLen = Buffer.from(good);
    badLen.writeBigUInt64LE(10n ** 9n, 0);
    assert.throws(() => loadSafetensors(write("len.st", badLen)), /exceeds the file size/);
    const badJson = Buffer.from(good);
    badJson.write("#", 8);
    assert.throws(() => loadSafetensors(write("json.st", badJson)), /not valid JSON/);
    const f16 = Buffer.from(good.toString("latin1").replace('"F32"', '"F16"'), "latin1");
    assert.throws(() => loadSafetensors(write("f16.st", f16)), /dtype "F16"/);
    assert.throws(() => loadSafetensors(join(dir, "missing.st")), /missing\.st.*ENOENT/);
    assert.throws(() => decodeSafetensors(Buffer.concat([good, Buffer.alloc(4)])), /data section has 16 bytes but the tensors cover 12/);
  });
  it("leaves only the finished files behind: no temp file from any save", () => {
    assert.ok(existsSync(join(dir, "all.safetensors")));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".")), []);
  });
});
