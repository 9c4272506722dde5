/**
 * Output folders: ensureDir creates what is missing and fails with one sentence naming the folder,
 * its purpose and the folder that refused it; the commands that write folders check theirs first,
 * and exit (instead of spinning in a recursive mkdir) when it cannot be made.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ensureDir, OutputFolderError } from "../../src/core/fs.js";
import { runIdfr } from "./child.js";

/** `text` as a regular expression matching itself. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "idfr-fs-"));
  t.after(() => {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Whether permission bits stop this process from writing: not as root (or with CAP_DAC_OVERRIDE),
 * where chmod 0o500 changes nothing. Checked by trying, not by the user id.
 */
function permissionsEnforced(root: string): boolean {
  const probe = join(root, "probe");
  mkdirSync(probe, { mode: 0o500 });
  chmodSync(probe, 0o500);
  try {
    mkdirSync(join(probe, "x"));
    return false;
  } catch {
    return true;
  } finally {
    chmodSync(probe, 0o700);
    rmSync(probe, { recursive: true, force: true });
  }
}

/** A folder under which new folders are refused with EPERM/EACCES/EROFS even for root (sysfs), if this machine has one. */
function systemReadOnlyParent(): string | undefined {
  try {
    mkdirSync("/sys/idfr-probe");
    rmSync("/sys/idfr-probe", { recursive: true, force: true });
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EPERM" || code === "EACCES" || code === "EROFS" ? "/sys" : undefined;
  }
}

/** A read-only folder to create an output folder under: a chmod 0o500 folder, or /sys where chmod does not bind (root). */
function readOnlyParent(t: { after: (fn: () => void) => void }): { parent: string; how: string } | { skip: string } {
  const root = tempDir(t);
  if (permissionsEnforced(root)) {
    const parent = join(root, "locked");
    mkdirSync(parent);
    chmodSync(parent, 0o500);
    return { parent, how: "chmod 0o500" };
  }
  const sys = systemReadOnlyParent();
  if (sys) return { parent: sys, how: "sysfs (permission bits do not bind this process: root)" };
  return { skip: "permission bits do not bind this process (root) and /sys accepts new folders here" };
}

test("ensureDir creates missing levels, returns the absolute path, and accepts an existing folder", (t) => {
  const root = tempDir(t);
  const dir = join(root, "a", "b", "c");
  assert.equal(ensureDir(dir, "--out"), dir);
  assert.ok(statSync(dir).isDirectory());
  assert.equal(ensureDir(dir, "--out"), dir);
  const cwd = process.cwd();
  process.chdir(root);
  try {
    assert.equal(ensureDir("rel/x"), join(root, "rel", "x"));
  } finally {
    process.chdir(cwd);
  }
});

test("a file in the way is named: as the folder itself, or as a parent", (t) => {
  const root = tempDir(t);
  const file = join(root, "results");
  writeFileSync(file, "not a folder");
  assert.throws(() => ensureDir(file, "--out"), (err: Error) => {
    assert.ok(err instanceof OutputFolderError);
    assert.equal(err.message, `the output folder ${file} for --out is a file, not a folder`);
    return true;
  });
  assert.throws(() => ensureDir(join(file, "run", "1"), "--out"), {
    message: `cannot create the output folder ${join(file, "run", "1")} for --out: ${file} is a file`,
  });
  assert.throws(() => ensureDir("", "--out"), /expected a folder path for --out, got ""/);
});

test("a folder under a read-only folder fails saying read-only, not ENOENT or EACCES alone", (t) => {
  const ro = readOnlyParent(t);
  if ("skip" in ro) return t.skip(ro.skip);
  const out = join(ro.parent, "idfr-test", "out");
  assert.throws(() => ensureDir(out, "--out"), (err: Error) => {
    assert.match(err.message, new RegExp(`^${literal(`cannot create the output folder ${out} for --out: ${ro.parent} is read-only`)}`), ro.how);
    return true;
  });
});

test("an existing output folder that is read-only says so", (t) => {
  const root = tempDir(t);
  if (!permissionsEnforced(root)) return t.skip("permission bits do not bind this process (root): an existing folder cannot be made read-only");
  const dir = join(root, "out");
  mkdirSync(dir);
  chmodSync(dir, 0o500);
  assert.throws(() => ensureDir(dir, "--out"), { message: `cannot write to the output folder ${dir} for --out: ${dir} is read-only` });
});

// Each command checks its output folder before any work, so none of these needs a real model, data
// or defense. Under /proc, mkdir answers ENOENT, on which Node's recursive mkdir loops forever.
const PROC_OUT = "/proc/idfr-test/out";
const commands: [string, string, string[]][] = [
  ["train-model", "--out", ["train-model", "--data", "mnist", "--limit", "10", "--out", PROC_OUT]],
  ["report", "--out", ["report", "no-such-results", "--out", PROC_OUT]],
  ["classify", "--save-denoised", ["classify", "--defense", "no-such-defense", "--save-denoised", PROC_OUT, "no-such-image.png"]],
  ["attack", "--save", ["attack", "--model", "no-such-model", "--data", "mnist", "--save", PROC_OUT]],
  ["defend", "--out", ["defend", "--target", "no-such-model", "--data", "mnist", "--out", PROC_OUT]],
];
for (const [name, flag, args] of commands) {
  test(`idfr ${name} ${flag} ${PROC_OUT} exits non-zero at once, naming the folder and why`, async () => {
    const r = await runIdfr(args, 30_000);
    assert.equal(r.timedOut, false, `idfr ${name} did not exit within 30 s`);
    assert.notEqual(r.code, 0);
    // root passes the permission check on /proc (r-x) and mkdir answers ENOENT; anyone else is stopped by the check.
    assert.match(r.stderr, new RegExp(`${literal(`idfr: cannot create the output folder ${PROC_OUT} for ${flag}: /proc is `)}(not writable \\(ENOENT\\)|read-only)`));
  });
}

test("idfr train-model --out under a read-only folder exits saying read-only", async (t) => {
  const ro = readOnlyParent(t);
  if ("skip" in ro) return t.skip(ro.skip);
  const out = join(ro.parent, "idfr-test", "out");
  const r = await runIdfr(["train-model", "--data", "mnist", "--limit", "10", "--out", out], 30_000);
  assert.equal(r.timedOut, false, "idfr train-model did not exit within 30 s");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(literal(`idfr: cannot create the output folder ${out} for --out: ${ro.parent} is read-only`)), ro.how);
});
