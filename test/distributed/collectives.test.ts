/**
 * Multi-process behaviour on Gloo over the loopback: two ranks reach the weights one process
 * reaches on the same global batches; a rank that dies, a wrong port and a rank that never joins
 * all end the others with a clear error inside the timeout instead of a hang.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { availableBackends } from "../../src/distributed/index.js";
import { assertClose } from "../helpers.js";
import { freePort, startProcess, startRank, WORKER } from "./helpers.js";

const gloo = availableBackends().includes("gloo");
const skip = gloo ? false : "the addon was built without Gloo (install libgloo-dev, npm run build:native)";

function kill(...ps: { child: { kill: (s: NodeJS.Signals) => boolean } }[]): void {
  for (const p of ps) p.child.kill("SIGKILL");
}

describe("distributed training and failures (Gloo, two ranks)", { skip, timeout: 240_000 }, () => {
  it("two ranks reach the one-process weights within 1e-5 (SGD, uneven last batch)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-"));
    const port = await freePort();
    const single = startProcess([WORKER, "train", join(dir, "one.json")], {});
    const ranks = [0, 1].map((r) => startRank(r, 2, port, "train", [join(dir, "two.json")]));
    const results = await Promise.all([single, ...ranks].map((p) => p.exited));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `process ${i} failed:\n${[single, ...ranks][i].output()}`);
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8"));
    const two = JSON.parse(readFileSync(join(dir, "two.json"), "utf8"));
    for (const key of Object.keys(one.weights)) assertClose(two.weights[key], one.weights[key], 1e-5, key);
    // The weights moved (the comparison is not of two initial states) ...
    assert.ok(one.history[2].loss < one.history[0].loss, `loss fell: ${one.history.map((h: { loss: number }) => h.loss)}`);
    // ... and the epoch records count the rows of both ranks.
    for (let e = 0; e < 3; e++) assertClose([two.history[e].loss], [one.history[e].loss], 1e-5, `epoch ${e + 1} loss`);
  });

  it("with Adam, and a last batch of one row (one rank has none), two ranks reach the one-process weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-adam-"));
    const port = await freePort();
    const env = { IDFR_TEST_OPTIMIZER: "adam", IDFR_TEST_ROWS: "33" };
    const single = startProcess([WORKER, "train", join(dir, "one.json")], env);
    const ranks = [0, 1].map((r) => startRank(r, 2, port, "train", [join(dir, "two.json")], env));
    for (const p of [single, ...ranks]) assert.equal((await p.exited).code, 0, p.output());
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8"));
    const two = JSON.parse(readFileSync(join(dir, "two.json"), "utf8"));
    for (const key of Object.keys(one.weights)) assertClose(two.weights[key], one.weights[key], 1e-5, key);
    for (let e = 0; e < 3; e++) assertClose([two.history[e].loss], [one.history[e].loss], 1e-5, `epoch ${e + 1} loss`);
  });

  it("batch norm synchronised: two ranks reach the one-process weights and running statistics; per rank they do not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-syncbn-"));
    const [portSync, portLocal] = [await freePort(), await freePort()];
    // 37 rows in batches of 8: the last batch is split 2 + 3, so the shares are uneven too.
    const env = { IDFR_TEST_MODEL: "bn" };
    const single = startProcess([WORKER, "train", join(dir, "one.json")], env);
    const synced = [0, 1].map((r) => startRank(r, 2, portSync, "train", [join(dir, "sync.json")], { ...env, IDFR_SYNC_BATCH_NORM: "1" }));
    const local = [0, 1].map((r) => startRank(r, 2, portLocal, "train", [join(dir, "local.json")], env));
    for (const p of [single, ...synced, ...local]) assert.equal((await p.exited).code, 0, p.output());
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8"));
    const sync = JSON.parse(readFileSync(join(dir, "sync.json"), "utf8"));
    const perRank = JSON.parse(readFileSync(join(dir, "local.json"), "utf8"));
    assert.ok(one.weights["1.running_var"], "the model has batch norm buffers");
    for (const key of Object.keys(one.weights)) assertClose(sync.weights[key], one.weights[key], 1e-5, key);
    for (let e = 0; e < 3; e++) assertClose([sync.history[e].loss], [one.history[e].loss], 1e-5, `epoch ${e + 1} loss`);
    // Without synchronisation each rank normalises its own rows: the weights move elsewhere.
    const gap = Math.max(...(one.weights["0.weight"] as number[]).map((v, i) => Math.abs(v - perRank.weights["0.weight"][i])));
    assert.ok(gap > 1e-4, `per-rank batch norm should differ from the global batch's (gap ${gap})`);
  });

  it("batch norm synchronised, a last batch of one row (one rank has none): still the one-process weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-syncbn1-"));
    const port = await freePort();
    const env = { IDFR_TEST_MODEL: "bn", IDFR_TEST_ROWS: "33" };
    const single = startProcess([WORKER, "train", join(dir, "one.json")], env);
    const ranks = [0, 1].map((r) => startRank(r, 2, port, "train", [join(dir, "two.json")], { ...env, IDFR_SYNC_BATCH_NORM: "1" }));
    for (const p of [single, ...ranks]) assert.equal((await p.exited).code, 0, p.output());
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8"));
    const two = JSON.parse(readFileSync(join(dir, "two.json"), "utf8"));
    for (const key of Object.keys(one.weights)) assertClose(two.weights[key], one.weights[key], 1e-5, key);
  });

  it("a run checkpointed by one process resumes on two ranks and ends at the one-process weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-resume-"));
    const ckpt = join(dir, "ckpt");
    const [full, first] = [startProcess([WORKER, "train", join(dir, "full.json"), "3"], {}), startProcess([WORKER, "train", join(dir, "first.json"), "2", ckpt], {})];
    for (const p of [full, first]) assert.equal((await p.exited).code, 0, p.output());
    const port = await freePort();
    const ranks = [0, 1].map((r) => startRank(r, 2, port, "train", [join(dir, "resumed.json"), "3", ckpt, "resume"]));
    for (const p of ranks) assert.equal((await p.exited).code, 0, p.output());
    const one = JSON.parse(readFileSync(join(dir, "full.json"), "utf8"));
    const resumed = JSON.parse(readFileSync(join(dir, "resumed.json"), "utf8"));
    assert.equal(resumed.history.length, 3);
    for (const key of Object.keys(one.weights)) assertClose(resumed.weights[key], one.weights[key], 1e-5, key);
  });

  it("Algorithm 2's embeddings made by two ranks are the one process's, and the noise stream ends in the same place", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-dist-embed-"));
    const port = await freePort();
    const single = startProcess([WORKER, "embed", join(dir, "one.json")], {});
    const ranks = [0, 1].map((r) => startRank(r, 2, port, "embed", [join(dir, "two.json")]));
    for (const p of [single, ...ranks]) assert.equal((await p.exited).code, 0, p.output());
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8"));
    const two = JSON.parse(readFileSync(join(dir, "two.json"), "utf8"));
    assert.ok(one.embeddings.length > 0 && one.embeddings.length % 120 === 0, `${one.embeddings.length} values for 120 rows`);
    assert.deepEqual(two.embeddings, one.embeddings);
    assert.deepEqual(two.correct, one.correct);
    assert.deepEqual(two.next, one.next);
  });

  it("a killed rank makes the other exit non-zero with an error, within the timeout", async () => {
    const port = await freePort();
    const [a, b] = [0, 1].map((r) => startRank(r, 2, port, "spin", [], { IDFR_TEST_TIMEOUT_MS: "5000" }));
    try {
      await Promise.all([a.waitFor(/spinning/), b.waitFor(/spinning/)]);
      b.child.kill("SIGKILL");
      const done = await a.exited;
      assert.notEqual(done.code, 0);
      assert.match(a.output(), /rank 0 of 2: all-reduce \(max\) failed/);
    } finally {
      kill(a, b);
    }
  });

  it("a rank that never joins: rank 0 fails with an error naming the rendezvous, within the timeout", async () => {
    const port = await freePort();
    const a = startRank(0, 2, port, "join", [], { IDFR_TEST_TIMEOUT_MS: "2000" });
    try {
      const done = await a.exited;
      assert.notEqual(done.code, 0);
      assert.match(a.output(), new RegExp(`rank 0 of 2: the gloo rendezvous at 127\\.0\\.0\\.1:${port} failed within 2 s \\(did all 2 ranks start`));
      assert.ok(done.ms < 20_000, `took ${done.ms} ms`);
    } finally {
      kill(a);
    }
  });

  it("a wrong MASTER_PORT: the rank fails saying it could not reach rank 0's store", async () => {
    const port = await freePort();
    const wrong = await freePort();
    const [a, b] = [startRank(0, 2, port, "join", [], { IDFR_TEST_TIMEOUT_MS: "2000" }),
      startRank(1, 2, wrong, "join", [], { IDFR_TEST_TIMEOUT_MS: "2000" })];
    try {
      const [da, db] = await Promise.all([a.exited, b.exited]);
      assert.notEqual(db.code, 0);
      assert.match(b.output(), new RegExp(`rank 1 of 2: could not reach rank 0's rendezvous store at 127\\.0\\.0\\.1:${wrong} within 2 s`));
      assert.notEqual(da.code, 0);
    } finally {
      kill(a, b);
    }
  });

  it("ranks that all join pass a barrier and exit 0", async () => {
    const port = await freePort();
    const ps = [0, 1].map((r) => startRank(r, 2, port, "join"));
    const done = await Promise.all(ps.map((p) => p.exited));
    for (const [i, d] of done.entries()) assert.equal(d.code, 0, ps[i].output());
  });
});
