import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { opSchema } from "../../src/torch/index.js";

const torchDir = new URL("../../src/torch/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}

// Helpers in tensor.ts that pick the ".Scalar" or ".Tensor" overload from the operand's type.
const OVERLOADING_HELPER = /\b(?:binary|compare|inplaceBinary)\((?:this, )?["'`](aten::[\w.]+)["'`]/g;
const NAME = /["'`](aten::[^"'`]*)["'`]/g;

/** Every operator name the engine can call, with the file that names it. */
function opNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of sources(torchDir)) {
    // Comments may mention names for illustration; only code is scanned.
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
    const viaHelper = new Set<string>();
    for (const [, base] of text.matchAll(OVERLOADING_HELPER)) {
      viaHelper.add(base);
      for (const overload of ["Scalar", "Tensor"]) names.set(`${base}.${overload}`, file);
    }
    for (const [, name] of text.matchAll(NAME)) if (!viaHelper.has(name)) names.set(name, file);
  }
  return names;
}

function resolves(name: string): string | null {
  try {
    opSchema(name);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("operator names in src/torch", () => {
  const names = opNames();
  it("are written out in full (no names built at run time, so each can be checked here)", () => {
    const built = [...names.keys()].filter((n) => n.includes("${") || !/^aten::[a-z_0-9]+(\.[A-Za-z_0-9]+)?$/.test(n));
    assert.deepEqual(built, []);
  });
  it("cover the engine (the scan finds the ops it should)", () => {
    assert.ok(names.size > 120, `only ${names.size} op names found`);
    for (const n of ["aten::conv2d", "aten::add.Tensor", "aten::add.Scalar", "aten::eq.Scalar", "aten::zeros", "aten::batch_norm"]) {
      assert.ok(names.has(n), `${n} not found by the scan`);
    }
  });
  it("all resolve against the linked libtorch", () => {
    const unknown = [...names].flatMap(([n, file]) => {
      const problem = resolves(n);
      return problem === null ? [] : [`${n} (${file.slice(torchDir.length)}): ${problem}`];
    });
    assert.deepEqual(unknown, []);
  });
  it("a misspelt name fails to resolve", () => {
    assert.match(resolves("aten::convv2d") ?? "", /unknown op 'aten::convv2d'/);
    assert.match(resolves("aten::add.Tensr") ?? "", /unknown op 'aten::add\.Tensr'/);
  });
});
