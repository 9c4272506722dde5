/**
 * The dynamic batcher on its own, with a stand-in for the worker: concurrent requests are merged
 * up to maxBatch images, a lone request waits at most maxDelayMs, batching off runs each alone, a
 * full queue refuses at once, a deadline frees its request, drain() lets everything finish.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Batcher, BatcherClosedError, QueueFullError, QueueTimeoutError, type BatcherOptions } from "../../src/serve/batcher.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker stand-in: each batch takes `ms`, and a request's result is its input times 10. */
function make(o: Partial<BatcherOptions>, ms = 20) {
  const batches: { model: string; rows: number[] }[] = [];
  const b = new Batcher<number, number>({ maxBatch: 8, maxDelayMs: 10, maxQueue: 100, timeoutMs: 0, batching: true, ...o }, async (model, inputs, rows) => {
    batches.push({ model, rows });
    await sleep(ms);
    return inputs.map((v) => v * 10);
  });
  return { b, batches };
}

test("concurrent requests are merged up to maxBatch images and each gets its own result", async () => {
  const { b, batches } = make({ maxBatch: 8, maxDelayMs: 30 });
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => b.submit("m", v, 2)));
  assert.deepEqual(results, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(batches.map((x) => x.rows), [[2, 2, 2, 2], [2, 2]]);
});

test("requests for different models are never merged; a request larger than maxBatch runs alone", async () => {
  const { b, batches } = make({ maxBatch: 4, maxDelayMs: 20 });
  await Promise.all([b.submit("a", 1, 1), b.submit("b", 2, 1), b.submit("a", 3, 1), b.submit("a", 4, 9)]);
  assert.deepEqual(batches, [{ model: "a", rows: [1, 1] }, { model: "b", rows: [1] }, { model: "a", rows: [9] }]);
});

test("a lone request waits about maxDelayMs, not longer", async () => {
  const { b } = make({ maxDelayMs: 40 }, 0);
  const t0 = performance.now();
  await b.submit("m", 1, 1);
  const ms = performance.now() - t0;
  assert.ok(ms >= 35 && ms < 400, `waited ${ms} ms`);
});

test("with batching off every request is its own batch", async () => {
  const { b, batches } = make({ batching: false, maxDelayMs: 50 });
  await Promise.all([1, 2, 3].map((v) => b.submit("m", v, 1)));
  assert.deepEqual(batches.map((x) => x.rows), [[1], [1], [1]]);
});

test("a full queue refuses at once with QueueFullError; the queued requests still finish", async () => {
  const { b } = make({ maxQueue: 2, maxDelayMs: 30 });
  const first = [b.submit("m", 1, 1), b.submit("m", 2, 1)];
  await assert.rejects(b.submit("m", 3, 1), (e: unknown) => e instanceof QueueFullError && /2 requests are already waiting/.test(e.message));
  assert.deepEqual(await Promise.all(first), [10, 20]);
});

test("a request past its deadline fails with QueueTimeoutError and leaves the queue", async () => {
  const { b, batches } = make({ timeoutMs: 30, maxDelayMs: 0 }, 100);
  const slow = assert.rejects(b.submit("m", 1, 1), /timed out after 30 ms/); // runs 100 ms: past its own deadline too
  const waiting = assert.rejects(b.submit("m", 2, 1), QueueTimeoutError);
  await Promise.all([slow, waiting]);
  assert.equal(b.depth, 0);
  await sleep(120);
  assert.equal(batches.length, 1, "the timed-out request never ran");
});

test("drain() runs what is queued without waiting for company, then refuses new work", async () => {
  const { b } = make({ maxDelayMs: 10_000 });
  const t0 = performance.now();
  const pending = b.submit("m", 4, 1);
  await b.drain();
  assert.equal(await pending, 40);
  assert.ok(performance.now() - t0 < 2000);
  await assert.rejects(b.submit("m", 1, 1), BatcherClosedError);
});

test("exclusive jobs run in arrival order between batches", async () => {
  const { b, batches } = make({ maxDelayMs: 0 });
  await Promise.all([
    b.submit("m", 1, 1),
    b.exclusive("m", async () => { batches.push({ model: "job", rows: [] }); await sleep(5); }),
    b.submit("m", 2, 1),
  ]);
  assert.deepEqual(batches.map((x) => x.model), ["m", "job", "m"]);
});

test("bad settings are refused with the setting's name", () => {
  assert.throws(() => new Batcher({ maxBatch: 0, maxDelayMs: 1, maxQueue: 1, timeoutMs: 0, batching: true }, async () => []), /maxBatch: expected a positive integer, got 0/);
  assert.throws(() => new Batcher({ maxBatch: 1, maxDelayMs: -1, maxQueue: 1, timeoutMs: 0, batching: true }, async () => []), /maxDelayMs/);
});
