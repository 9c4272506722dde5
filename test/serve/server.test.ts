/**
 * `idfr serve` in-process on an ephemeral port, over real HTTP: the KServe v2 endpoints answer as
 * the protocol says and their logits equal the library's (plain path) within 1e-5; the image and
 * attack endpoints; every bad input is a 4xx naming the problem and leaves the server answering;
 * a full queue is a 503 with Retry-After; /metrics and the page.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import sharp from "sharp";
import { loadDefense } from "../../src/defenses/idfr/index.js";
import { createServer, type Server } from "../../src/serve/server.js";
import { noGrad, tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { makeDefenseFolder } from "./fixture.js";

const folders = makeDefenseFolder();
// A user's PyTorch model as a TorchScript pair (test/fixtures, written by PyTorch with its logits).
const fixtures = new URL("../fixtures/", import.meta.url);
const scriptDir = join(folders.root, "scripted");
mkdirSync(scriptDir);
for (const f of ["split_encoder.pt", "split_head.pt"]) copyFileSync(new URL(f, fixtures), join(scriptDir, f));
writeFileSync(join(scriptDir, "model.json"), JSON.stringify({ arch: "torchscript", numClasses: 10, inputShape: [1, 28, 28], encoder: "split_encoder.pt", head: "split_head.pt" }));
const NAME = "digits";
const PIXELS = 28 * 28;
let server: Server;
let url: string;
const silent = pino({ level: "silent" });

before(async () => {
  server = await createServer({ models: [{ dir: folders.defenseDir, name: NAME }, { dir: folders.modelDir, name: "plain" }, { dir: scriptDir, name: "scripted" }], logger: silent, bodyLimit: 200_000, maxDelayMs: 20 });
  url = await server.listen("127.0.0.1", 0);
});
after(async () => {
  await server?.close();
  rmSync(folders.root, { recursive: true, force: true });
});

async function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const { json, ...rest } = init;
  const res = await fetch(`${url}${path}`, json === undefined ? rest : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json), ...rest });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: kept as text */ }
  return { status: res.status, body, headers: res.headers };
}

/** Deterministic images in [0, 1]. */
function images(n: number): number[] {
  return Array.from({ length: n * PIXELS }, (_, i) => ((i * 7919) % 1000) / 999);
}

const infer = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  call(`/v2/models/${NAME}/infer`, { json: { inputs: [{ name: "input", datatype: "FP32", shape: [1, 1, 28, 28], data: images(1), ...input }], ...extra } });

async function pngOf(w: number, h: number, channels: 1 | 3 = 1): Promise<Buffer> {
  return sharp(Buffer.alloc(w * h * channels, 128), { raw: { width: w, height: h, channels } }).png().toBuffer();
}

test("server metadata, liveness, readiness and model metadata follow the v2 protocol", async () => {
  assert.deepEqual((await call("/v2")).body, { name: "idfr", version: "0.1.0", extensions: [] });
  assert.deepEqual((await call("/v2/health/live")).body, { live: true });
  assert.deepEqual((await call("/v2/health/ready")).body, { ready: true });
  assert.deepEqual((await call(`/v2/models/${NAME}/ready`)).body, { name: NAME, ready: true });
  assert.deepEqual((await call(`/v2/models/${NAME}/versions/1/ready`)).body, { name: NAME, ready: true });
  assert.equal((await call(`/v2/models/${NAME}/versions/2/ready`)).status, 404);
  const meta = (await call(`/v2/models/${NAME}`)).body;
  assert.equal(meta.name, NAME);
  assert.deepEqual(meta.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 1, 28, 28] }]);
  assert.deepEqual(meta.outputs.map((o: { name: string }) => o.name), ["logits", "class", "logits_defended", "class_defended", "purified"]);
  assert.deepEqual(meta.outputs[0], { name: "logits", datatype: "FP32", shape: [-1, 10] });
  assert.deepEqual((await call("/v2/models/plain")).body.outputs.map((o: { name: string }) => o.name), ["logits", "class"]);
});

