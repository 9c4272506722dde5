#!/usr/bin/env node
// What an npm user gets: packs this checkout (`npm pack` runs `prepare`, which compiles src/ to
// dist/), installs the tarball into an empty project (its install script builds the native addon
// with node-gyp against libtorch), then runs `npx idfr info` and the public API with the data
// loader's and the JPEG codec's worker threads, on plain Node. Prints the time of each stage.
//
//   node test/package/check-package.mjs [--keep]     (npm run check:package)
//
// Needs the npm registry (or a warm npm cache) for the package's dependencies; takes about a minute,
// most of it compiling the addon.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const keep = process.argv.includes("--keep");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
const work = mkdtempSync(join(tmpdir(), "idfr-package-"));
const times = {};
const started = performance.now();

/** Runs a stage, timing it; returns its standard output. */
function stage(name, command, args, cwd) {
  const start = performance.now();
  process.stderr.write(`check:package: ${name}: ${command} ${args.join(" ")}\n`);
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 });
  } catch (err) {
    throw new Error(`${name} failed (${command} ${args.join(" ")}, exit code ${err.status ?? "none"})${err.stdout ? `:\n${err.stdout}` : ""}`);
  } finally {
    times[name] = (performance.now() - start) / 1000;
  }
}

// The installed package's public API, on plain Node: worker threads must start from compiled .js.
const apiCheck = `
import { data, jpegRoundTrip, rand, manualSeed } from "idfr";
const n = 20;
const images = new Uint8Array(n * 3 * 8 * 8).map((_, i) => (i * 37) % 256);
const set = { images, labels: new Uint8Array(n), shape: [n, 3, 8, 8], classes: ["a"] };
const loader = new data.BatchLoader(set, { batchSize: 8, workers: 2 });
let count = 0;
for await (const batch of loader.epoch(0)) count += batch.labels.length;
await loader.close();
if (count !== n) throw new Error("loader: " + count + " images in an epoch, expected " + n);
manualSeed(0);
const x = rand([2, 3, 16, 16]);
const y = jpegRoundTrip(x, 50);
if (y.shape.join("x") !== "2x3x16x16") throw new Error("jpeg: shape " + y.shape.join("x"));
console.log("api ok: loader workers and jpeg codec worker ran from " + import.meta.resolve("idfr"));
`;

let ok = false;
try {
  const packed = stage("pack", npm, ["pack", "--silent", "--pack-destination", work], root).trim().split("\n").at(-1);
  const tarball = join(work, packed);
  const app = join(work, "app");
  mkdirSync(app);
  // allowScripts: npm versions that hold back dependencies' install scripts must run idfr's (it
  // builds the addon); older versions ignore the field.
  const manifest = { name: "idfr-package-check", private: true, type: "module", allowScripts: { idfr: true } };
  writeFileSync(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  stage("install", npm, ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], app);
  const addon = readdirSync(join(app, "node_modules", "idfr", "build", "Release")).filter((f) => f.endsWith(".node"));
  if (addon.length === 0) throw new Error("the installed package has no native addon in build/Release");
  const info = stage("npx idfr info", npx, ["--no-install", "idfr", "info"], app);
  process.stdout.write(info);
  if (!/^libtorch \d+\.\d+/m.test(info)) throw new Error(`npx idfr info printed no libtorch version:\n${info}`);
  writeFileSync(join(app, "api-check.mjs"), apiCheck);
  process.stdout.write(stage("api", process.execPath, ["api-check.mjs"], app));
  ok = true;
} catch (err) {
  process.stderr.write(`check:package: ${err.message}\n`);
} finally {
  const total = Object.values(times).reduce((a, b) => a + b, 0);
  const line = Object.entries(times).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ");
  process.stdout.write(`check:package: ${ok ? "ok" : "FAILED"}: ${line}; total ${total.toFixed(1)} s\n`);
  if (keep) process.stdout.write(`check:package: kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.stdout.write(`check:package: ${((performance.now() - started) / 1000).toFixed(1)} s in all, clean-up included\n`);
}
process.exitCode = ok ? 0 : 1;
