/** Commands end by themselves: nothing they start (worker threads, handles) outlives their work. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runIdfr } from "./child.js";

test("idfr train-model with more loader workers than batches saves the model and exits", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "idfr-exit-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  // 100 images in batches of 128: one batch per epoch, so the second worker never gets one.
  const r = await runIdfr(["train-model", "--data", "mnist", "--limit", "100", "--epochs", "1", "--workers", "2", "--width", "0.25", "--out", out], 60_000);
  assert.equal(r.timedOut, false, `idfr train-model did not exit within 60 s after: ${r.stdout.trim().split("\n").at(-1)}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /saved .*model\.safetensors/);
  assert.ok(existsSync(join(out, "model.safetensors")));
});
