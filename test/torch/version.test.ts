import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertSupportedLibtorch, SUPPORTED_LIBTORCH } from "../../src/torch/native.js";
import { libtorchVersion } from "../../src/torch/index.js";

const script = new URL("../../scripts/libtorch.cjs", import.meta.url).pathname;

/** A folder shaped like an unpacked libtorch whose version.h declares `version`. */
function fakeLibtorch(version: string): string {
  const root = mkdtempSync(join(tmpdir(), "idfr-libtorch-"));
  const [major, minor, patch] = version.split(".");
  mkdirSync(join(root, "include", "ATen"), { recursive: true });
  mkdirSync(join(root, "include", "torch", "csrc", "api", "include", "torch"), { recursive: true });
  mkdirSync(join(root, "lib"));
  writeFileSync(join(root, "include", "ATen", "ATen.h"), "");
  writeFileSync(join(root, "include", "torch", "csrc", "api", "include", "torch", "version.h"),
    `#define TORCH_VERSION_MAJOR ${major}\n#define TORCH_VERSION_MINOR ${minor}\n#define TORCH_VERSION_PATCH ${patch}\n`);
  return root;
}

function runScript(libtorch: string): { status: number; stderr: string; stdout: string } {
  try {
    const stdout = execFileSync(process.execPath, [script, "version"], { env: { ...process.env, LIBTORCH: libtorch }, stdio: "pipe" }).toString();
    return { status: 0, stderr: "", stdout };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString(), stdout: "" };
  }
}

describe("libtorch version check", () => {
  it("the linked libtorch is within the supported range", () => {
    assert.equal(SUPPORTED_LIBTORCH, ">= 1.13");
    assert.doesNotThrow(() => assertSupportedLibtorch(libtorchVersion(), "the linked libtorch"));
  });
  it("the build refuses an older libtorch with one sentence naming both versions", () => {
    const old = runScript(fakeLibtorch("1.12.1"));
    assert.notEqual(old.status, 0);
    assert.match(old.stderr, /^idfr: found libtorch 1\.12\.1 at .*, but idfr supports libtorch >= 1\.13; .*\.\n$/);
    assert.equal(old.stderr.trim().split("\n").length, 1);
    assert.deepEqual(runScript(fakeLibtorch("2.1.0")), { status: 0, stderr: "", stdout: "2.1.0" });
  });
  it("loading refuses an addon linked to an older libtorch with one sentence", () => {
    assert.throws(() => assertSupportedLibtorch("1.12.1", "build/Release/idfr_torch.node"),
      /^Error: idfr: found libtorch 1\.12\.1 at build\/Release\/idfr_torch\.node, but idfr supports libtorch >= 1\.13; .*npm run build:native`\.$/);
    assert.throws(() => assertSupportedLibtorch("garbage", "x"), /could not read the libtorch version at x \(found "garbage"\)/);
    assert.doesNotThrow(() => assertSupportedLibtorch("1.13.0", "x"));
    assert.doesNotThrow(() => assertSupportedLibtorch("2.4.1+cu121", "x"));
  });
});
