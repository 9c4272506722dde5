import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { native } from "../../src/torch/native.js";
import { zeros } from "../../src/torch/index.js";

const nativeDir = new URL("../../native/", import.meta.url);
const addon = readFileSync(new URL("addon.cc", nativeDir), "utf8");
/** The collectives are their own table, `native.distributed`, registered from distributed.cc. */
const distributed = readFileSync(new URL("distributed.cc", nativeDir), "utf8");
const tableOf = (text: string) => [...text.matchAll(/Export<\w+>\("(\w+)"\)/g)].map((m) => m[1]).sort();

describe("every native entry point is guarded by construction", () => {
  it("each JavaScript-callable function is registered through Export<Fn>, nothing else", () => {
    for (const [file, text] of [["addon.cc", addon], ["distributed.cc", distributed]]) {
      const callbacks = [...text.matchAll(/^Napi::Value (\w+)\(const Napi::CallbackInfo&/gm)].map((m) => m[1]);
      assert.ok(callbacks.length >= 10, `${file}: found only ${callbacks.length} entry points`);
      const exported = new Set([...text.matchAll(/Export<(\w+)>\("\w+"\)/g)].map((m) => m[1]));
      assert.deepEqual(callbacks.filter((f) => !exported.has(f)), [], `${file}: entry points not registered through Export<Fn>`);
      // The only Function::New is the loop over the guarded table.
      const registrations = [...text.matchAll(/Napi::Function::New\(env, ([\w.]+)/g)].map((m) => m[1]);
      assert.deepEqual(registrations, ["e.callback"], file);
    }
  });
  it("no entry point keeps a hand-written try/catch", () => {
    for (const file of readdirSync(nativeDir).filter((f) => f.endsWith(".cc"))) {
      const text = readFileSync(new URL(file, nativeDir), "utf8");
      assert.doesNotMatch(text, /\btry\s*\{|\bcatch\s*\(|TORCH_GUARD/, `${file} has its own guard`);
    }
  });
  it("the JavaScript surface is exactly the export table", () => {
    assert.deepEqual(Object.keys(native).sort(), [...tableOf(addon), "distributed"].sort());
    assert.deepEqual(Object.keys(native.distributed).sort(), tableOf(distributed));
  });
  it("a libtorch error arrives as a JavaScript Error with libtorch's message and no C++ backtrace", () => {
    assert.throws(() => native.fromBuffer(new Float32Array(1), [1], 99), (err: Error) => {
      assert.ok(err instanceof Error);
      assert.doesNotMatch(err.message, /Exception raised from|frame #/);
      return true;
    });
    assert.throws(() => zeros([2, 3]).matmul(zeros([2, 3])), (err: Error) => !/Exception raised from/.test(err.message));
  });
});
