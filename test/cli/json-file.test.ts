/** JSON files written by other tools: a UTF-8 byte order mark is accepted; errors name the file. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readJsonFile } from "../../src/core/json-file.js";
import { readModelInfo, saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";

const dir = mkdtempSync(join(tmpdir(), "idfr-json-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("readJsonFile ignores a leading UTF-8 byte order mark, and only a leading one", () => {
  const file = join(dir, "bom.json");
  writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name": "demo"}')]));
  assert.deepEqual(readJsonFile(file), { name: "demo" });
  writeFileSync(file, '{"name": "demo"}\ufeff');
  assert.throws(() => readJsonFile(file), new RegExp(`^Error: ${file}: not valid JSON`));
  assert.throws(() => readJsonFile(join(dir, "none.json"), "the config"), /none\.json: cannot read the config \(ENOENT\)/);
});

test("a model.json saved with a byte order mark (e.g. by a Windows editor) loads", () => {
  const model = createClassifier("small-cnn", { numClasses: 3, inputShape: [1, 8, 8], width: 0.25, normalization: { mean: [0], std: [1] } });
  saveClassifier(join(dir, "m"), model, { dataset: "mnist" });
  model.dispose();
  const path = join(dir, "m", "model.json");
  writeFileSync(path, `\ufeff${readFileSync(path, "utf8")}`);
  assert.equal(readFileSync(path)[0], 0xef);
  assert.equal(readModelInfo(join(dir, "m")).dataset, "mnist");
});
