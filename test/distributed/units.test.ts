/** The single-process parts of the distributed layer: environment parsing, shares and the sampler. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { distributedShard, rankEnv, shareOf } from "../../src/distributed/index.js";

describe("torchrun environment", () => {
  const base = { RANK: "1", LOCAL_RANK: "1", WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: "29500" };
  it("reads the five variables; WORLD_SIZE unset or 1 means one process", () => {
    assert.deepEqual(rankEnv(base), { rank: 1, localRank: 1, worldSize: 2, masterAddr: "127.0.0.1", masterPort: 29500 });
    assert.equal(rankEnv({}), null);
    assert.equal(rankEnv({ WORLD_SIZE: "1" }), null);
  });
  it("names the variable that is missing or out of range", () => {
    assert.throws(() => rankEnv({ ...base, RANK: "2" }), /^RangeError: RANK: expected an integer in \[0, 1\], got "2"$/);
    assert.throws(() => rankEnv({ ...base, RANK: undefined }), /RANK: expected an integer in \[0, 1\], got null/);
    assert.throws(() => rankEnv({ ...base, MASTER_PORT: "70000" }), /MASTER_PORT: expected an integer in \[1, 65535\], got "70000"/);
    assert.throws(() => rankEnv({ ...base, MASTER_ADDR: "" }), /MASTER_ADDR: expected the host of rank 0/);
    assert.throws(() => rankEnv({ ...base, WORLD_SIZE: "two" }), /WORLD_SIZE: expected an integer/);
  });
});

describe("shares and the distributed sampler", () => {
  it("contiguous shares cover 0..n-1 once, sizes differ by at most one", () => {
    for (const [n, w] of [[37, 2], [5, 3], [2, 4], [0, 2], [100, 7]]) {
      const parts = Array.from({ length: w }, (_, r) => shareOf(n, r, w));
      let next = 0;
      for (const p of parts) {
        assert.equal(p.start, next);
        next += p.count;
      }
      assert.equal(next, n);
      const sizes = parts.map((p) => p.count);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n} over ${w}: ${sizes}`);
    }
  });
  it("gives disjoint shards of one epoch-seeded permutation, padded to equal length", () => {
    const shards = [0, 1, 2].map((rank) => distributedShard(10, 4, { rank, worldSize: 3, seed: 9 }));
    assert.deepEqual(shards.map((s) => s.length), [4, 4, 4]);
    const all = shards.flatMap((s) => [...s]);
    assert.deepEqual([...new Set(all)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 12 slots for 10 rows: exactly two are repeats (torch's padding).
    assert.equal(all.length - new Set(all).size, 2);
    const dropped = [0, 1, 2].map((rank) => [...distributedShard(10, 4, { rank, worldSize: 3, seed: 9, dropLast: true })]).flat();
    assert.equal(new Set(dropped).size, 9);
    // Same epoch, same shards; another epoch, another order.
    assert.deepEqual(distributedShard(10, 4, { rank: 1, worldSize: 3, seed: 9 }), shards[1]);
    assert.notDeepEqual(distributedShard(10, 5, { rank: 1, worldSize: 3, seed: 9 }), shards[1]);
    assert.throws(() => distributedShard(10, 0, { rank: 3, worldSize: 3, seed: 0 }), /rank: expected an integer in \[0, 2\], got 3/);
  });
});
