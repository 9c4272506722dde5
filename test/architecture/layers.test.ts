/**
 * The layers of src/ only look one way: a file may import its own layer and the layers below it,
 * never one above. The order is README's layer list.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Bottom first: each layer may import only those before it (and itself). */
export const LAYERS = ["core", "torch", "data", "distributed", "models", "train", "attacks", "defenses", "eval", "certify", "serve", "cli"] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative import specifiers of a file: static imports, re-exports and dynamic imports. */
export function relativeImports(text: string): string[] {
  const found: string[] = [];
  const re = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)|^\s*import\s+["'](\.[^"']+)["']/gm;
  for (const m of text.matchAll(re)) found.push(m[1] ?? m[2] ?? m[3]);
  return found;
}

function layerOf(file: string): string | null {
  const rel = relative(SRC, file).split(sep);
  return rel.length > 1 ? rel[0] : null;
}

test("every top-level folder of src/ is a known layer", () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  for (const f of folders) assert.ok((LAYERS as readonly string[]).includes(f), `src/${f} is not in the layer list; add it to LAYERS and README`);
});

test("no file imports a layer above its own", () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file);
    if (from === null) continue; // src/index.ts is the package surface and may export any layer
    for (const spec of relativeImports(readFileSync(file, "utf8"))) {
      const to = layerOf(resolve(dirname(file), spec));
      if (to === null || to === from) continue;
      if (LAYERS.indexOf(to as never) > LAYERS.indexOf(from as never)) violations.push(`${relative(SRC, file)} imports ${spec} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test("libtorch operators are named only inside src/torch", () => {
  const outside = sourceFiles(SRC).filter((f) => layerOf(f) !== "torch" && /["']aten::/.test(readFileSync(f, "utf8")));
  assert.deepEqual(outside.map((f) => relative(SRC, f)), []);
});

test("the import scanner sees every form of import", () => {
  const text = `import { a } from "./a.js";\nexport * from "../b/index.js";\nconst c = await import("./c.js");\nimport "./d.js";\nimport type { E } from "../e.js";`;
  assert.deepEqual(relativeImports(text), ["./a.js", "../b/index.js", "./c.js", "./d.js", "../e.js"]);
});

test("outside src/torch nothing reseeds libtorch's global generator: random draws take explicit generators", () => {
  const code = (f: string) => readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""); // comments may name it
  const reseeding = sourceFiles(SRC).filter((f) => layerOf(f) !== "torch" && /\bmanualSeed\s*\(/.test(code(f)));
  assert.deepEqual(reseeding.map((f) => relative(SRC, f)), []);
});
