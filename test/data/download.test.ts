/**
 * `idfr data download`: files fetched from a loopback HTTP server (never the internet), checked
 * against their MD5, resumed with Range requests, renamed into place only when complete, unpacked
 * where the loader looks, and then read by the dataset loader itself.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { registerDataCommands } from "../../src/cli/data.js";
import { Interrupted } from "../../src/core/interrupt.js";
import { loadDataset } from "../../src/data/datasets.js";
import { DATASET_SOURCES, DownloadError, downloadDataset, ensureDatasetFiles, missingDatasetFiles, type DatasetSource, type SourceTable } from "../../src/data/download.js";
import { extractTarGz } from "../../src/data/untar.js";
import { tarGz } from "./fixtures/download/tar.js";
import { patternImages, tempDir, writeCifar, writeIdx } from "./fixtures/write.js";

const md5 = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex");

/** How a route answers: the whole file (Range honoured), or a misbehaviour. */
type Behaviour = "ok" | "cut-once" | "stall-headers" | "stall-body";

interface Served {
  base: string;
  requests: { path: string; range?: string }[];
  /** Resolves when the server has sent the first half of a "stall-body" route. */
  stalled: Promise<void>;
}

/** A loopback server for `files` (path -> bytes), closed when the test ends; other paths get 404. */
async function serve(t: { after: (fn: () => void) => void }, files: Record<string, Buffer>, behaviour: Record<string, Behaviour> = {}): Promise<Served> {
  const requests: Served["requests"] = [];
  const cut = new Set<string>();
  let onStall!: () => void;
  const stalled = new Promise<void>((resolve) => (onStall = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const body = files[path];
    if (!body) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const how = behaviour[path] ?? "ok";
    if (how === "stall-headers") return; // never answers
    if (how === "stall-body") {
      res.writeHead(200, { "content-length": body.length });
      res.write(body.subarray(0, body.length >> 1), () => onStall());
      return;
    }
    if (how === "cut-once" && !cut.has(path)) {
      cut.add(path);
      res.writeHead(200, { "content-length": body.length });
      // Close only once the client has had time to read the first half (bytes queued in its
      // stream when the connection errors are dropped, as with any abrupt close).
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 200));
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, stalled };
}

/** A port on which nothing listens (a server opened and closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const IDX_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

/** A tiny MNIST in the official idx.gz form: 3 training and 3 test digits, 28x28. */
function tinyMnist(dir: string): { files: Record<string, Buffer>; trainPixels: Uint8Array; trainLabels: number[] } {
  const trainPixels = patternImages(3, 1, 28, 28);
  const testPixels = patternImages(3, 1, 28, 28).map((v) => 255 - v);
  const trainLabels = [7, 0, 3];
  const files: Record<string, Buffer> = {
    "train-images-idx3-ubyte.gz": writeIdx(join(dir, "a"), [3, 28, 28], trainPixels, true),
    "train-labels-idx1-ubyte.gz": writeIdx(join(dir, "b"), [3], Uint8Array.from(trainLabels), true),
    "t10k-images-idx3-ubyte.gz": writeIdx(join(dir, "c"), [3, 28, 28], testPixels, true),
    "t10k-labels-idx1-ubyte.gz": writeIdx(join(dir, "d"), [3], Uint8Array.from([1, 2, 9]), true),
  };
  return { files, trainPixels, trainLabels };
}

/** An MNIST source table whose files live at each of `bases` + "/<name>". */
function mnistTable(bases: string[], files: Record<string, Buffer>): Partial<SourceTable> {
  const source: DatasetSource = { name: "mnist", home: "test", files: IDX_NAMES.map((name) => ({ name, urls: bases.map((b) => `${b}/${name}`), md5: md5(files[name]) })) };
  return { mnist: source };
}

/** Prefixes every key with `prefix` (the server path of a mirror folder). */
const under = (prefix: string, files: Record<string, Buffer>): Record<string, Buffer> => Object.fromEntries(Object.entries(files).map(([k, v]) => [`${prefix}/${k}`, v]));