test("infer returns logits and classes with and without the defense, equal to the library's plain path within 1e-5", async () => {
  const n = 3;
  const data = images(n);
  const r = await call(`/v2/models/${NAME}/infer`, { json: { id: "req-1", inputs: [{ name: "input", datatype: "FP32", shape: [n, 1, 28, 28], data }] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.model_name, NAME);
  assert.equal(r.body.id, "req-1");
  const out = Object.fromEntries(r.body.outputs.map((o: { name: string }) => [o.name, o]));
  assert.deepEqual(Object.keys(out), ["logits", "class", "logits_defended", "class_defended"]);
  assert.deepEqual(out.logits.shape, [n, 10]);
  assert.deepEqual(out.class.shape, [n]);
  assert.equal(out.class.datatype, "INT64");
  // The reference: the library's own loadDefense, unfolded, in no-grad mode, on this thread.
  const defense = loadDefense(folders.defenseDir);
  const [plain, defended] = tidy(() => noGrad(() => {
    const x = tensor(Float32Array.from(data), [n, 1, 28, 28]);
    return [defense.target.forward(x).toArray(), defense.logits(x).toArray()];
  }));
  assertClose(out.logits.data, plain, 1e-5, "logits");
  assertClose(out.logits_defended.data, defended, 1e-5, "logits_defended");
  const argmax = (a: number[], i: number) => a.slice(i * 10, i * 10 + 10).reduce((b, v, k, row) => (v > row[b] ? k : b), 0);
  assert.deepEqual(out.class.data, [0, 1, 2].map((i) => argmax(plain, i)));
  assert.deepEqual(out.class_defended.data, [0, 1, 2].map((i) => argmax(defended, i)));
});

test("a TorchScript pair is served too: its logits are PyTorch's own within 1e-5", async () => {
  const expected = JSON.parse(readFileSync(new URL("split_cnn.json", fixtures), "utf8")) as { input_shape: number[]; input: number[]; logits: number[] };
  const r = await call("/v2/models/scripted/infer", { json: { inputs: [{ name: "input", datatype: "FP32", shape: expected.input_shape, data: expected.input }] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.outputs.map((o: { name: string }) => o.name), ["logits", "class"]);
  assertClose(r.body.outputs[0].data, expected.logits, 1e-5, "TorchScript logits");
});

test("UINT8 and nested data mean the same images as FP32; asked-for outputs only, purified on request", async () => {
  const bytes = Array.from({ length: PIXELS }, (_, i) => (i * 37) % 256);
  const fp = await infer({ data: bytes.map((v) => v / 255) });
  const u8 = await infer({ datatype: "UINT8", data: bytes });
  assertClose(u8.body.outputs[0].data, fp.body.outputs[0].data, 1e-6, "UINT8 logits");
  const nested = await infer({ data: [[Array.from({ length: 28 }, (_, y) => bytes.slice(y * 28, y * 28 + 28).map((v) => v / 255))]] });
  assert.deepEqual(nested.body.outputs[0].data, fp.body.outputs[0].data);
  const some = await infer({}, { outputs: [{ name: "class_defended" }, { name: "purified" }] });
  assert.deepEqual(some.body.outputs.map((o: { name: string }) => o.name), ["class_defended", "purified"]);
  assert.deepEqual(some.body.outputs[1].shape, [1, 1, 28, 28]);
  assert.ok(some.body.outputs[1].data.every((v: number) => v >= 0 && v <= 1));
});

test("every bad infer input is a 400 whose message names the problem", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ shape: [1, 3, 28, 28], data: images(3) }, /shape \[1,3,28,28\] does not fit the model, which takes \[N, 1, 28, 28\]/],
    [{ shape: [1, 1, 28] }, /shape must be \[N, 1, 28, 28\]/],
    [{ shape: [2, 1, 28, 28] }, /needs 1568 values, "data" holds 784/],
    [{ datatype: "FP64" }, /datatype must be "FP32" .* got "FP64"/],
    [{ datatype: "UINT8" }, /UINT8 values are integers from 0 to 255/],
    [{ data: ["NaN", ...images(1).slice(1)] }, /data\[0\] is "NaN"; expected a finite number in \[0, 1\]/],
    [{ data: [null, ...images(1).slice(1)] }, /data\[0\] is null/],
    [{ data: [...images(1).slice(1), 1.5] }, /data\[783\] is 1.5, outside \[0, 1\]/],
    [{ data: [-0.1, ...images(1).slice(1)] }, /data\[0\] is -0.1, outside \[0, 1\]/],
    [{ name: "image" }, /unknown input "image"; this model takes "input"/],
    [{ shape: [0, 1, 28, 28], data: [] }, /holds no image/],
    [{ parameters: { binary_data_size: 3136 } }, /binary data extension is not supported/],
  ];
  for (const [input, message] of cases) {
    const r = await infer(input);
    assert.equal(r.status, 400, `${JSON.stringify(input).slice(0, 80)}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error, message);
  }
  // Infinity cannot be written in JSON, but 1e999 parses to it.
  const inf = await call(`/v2/models/${NAME}/infer`, { method: "POST", headers: { "content-type": "application/json" },
    body: `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"data":[1e999${",0".repeat(PIXELS - 1)}]}]}` });
  assert.equal(inf.status, 400);
  assert.match(inf.body.error, /data\[0\] is Infinity; expected a finite number/);
  const outputs = await infer({}, { outputs: [{ name: "probabilities" }] });
  assert.match(outputs.body.error, /unknown output "probabilities"; this model has "logits"/);
  assert.match((await call(`/v2/models/${NAME}/infer`, { json: [1, 2] })).body.error, /must be a JSON object with "inputs", got an array/);
  assert.match((await call(`/v2/models/${NAME}/infer`, { json: { inputs: [] } })).body.error, /"inputs" must be a non-empty array/);
});

test("malformed JSON 400, oversized body 413, unknown model 404, unknown route 404, wrong content type 415", async () => {
  const bad = await call(`/v2/models/${NAME}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"inputs": [' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /not valid JSON/);
  const big = await call(`/v2/models/${NAME}/infer`, { json: { inputs: [{ name: "input", datatype: "FP32", shape: [100, 1, 28, 28], data: images(100) }] } });
  assert.equal(big.status, 413);
  assert.match(big.body.error, /larger than the limit of 200000 bytes \(--body-limit\)/);
  const unknown = await call("/v2/models/nope/infer", { json: { inputs: [] } });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error, /unknown model "nope"; this server serves "digits", "plain", "scripted"/);
  assert.equal((await call("/v2/models/nope")).status, 404);
  const route = await call("/v3/whatever");
  assert.equal(route.status, 404);
  assert.match(route.body.error, /no route GET \/v3\/whatever/);
  const verb = await call(`/v1/models/${NAME}:explain`, { json: {} });
  assert.equal(verb.status, 404);
  const type = await call(`/v2/models/${NAME}/infer`, { method: "POST", headers: { "content-type": "text/csv" }, body: "1,2,3" });
  assert.equal(type.status, 415, JSON.stringify(type.body));
  assert.ok(typeof type.body.error === "string");
});

