/**
 * `idfr serve` as a child process on an ephemeral port: JSON log lines, and a graceful shutdown on
 * SIGTERM and SIGINT: the request in flight is answered, then the process exits 0 and the port closes.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeDefenseFolder } from "./fixture.js";

const folders = makeDefenseFolder();
after(() => rmSync(folders.root, { recursive: true, force: true }));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Child {
  proc: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

/** Starts the server and resolves once it logs its address. */
async function start(args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", folders.defenseDir, "--name", "digits", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  proc.stderr!.on("data", (d) => { stderr += d; });
  const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 60 s; stderr: ${stderr}`)), 60_000);
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>; // every line is JSON (pino)
      logs.push(entry);
      if (entry.msg === "serving") {
        clearTimeout(timer);
        resolve(entry.url as string);
      }
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before serving; stderr: ${stderr}`)));
  });
  return { proc, url, logs, exit };
}

const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 1, 28, 28], data: new Array(784).fill(0.5) }] });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal}: the request in flight is answered, then the server exits 0 and stops listening`, { timeout: 90_000 }, async () => {
    // A long batching delay keeps the request in flight while the signal arrives.
    const child = await start(["--max-delay-ms", "700", "--samples-per-class", "0"]);
    try {
      assert.equal((await fetch(`${child.url}/v2/health/ready`)).status, 200);
      const t0 = performance.now();
      const inflight = fetch(`${child.url}/v2/models/digits/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
      await new Promise((r) => setTimeout(r, 200));
      child.proc.kill(signal);
      const res = await inflight;
      assert.equal(res.status, 200);
      const out = (await res.json()) as { outputs: { name: string }[] };
      assert.equal(out.outputs[0].name, "logits");
      assert.equal(await child.exit, 0);
      assert.ok(performance.now() - t0 < 10_000, `shut down in ${performance.now() - t0} ms`);
      await assert.rejects(fetch(`${child.url}/v2/health/live`), "the port is closed");
      const msgs = child.logs.map((l) => l.msg);
      assert.ok(msgs.includes("model loaded") && msgs.includes("shutting down: finishing the requests in flight") && msgs.includes("closed"), JSON.stringify(msgs));
      const request = child.logs.find((l) => l.msg === "request" && l.url === "/v2/models/digits/infer");
      assert.equal(request?.status, 200);
    } finally {
      child.proc.kill("SIGKILL");
    }
  });
}

test("a folder that is neither a defense nor a model stops the server with a message naming it", { timeout: 60_000 }, async () => {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", folders.root, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => { stderr += d; });
  const code = await new Promise((resolve) => proc.on("exit", resolve));
  assert.equal(code, 1);
  assert.match(stderr, /neither a defense folder \(defense\.json, from idfr defend\) nor a model folder/);
});