test("MNIST: downloaded, verified and read back by the loader; a second call makes no request", async (t) => {
  const dir = tempDir(t);
  const { files, trainPixels, trainLabels } = tinyMnist(dir);
  const server = await serve(t, under("/mnist", files));
  const sources = mnistTable([`${server.base}/mnist`], files);
  const root = join(dir, "data", "mnist");
  assert.deepEqual(missingDatasetFiles("mnist", root, { sources }), IDX_NAMES);

  const lines: string[] = [];
  const first = await downloadDataset("mnist", { root, sources, progress: "none", log: (l) => lines.push(l) });
  assert.deepEqual(first.files.map((f) => f.status), ["downloaded", "downloaded", "downloaded", "downloaded"]);
  assert.equal(server.requests.length, 4);
  assert.deepEqual(readdirSync(root).sort(), [...IDX_NAMES].sort(), "no .part or temp file is left");
  assert.match(lines[0], new RegExp(`train-images-idx3-ubyte\\.gz: downloaded from ${server.base}/mnist/train-images-idx3-ubyte\\.gz, MD5 ok`));
  assert.deepEqual(missingDatasetFiles("mnist", root, { sources }), []);

  const ds = await loadDataset("mnist", { root });
  assert.equal(ds.format, "idx (gzip)");
  assert.deepEqual(ds.splits.train.shape, [3, 1, 28, 28]);
  assert.deepEqual(Array.from(ds.splits.train.labels), trainLabels);
  assert.ok(Buffer.from(ds.splits.train.images).equals(Buffer.from(trainPixels)));

  const second = await downloadDataset("mnist", { root, sources, progress: "none" });
  assert.deepEqual(second.files.map((f) => f.status), ["present", "present", "present", "present"]);
  assert.equal(server.requests.length, 4, "files already there with the right MD5 are not fetched again");
});

test("a 404 on the first mirror falls through to the second", async (t) => {
  const dir = tempDir(t);
  const { files } = tinyMnist(dir);
  const server = await serve(t, under("/good", files));
  const sources = mnistTable([`${server.base}/gone`, `${server.base}/good`], files);
  const result = await downloadDataset("mnist", { root: join(dir, "m"), sources, progress: "none" });
  assert.deepEqual(result.files.map((f) => f.url), IDX_NAMES.map((n) => `${server.base}/good/${n}`));
  assert.deepEqual(server.requests.slice(0, 2).map((r) => r.path), ["/gone/train-images-idx3-ubyte.gz", "/good/train-images-idx3-ubyte.gz"]);
});

test("a truncated transfer keeps the .part and fails; the next call resumes it with a Range request", async (t) => {
  const dir = tempDir(t);
  const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31) % 251));
  const server = await serve(t, { "/svhn/train_32x32.mat": body, "/svhn/test_32x32.mat": Buffer.from("test") }, { "/svhn/train_32x32.mat": "cut-once" });
  const sources: Partial<SourceTable> = {
    svhn: { name: "svhn", home: "test", files: [
      { name: "train_32x32.mat", urls: [`${server.base}/svhn/train_32x32.mat`], md5: md5(body) },
      { name: "test_32x32.mat", urls: [`${server.base}/svhn/test_32x32.mat`], md5: md5(Buffer.from("test")) },
    ] },
  };
  const root = join(dir, "svhn");
  const final = join(root, "train_32x32.mat");
  const err = await downloadDataset("svhn", { root, sources, progress: "none" }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DownloadError, String(err));
  assert.match(err.message, new RegExp(`${server.base}/svhn/train_32x32\\.mat: the server closed the connection after 5000 of 10000 bytes`));
  assert.match(err.message, /the partial file .*train_32x32\.mat\.part \(5000 bytes\) is kept, run again to resume/);
  assert.equal(existsSync(final), false, "nothing under the final name");
  assert.equal(readFileSync(`${final}.part`).length, 5000);

  const result = await downloadDataset("svhn", { root, sources, progress: "none" });
  assert.deepEqual(result.files.map((f) => f.status), ["resumed", "downloaded"]);
  assert.deepEqual(server.requests.slice(0, 2), [{ path: "/svhn/train_32x32.mat" }, { path: "/svhn/train_32x32.mat", range: "bytes=5000-" }]);
  assert.ok(readFileSync(final).equals(body));
  assert.equal(existsSync(`${final}.part`), false);
});

test("a wrong checksum is an error naming both MD5s; nothing is left under either name", async (t) => {
  const dir = tempDir(t);
  const { files } = tinyMnist(dir);
  const server = await serve(t, under("/m", files));
  const sources = mnistTable([`${server.base}/m`], files);
  const expected = "0123456789abcdef0123456789abcdef";
  const bad = { mnist: { ...sources.mnist!, files: sources.mnist!.files.map((f, i) => (i === 0 ? { ...f, md5: expected } : f)) } };
  const root = join(dir, "m");
  await assert.rejects(downloadDataset("mnist", { root, sources: bad, progress: "none" }), (e: Error) => {
    assert.ok(e instanceof DownloadError);
    assert.equal(e.message, `could not download train-images-idx3-ubyte.gz into ${root} (tried 1 URL): ${server.base}/m/train-images-idx3-ubyte.gz: ` +
      `checksum mismatch: the download's MD5 is ${md5(files["train-images-idx3-ubyte.gz"])}, expected ${expected}; deleted it`);
    return true;
  });
  assert.deepEqual(readdirSync(root), []);
});