test("classify takes a PNG body or several multipart files; other sizes only with ?resize=1", async () => {
  const png = await pngOf(28, 28);
  const one = await call(`/v1/models/${NAME}:classify?purified=1&topk=2`, { method: "POST", headers: { "content-type": "image/png" }, body: png });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  const r = one.body.results[0];
  assert.equal(r.top_undefended.length, 2);
  assert.equal(r.top_defended.length, 2);
  assert.ok(r.top_undefended[0].probability >= r.top_undefended[1].probability);
  const purified = await sharp(Buffer.from(r.purified_png, "base64")).metadata();
  assert.deepEqual([purified.width, purified.height, purified.format], [28, 28, "png"]);
  // The same pixels through the v2 endpoint give the same top class.
  const v2 = await infer({ data: new Array(PIXELS).fill(128 / 255) });
  assert.equal(r.top_defended[0].index, v2.body.outputs[3].data[0]);

  const form = new FormData();
  form.append("a", new Blob([png], { type: "image/png" }), "a.png");
  form.append("b", new Blob([await pngOf(28, 28, 3)], { type: "image/png" }), "b.png");
  const many = await call(`/v1/models/${NAME}:classify`, { method: "POST", body: form });
  assert.equal(many.status, 200, JSON.stringify(many.body));
  assert.deepEqual(many.body.results.map((x: { file: string }) => x.file), ["a.png", "b.png"]);

  const huge = new FormData();
  for (const k of ["a", "b", "c"]) huge.append(k, new Blob([Buffer.alloc(90_000, 7)], { type: "image/png" }), `${k}.png`);
  const tooBig = await call(`/v1/models/${NAME}:classify`, { method: "POST", body: huge });
  assert.equal(tooBig.status, 413, JSON.stringify(tooBig.body));
  assert.match(tooBig.body.error, /larger than the limit of 200000 bytes/);

  const wrong = await call(`/v1/models/${NAME}:classify`, { method: "POST", headers: { "content-type": "image/png" }, body: await pngOf(40, 30) });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.error, /the image is 40x30, the model takes 28x28 .*\?resize=1/);
  const resized = await call(`/v1/models/${NAME}:classify?resize=1`, { method: "POST", headers: { "content-type": "image/png" }, body: await pngOf(40, 30) });
  assert.equal(resized.status, 200);
  const garbage = await call(`/v1/models/${NAME}:classify`, { method: "POST", headers: { "content-type": "image/png" }, body: Buffer.from("not an image at all") });
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.error, /cannot decode the image/);
  const json = await call(`/v1/models/${NAME}:classify`, { json: { image: "x" } });
  assert.equal(json.status, 415);
  assert.match((await call(`/v1/models/${NAME}:classify?topk=11`, { method: "POST", headers: { "content-type": "image/png" }, body: png })).body.error, /topk= must be an integer from 1 to 10/);
  assert.match((await call(`/v1/models/plain:classify?purified=1`, { method: "POST", headers: { "content-type": "image/png" }, body: png })).body.error, /without a defense/);
});

