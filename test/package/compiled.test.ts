/**
 * The compiled package on plain Node: src/ built with tsconfig.build.json into a folder laid out
 * like the installed package (dist/, bin/, the addon), whose node_modules lacks tsx and typescript.
 * The `idfr` command and the worker threads (data loader, JPEG codec) must run from the .js files.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, runChild } from "../core/child.js";

/** Dependencies only the sources need: the compiled package must run without them. */
const SOURCE_ONLY = new Set(["tsx", "typescript", ".bin"]);

function packageLayout(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "idfr-compiled-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ["binding.gyp", "build", "scripts"]) symlinkSync(join(ROOT, name), join(dir, name));
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  cpSync(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "node_modules"));
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (!SOURCE_ONLY.has(name)) symlinkSync(join(ROOT, "node_modules", name), join(dir, "node_modules", name));
  }
  return dir;
}

test("the build compiles src/ to dist/ with declarations; bin/idfr.js and the worker threads run it on plain Node", async (t) => {
  const dir = packageLayout(t);
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const build = await runChild(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", join(dir, "dist"), "--sourceMap", "false", "--declarationMap", "false"], { timeoutMs: 120_000 });
  assert.equal(build.code, 0, `tsc -p tsconfig.build.json failed:\n${build.stdout}${build.stderr}`);
  for (const file of ["index.js", "index.d.ts", "cli/main.js", "data/loader-worker.js", "defenses/baselines/jpeg-worker.js"]) {
    assert.ok(existsSync(join(dir, "dist", file)), `dist/${file} was not built`);
  }
  assert.ok(!existsSync(join(dir, "dist", "src")) && !existsSync(join(dir, "dist", "test")), "dist/ must hold src/'s tree only");

  // package.json points at what the build wrote.
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  for (const path of [manifest.main, manifest.types, manifest.exports["."].default, manifest.exports["."].types, manifest.bin.idfr]) {
    assert.ok(existsSync(join(dir, path)), `package.json names ${path}, which the build did not write`);
  }
  assert.ok(!("tsx" in manifest.dependencies), "tsx must not be a runtime dependency");

  const info = await runChild(process.execPath, [join(dir, "bin", "idfr.js"), "info"], { timeoutMs: 30_000 });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^libtorch \d+\.\d+/m);
  assert.doesNotMatch(info.stderr, /tsx|warning/);

  // Plain node, no loader hooks, no tsx to fall back on: the workers must start from compiled .js.
  const api = `
    import { data, jpegRoundTrip, rand, manualSeed } from ${JSON.stringify(new URL(`file://${join(dir, "dist", "index.js")}`).href)};
    const n = 20;
    const set = { images: new Uint8Array(n * 3 * 8 * 8).fill(9), labels: new Uint8Array(n), shape: [n, 3, 8, 8], classes: ["a"] };
    const loader = new data.BatchLoader(set, { batchSize: 8, workers: 2 });
    let count = 0;
    for await (const batch of loader.epoch(0)) count += batch.labels.length;
    await loader.close();
    manualSeed(0);
    const y = jpegRoundTrip(rand([2, 3, 16, 16]), 50);
    console.log(count + " " + y.shape.join("x"));
  `;
  const r = await runChild(process.execPath, ["--input-type=module", "-e", api], { timeoutMs: 30_000, cwd: dir });
  assert.equal(r.timedOut, false, "the compiled loader or codec did not finish within 30 s");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "20 2x3x16x16");
});
