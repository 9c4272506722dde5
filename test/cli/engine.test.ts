/** `idfr smoke --device`: trains on the named device, and a device this libtorch lacks fails before any work. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { registerEngineCommands } from "../../src/cli/engine.js";
import { cudaDeviceCount } from "../../src/torch/index.js";

async function idfr(...args: string[]): Promise<string> {
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerEngineCommands(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => lines.push(line);
  try {
    await program.parseAsync(["node", "idfr", ...args]);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

test("idfr smoke runs on --device cpu", async () => {
  assert.match(await idfr("smoke", "--steps", "2", "--device", "cpu"), /^smoke: 2 steps on cpu in [\d.]+ s, loss [\d.]+, train accuracy [\d.]+ %$/);
});

test("idfr smoke --device cuda without a CUDA libtorch names the option and what to install", { skip: cudaDeviceCount() > 0 && "this libtorch has CUDA" }, async () => {
  await assert.rejects(idfr("smoke", "--device", "cuda"), /^Error: --device cuda: this libtorch was built without CUDA \(or sees no GPU\); install a CUDA build of libtorch and set LIBTORCH/);
});