test("attack crafts FGSM/PGD transfer and adaptive examples within ε and judges them with both models", async () => {
  const image = (await pngOf(28, 28)).toString("base64");
  const r = await call(`/v1/models/${NAME}:attack`, { json: { image, attack: "pgd", eps: 8 / 255, steps: 3, label: 4 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.label, 4);
  for (const k of ["transfer", "adaptive"]) {
    const o = r.body[k];
    assert.ok(o.linf <= 8 / 255 + 1e-6 && o.linf > 0, `${k}: linf ${o.linf}`);
    assert.ok(o.undefended.index >= 0 && o.defended.index >= 0);
    assert.equal((await sharp(Buffer.from(o.image_png, "base64")).metadata()).width, 28);
  }
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ image, attack: "cw", eps: 0.03 }, /"attack" must be "fgsm" or "pgd"/],
    [{ image, attack: "fgsm", eps: 0.5 }, /"eps" must be a number in \(0, 0.2510\]/],
    [{ image, attack: "pgd", eps: 0.03, steps: 1000 }, /"steps" must be an integer from 1 to 50/],
    [{ image: "AAAA", attack: "fgsm", eps: 0.03 }, /cannot decode the image/],
    [{ image, attack: "fgsm", eps: 0.03, label: 10 }, /"label" must be a class index from 0 to 9/],
  ];
  for (const [body, message] of bad) {
    const e = await call(`/v1/models/${NAME}:attack`, { json: body });
    assert.equal(e.status, 400, JSON.stringify(e.body));
    assert.match(e.body.error, message);
  }
});