test("a dead server is an error naming every URL tried; a silent one times out", async (t) => {
  const dir = tempDir(t);
  const [a, b] = [await deadPort(), await deadPort()];
  const { files } = tinyMnist(dir);
  const sources = mnistTable([`http://127.0.0.1:${a}/x`, `http://127.0.0.1:${b}/y`], files);
  await assert.rejects(downloadDataset("mnist", { root: join(dir, "m"), sources, progress: "none" }), new RegExp(
    `could not download train-images-idx3-ubyte\\.gz into .* \\(tried 2 URLs\\): http://127\\.0\\.0\\.1:${a}/x/train-images-idx3-ubyte\\.gz: connection refused \\(nothing listening\\); ` +
    `http://127\\.0\\.0\\.1:${b}/y/train-images-idx3-ubyte\\.gz: connection refused`));

  const server = await serve(t, under("/s", files), { "/s/train-images-idx3-ubyte.gz": "stall-headers" });
  const t0 = performance.now();
  await assert.rejects(downloadDataset("mnist", { root: join(dir, "m"), sources: mnistTable([`${server.base}/s`], files), timeoutMs: 200, progress: "none" }),
    /train-images-idx3-ubyte\.gz: no response within 0\.2 s/);
  assert.ok(performance.now() - t0 < 5000);
});

test("Ctrl-C stops a transfer and keeps the partial file", async (t) => {
  const dir = tempDir(t);
  const { files } = tinyMnist(dir);
  const server = await serve(t, under("/s", files), { "/s/train-images-idx3-ubyte.gz": "stall-body" });
  const root = join(dir, "m");
  const run = downloadDataset("mnist", { root, sources: mnistTable([`${server.base}/s`], files), progress: "none" });
  await server.stalled;
  await new Promise((r) => setTimeout(r, 50));
  process.emit("SIGINT");
  await assert.rejects(run, (e: Error) => e instanceof Interrupted && /download train-images-idx3-ubyte\.gz interrupted; the partial file .*\.part is kept/.test(e.message));
  const half = files["train-images-idx3-ubyte.gz"].length >> 1;
  assert.equal(readFileSync(join(root, "train-images-idx3-ubyte.gz.part")).length, half);
});

/** A CIFAR-10 binary archive laid out as published (folder cifar-10-batches-bin), `n` images per training batch; `dir` holds the parts. */
function tinyCifar10(dir: string, n: number): Buffer {
  const entries = [{ name: "cifar-10-batches-bin/" }] as { name: string; data?: Uint8Array }[];
  const batch = (file: string, labels: number[]): void => {
    writeCifar(join(dir, file), labels.map((l) => [l]), patternImages(labels.length, 3, 32, 32));
    entries.push({ name: `cifar-10-batches-bin/${file}`, data: readFileSync(join(dir, file)) });
  };
  for (let i = 1; i <= 5; i++) batch(`data_batch_${i}.bin`, Array.from({ length: n }, (_, k) => (i + k) % 10));
  batch("test_batch.bin", Array.from({ length: 10 }, (_, k) => k));
  entries.push({ name: "cifar-10-batches-bin/batches.meta.txt", data: Buffer.from("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n") });
  entries.push({ name: "cifar-10-batches-bin/readme.html", data: Buffer.from("<html></html>") });
  return tarGz(entries);
}

