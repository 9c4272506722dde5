/**
 * The npm package as a user installs it: pack, install into an empty project (building the addon),
 * `npx idfr info`, and the public API's worker threads. About a minute and the npm registry, so it
 * runs only when asked: IDFR_CHECK_PACKAGE=1, or `npm run check:package` directly.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runChild } from "../core/child.js";

test("npm pack, npm install of the tarball in an empty folder, npx idfr info", async (t) => {
  if (process.env.IDFR_CHECK_PACKAGE !== "1") {
    return t.skip("takes about a minute (it compiles the native addon) and needs the npm registry: run `npm run check:package`, or set IDFR_CHECK_PACKAGE=1");
  }
  const r = await runChild(process.execPath, ["test/package/check-package.mjs"], { timeoutMs: 600_000 });
  assert.equal(r.timedOut, false, "the package check did not finish within 10 minutes");
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^libtorch \d+\.\d+/m);
  assert.match(r.stdout, /api ok: loader workers and jpeg codec worker ran from .*node_modules\/idfr\/dist\/index\.js/);
});