test("after all the bad input the server still answers; /metrics counts requests, batches and queue depth", async () => {
  assert.equal((await call("/v2/health/live")).status, 200);
  assert.equal((await infer({})).status, 200);
  // Concurrent requests are merged into batches.
  await Promise.all(Array.from({ length: 8 }, () => infer({})));
  const m = await call("/metrics");
  assert.match(m.headers.get("content-type") ?? "", /text\/plain/);
  const text = m.body as string;
  assert.match(text, /idfr_http_requests_total\{method="POST",route="\/v2\/models\/:name\/infer",status="200"\} \d+/);
  assert.match(text, /idfr_http_requests_total\{method="POST",route="\/v2\/models\/:name\/infer",status="400"\} \d+/);
  assert.match(text, /idfr_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/v2\/models\/:name\/infer"\} \d+/);
  assert.match(text, /idfr_batch_size_images_count\{model="digits"\} \d+/);
  assert.match(text, /idfr_queue_depth \d+/);
  assert.match(text, /idfr_process_resident_memory_bytes \d+/);
  const merged = /idfr_batch_size_requests_bucket\{le="1",model="digits"\} (\d+)[\s\S]*idfr_batch_size_requests_count\{model="digits"\} (\d+)/.exec(text)!;
  assert.ok(Number(merged[2]) > Number(merged[1]), "some batches merged several requests");
});

test("the page and its script are served; the samples come from the model's dataset", async () => {
  const page = await call("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>idfr serve<\/title>/);
  assert.equal((await call("/page/app.js")).status, 200);
  const s = await call(`/v1/models/${NAME}/samples`);
  assert.equal(s.body.samples.length, 20);
  assert.deepEqual(s.body.samples.slice(0, 3).map((x: { label: number }) => x.label), [0, 0, 1]);
});

test("a full queue answers 503 with Retry-After, and the queued requests still succeed", async () => {
  const small = await createServer({ models: [{ dir: folders.defenseDir, name: NAME }], logger: silent, maxQueue: 1, maxDelayMs: 300, samplesPerClass: 0 });
  try {
    const url2 = await small.listen("127.0.0.1", 0);
    const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 1, 28, 28], data: images(1) }] });
    const post = () => fetch(`${url2}/v2/models/${NAME}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const first = post();
    await new Promise((r) => setTimeout(r, 100));
    const second = await post();
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.match(((await second.json()) as { error: string }).error, /1 requests are already waiting \(--max-queue\)/);
    assert.equal((await first).status, 200);
  } finally {
    await small.close();
  }
});

test("a request that waits past --timeout-ms answers 503 naming the limit", async () => {
  const slow = await createServer({ models: [{ dir: folders.defenseDir, name: NAME }], logger: silent, timeoutMs: 150, maxDelayMs: 2000, samplesPerClass: 0 });
  try {
    const url3 = await slow.listen("127.0.0.1", 0);
    const res = await fetch(`${url3}/v2/models/${NAME}/infer`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 1, 28, 28], data: images(1) }] }) });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get("retry-after"));
    assert.match(((await res.json()) as { error: string }).error, /timed out after 150 ms waiting for the model \(--timeout-ms\)/);
    assert.equal((await fetch(`${url3}/v2/health/live`)).status, 200);
  } finally {
    await slow.close();
  }
});

test("health checks and metrics answer at once while the worker is busy with an attack", async () => {
  const image = (await pngOf(28, 28)).toString("base64");
  const t0 = performance.now();
  const busy = call(`/v1/models/${NAME}:attack`, { json: { image, attack: "pgd", eps: 8 / 255, steps: 50 } });
  await new Promise((r) => setTimeout(r, 50));
  const times: number[] = [];
  let attackDone = false;
  void busy.then(() => { attackDone = true; });
  while (!attackDone && times.length < 20) {
    const s = performance.now();
    assert.equal((await call("/v2/health/live")).status, 200);
    assert.equal((await call("/metrics")).status, 200);
    times.push(performance.now() - s);
  }
  const r = await busy;
  assert.equal(r.status, 200);
  const attackMs = performance.now() - t0;
  assert.ok(times.length >= 2, `the attack took ${attackMs.toFixed(0)} ms; health checks during it: ${times.length}`);
  // Each pair of calls took a small fraction of the attack, which ran meanwhile in the worker.
  assert.ok(Math.max(...times) < attackMs / 2, `slowest health check ${Math.max(...times).toFixed(0)} ms while the attack took ${attackMs.toFixed(0)} ms`);
});