test("CIFAR-10: the archive is verified, unpacked where the loader looks, and loads; a second call makes no request", async (t) => {
  const dir = tempDir(t);
  const archive = tinyCifar10(dir, 2);
  const server = await serve(t, { "/kriz/cifar-10-binary.tar.gz": archive });
  const sources: Partial<SourceTable> = { cifar10: { ...DATASET_SOURCES.cifar10, files: [{ ...DATASET_SOURCES.cifar10.files[0], urls: [`${server.base}/kriz/cifar-10-binary.tar.gz`], md5: md5(archive) }] } };
  const root = join(dir, "cifar10");
  await assert.rejects(ensureDatasetFiles("cifar10", root, { download: false, sources }),
    new RegExp(`${root}: the cifar10 files are missing \\(batches\\.meta\\.txt, data_batch_1\\.bin, data_batch_2\\.bin, data_batch_3\\.bin and 3 more\\); download them \\(162 MB\\) with \`idfr data download cifar10 --root ${root}\`, or add --download`));

  const result = await ensureDatasetFiles("cifar10", root, { download: true, sources, progress: "none" });
  assert.deepEqual(result?.unpacked, [join(root, "cifar-10-batches-bin")]);
  assert.deepEqual(readdirSync(root).sort(), ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"], "no temp folder or .part is left");
  const ds = await loadDataset("cifar10", { root });
  assert.equal(ds.format, "CIFAR-10 binary");
  assert.equal(ds.splits.train.shape[0], 10);
  assert.equal(ds.classes[9], "truck");
  assert.deepEqual(Array.from(ds.splits.train.labels.subarray(0, 4)), [1, 2, 2, 3]);

  assert.equal(await ensureDatasetFiles("cifar10", root, { download: true, sources }), null);
  const again = await downloadDataset("cifar10", { root, sources, progress: "none" });
  assert.deepEqual(again.files.map((f) => f.status), ["present"]);
  assert.equal(server.requests.length, 1);
});

test("unpacking refuses paths outside the destination and reads GNU tar's long names", async (t) => {
  const dir = tempDir(t);
  const evil = join(dir, "evil.tar.gz");
  writeFileSync(evil, tarGz([{ name: "cifar-10-batches-bin/../../escaped.txt", data: Buffer.from("x") }]));
  await assert.rejects(extractTarGz(evil, join(dir, "out")), /evil\.tar\.gz: entry "cifar-10-batches-bin\/\.\.\/\.\.\/escaped\.txt" has an absolute path or a "\.\." part; refusing to unpack it \(at byte offset 512\)/);
  assert.equal(existsSync(join(dir, "escaped.txt")), false);

  const notGzip = join(dir, "plain.tar.gz");
  writeFileSync(notGzip, "not an archive");
  await assert.rejects(extractTarGz(notGzip, join(dir, "out2")), /plain\.tar\.gz: not a valid gzip stream/);

  // An archive written by the system's tar (GNU format): a 150-character path needs a long-name entry.
  let hasTar = true;
  try {
    execFileSync("tar", ["--version"], { stdio: "ignore" });
  } catch {
    hasTar = false;
  }
  if (!hasTar) return t.diagnostic("no tar command: the GNU long-name check is skipped");
  const src = join(dir, "src");
  const longDir = join(src, "top", "d".repeat(70), "e".repeat(70));
  mkdirSync(longDir, { recursive: true });
  writeFileSync(join(longDir, "file.bin"), Buffer.from([1, 2, 3, 4, 5]));
  writeFileSync(join(src, "top", "other.txt"), "hello\n");
  execFileSync("tar", ["--format=gnu", "-czf", join(dir, "gnu.tar.gz"), "-C", src, "top"]);
  const written = await extractTarGz(join(dir, "gnu.tar.gz"), join(dir, "out3"), { only: "top" });
  assert.deepEqual(written.sort(), [`top/${"d".repeat(70)}/${"e".repeat(70)}/file.bin`, "top/other.txt"]);
  assert.deepEqual([...readFileSync(join(dir, "out3", "top", "d".repeat(70), "e".repeat(70), "file.bin"))], [1, 2, 3, 4, 5]);
});

test("idfr data download: --root, progress none, and what it prints", async (t) => {
  const dir = tempDir(t);
  const { files } = tinyMnist(dir);
  const server = await serve(t, under("/m", files));
  const out: string[] = [];
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {} });
  registerDataCommands(program, { write: (s: string) => out.push(s) }, mnistTable([`${server.base}/m`], files));
  const root = join(dir, "digits");
  await program.parseAsync(["data", "download", "mnist", "--root", root, "--progress", "none"], { from: "user" });
  assert.equal(out.length, 6);
  assert.equal(out[4], `mnist: 4 files downloaded in ${root} (MD5s checked against the published ones)\n`);
  assert.equal(out[5], `use it with --root ${root}, e.g. \`idfr data info mnist --root ${root}\`\n`);
  out.length = 0;
  await program.parseAsync(["data", "download", "mnist", "--root", root], { from: "user" });
  assert.match(out.at(-2)!, /mnist: already complete in /);
  assert.equal(server.requests.length, 4);
  await assert.rejects(program.parseAsync(["data", "download", "imagenet"], { from: "user" }), /value 'imagenet' is invalid for argument 'name'\. Allowed choices are cifar10, cifar100, svhn, mnist, fashion-mnist/);
});

test("idfr run on a paper preset whose files are missing names the download command (no --download: nothing fetched)", async (t) => {
  const { registerRunCommands } = await import("../../src/cli/run.js");
  const root = join(tempDir(t), "cifar");
  mkdirSync(root);
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {} });
  registerRunCommands(program);
  await assert.rejects(program.parseAsync(["run", "paper-cifar100", "--data", root, "--out", join(root, "out")], { from: "user" }),
    { message: `${root}: the cifar100 files are missing (train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt); download them (161 MB) with \`idfr data download cifar100 --root ${root}\`, or add --download` });
  assert.deepEqual(readdirSync(root), [], "nothing was written before the check");
});
