/**
 * `idfr launch` as a user runs it: every rank gets the torchrun variables and joins; a rank that
 * fails stops the others and the launcher exits non-zero naming it; Ctrl-C stops every rank.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { availableBackends } from "../../src/distributed/index.js";
import { rankCommand, rankEnvironments } from "../../src/cli/launch.js";
import { syncBatchNormFromEnv } from "../../src/distributed/index.js";
import { freePort, startProcess, WORKER } from "./helpers.js";

const skip = availableBackends().includes("gloo") ? false : "the addon was built without Gloo";
const worker = (mode: string) => ["src/cli/main.ts", "launch", "--nproc", "2", "--grace", "2", "--", process.execPath, "--import", "tsx", WORKER, mode];

describe("idfr launch", { timeout: 60_000 }, () => {
  it("gives each rank torchrun's variables (two nodes of two)", () => {
    const envs = rankEnvironments({ nproc: 2, nnodes: 2, nodeRank: 1, masterAddr: "10.0.0.1", masterPort: 29500, grace: 1 }, 8);
    assert.deepEqual(envs.map((e) => [e.RANK, e.LOCAL_RANK, e.WORLD_SIZE, e.MASTER_ADDR, e.MASTER_PORT]),
      [["2", "0", "4", "10.0.0.1", "29500"], ["3", "1", "4", "10.0.0.1", "29500"]]);
    assert.equal(envs[0].IDFR_SYNC_BATCH_NORM, undefined, "batch norm is per rank unless asked");
    const synced = rankEnvironments({ nproc: 2, nnodes: 1, nodeRank: 0, masterAddr: "127.0.0.1", masterPort: 29500, grace: 1, syncBatchNorm: true }, 2);
    assert.deepEqual(synced.map((e) => e.IDFR_SYNC_BATCH_NORM), ["1", "1"]);
    assert.equal(syncBatchNormFromEnv({ IDFR_SYNC_BATCH_NORM: "1" }), true);
    assert.equal(syncBatchNormFromEnv({}), false);
    assert.throws(() => syncBatchNormFromEnv({ IDFR_SYNC_BATCH_NORM: "yes" }), /IDFR_SYNC_BATCH_NORM: expected 1 or 0 \(true or false\), got "yes"/);
    assert.throws(() => rankCommand([]), /expected a command after --/);
    assert.match(rankCommand(["idfr", "run", "demo"])[1][0], /bin[/\\]idfr\.js$/);
  });

  it("a command that cannot start: status 127, naming the program", async () => {
    const p = startProcess(["src/cli/main.ts", "launch", "--nproc", "2", "--", "no-such-program-for-idfr"], {});
    const done = await p.exited;
    assert.equal(done.code, 127, p.output());
    assert.match(p.output(), /rank 0 could not start no-such-program-for-idfr: spawn no-such-program-for-idfr ENOENT/);
  });

  it("runs two ranks that join and exit 0, rank 1's lines prefixed", { skip }, async () => {
    const p = startProcess(worker("join"), {});
    const done = await p.exited;
    assert.equal(done.code, 0, p.output());
    assert.match(p.output(), /^joined 0 of 2 \(LOCAL_RANK 0\)$/m);
    assert.match(p.output(), /^\[rank 1\] joined 1 of 2 \(LOCAL_RANK 1\)$/m);
  });

  it("two launchers as two nodes of one rank each meet at node 0's address", { skip }, async () => {
    const port = await freePort();
    const node = (rank: number) => startProcess(["src/cli/main.ts", "launch", "--nproc", "1", "--nnodes", "2", "--node-rank", String(rank),
      "--master-addr", "127.0.0.1", "--master-port", String(port), "--", process.execPath, "--import", "tsx", WORKER, "join"], {});
    const nodes = [node(0), node(1)];
    const done = await Promise.all(nodes.map((p) => p.exited));
    done.forEach((d, i) => assert.equal(d.code, 0, nodes[i].output()));
    assert.match(nodes[0].output(), /^joined 0 of 2 \(LOCAL_RANK 0\)$/m);
    assert.match(nodes[1].output(), /^\[rank 1\] joined 1 of 2 \(LOCAL_RANK 0\)$/m);
    assert.match(nodes[1].output(), /1 rank\(s\) on node 1 of 2 \(world size 2\), rendezvous at 127\.0\.0\.1:\d+/);
  });

  it("a failing rank stops the others; the launcher exits with its status and names it", { skip }, async () => {
    const p = startProcess(worker("fail-one"), { IDFR_TEST_TIMEOUT_MS: "60000" });
    const done = await p.exited;
    assert.equal(done.code, 3, p.output());
    assert.match(p.output(), /idfr launch: rank 1 \(pid \d+\) exited with status 3/);
    assert.match(p.output(), /stopping rank\(s\) 0/);
    // Well inside the collective timeout (60 s): the launcher stopped rank 0, it did not time out.
    assert.ok(done.ms < 30_000, `took ${done.ms} ms`);
  });

  it("Ctrl-C stops every rank and the launcher exits 130", { skip }, async () => {
    const p = startProcess(worker("spin"), { IDFR_TEST_TIMEOUT_MS: "60000" });
    await p.waitFor(/\[rank 1\] spinning/);
    await p.waitFor(/^spinning$/m);
    p.child.kill("SIGINT");
    const done = await p.exited;
    assert.equal(done.code, 130, p.output());
    assert.match(p.output(), /SIGINT: asking every rank to stop/);
  });
});
