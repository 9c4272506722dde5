import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { removeStaleTempFiles, writeFileAtomic } from "../../src/core/atomic-write.js";
import { nn, optim } from "../../src/torch/index.js";
import { indexBatches } from "../../src/train/batches.js";
import { runTrainLoop } from "../../src/train/loop.js";

/** The pid of a process that has exited (a child that ran and ended). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  assert.equal(child.status, 0);
  return child.pid!;
}

/** Temp files as a killed write leaves them: `.<name>.<pid>.<ms>.tmp`, big, never renamed. */
function leaveTemps(dir: string): { dead: string; alive: string; foreign: string } {
  const dead = `.checkpoint.safetensors.${deadPid()}.1700000000000.tmp`;
  const alive = `.checkpoint.safetensors.${process.ppid}.1700000000001.tmp`; // our parent runs
  const foreign = ".notes.txt.tmp"; // not our naming: never touched
  for (const name of [dead, alive, foreign]) writeFileSync(join(dir, name), Buffer.alloc(1 << 16));
  return { dead, alive, foreign };
}

test("temp files of writes whose process is gone are removed; those of running processes and other files stay", () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-stale-"));
  const { dead, alive, foreign } = leaveTemps(dir);
  assert.deepEqual(removeStaleTempFiles(dir), [join(dir, dead)]);
  assert.deepEqual(readdirSync(dir).sort(), [alive, foreign].sort());
  assert.deepEqual(removeStaleTempFiles(join(dir, "missing")), []);
});

test("writeFileAtomic cleans the folder it writes into", () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-stale-write-"));
  const { dead, alive } = leaveTemps(dir);
  writeFileAtomic(join(dir, "a.json"), "{}\n");
  assert.ok(!existsSync(join(dir, dead)));
  assert.ok(existsSync(join(dir, alive)) && existsSync(join(dir, "a.json")));
});

test("a training run removes stale temp files from its output folder when it starts, and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-stale-run-"));
  const { dead } = leaveTemps(dir);
  const module = new nn.Linear(2, 2);
  const lines: string[] = [];
  await runTrainLoop({ label: "toy", name: "toy", epochs: 1, batches: indexBatches(1), module, optimizer: new optim.Adam(module.parameters(), { lr: 0.1 }),
    step: () => ({ loss: 0, n: 1 }), settings: {}, ctx: { outDir: dir, progress: "none", log: (l) => lines.push(l) } });
  assert.ok(!existsSync(join(dir, dead)));
  assert.match(lines.join("\n"), new RegExp(`removed 1 temp file\\(s\\) left in ${dir} by a write that was killed`));
});
