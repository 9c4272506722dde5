/**
 * The page of `idfr serve` in headless Chromium (Debian's, driven by playwright-core): it loads
 * without console errors, picking a sample image shows both predictions, the purified image and
 * what the denoiser removed, and "attack" fills the transfer and adaptive rows; an image of one's
 * own (another size, in colour) is resized, classified and attacked too.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { after, test } from "node:test";
import { pino } from "pino";
import sharp from "sharp";
import { createServer } from "../../src/serve/server.js";
import { makeDefenseFolder } from "./fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const folders = makeDefenseFolder();
after(() => rmSync(folders.root, { recursive: true, force: true }));

test("the page classifies and attacks a sample image in Chromium without console errors", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed`);
    return;
  }
  const server = await createServer({ models: [{ dir: folders.defenseDir, name: "digits" }], logger: pino({ level: "silent" }) });
  const url = await server.listen("127.0.0.1", 0);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const foreign: string[] = [];
    page.on("request", (r) => { if (!r.url().startsWith(url) && !/^(data|blob):/.test(r.url())) foreign.push(r.url()); });
    await page.goto(`${url}/`, { waitUntil: "load" });
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    assert.equal(await page.locator("#samples button").count(), 20);
    assert.match(await page.textContent("#model-info") ?? "", /small-cnn, input 1x28x28, 10 classes, defense id\+fr/);

    await page.click("#samples button:nth-child(5)");
    await page.waitForSelector("body[data-classified='1']", { timeout: 30_000 });
    assert.match(await page.textContent("#pred-plain") ?? "", /^undefended: \S+ \(\d+\.\d %\)$/);
    assert.match(await page.textContent("#pred-defended") ?? "", /^defended: \S+ \(\d+\.\d %\)$/);
    // Strings, not functions: the test's compiled functions reference helpers the page lacks.
    const decoded = (sel: string) => page.evaluate(`(() => { const i = document.querySelector(${JSON.stringify(sel)}); return i.complete && i.naturalWidth === 28; })()`);
    await page.waitForFunction(`document.getElementById("img-removed").naturalWidth > 0`);
    for (const sel of ["#img-input", "#img-purified", "#img-removed"]) assert.ok(await decoded(sel), `${sel} shows a 28x28 image`);

    await page.selectOption("#attack", "fgsm");
    await page.selectOption("#eps", "16");
    await page.click("#run-attack");
    await page.waitForSelector("body[data-attacked='1']", { timeout: 60_000 });
    assert.equal(await page.isVisible("#attack-table"), true);
    for (const row of ["#row-transfer", "#row-adaptive"]) {
      assert.equal(await page.locator(`${row} td.img img`).count(), 1);
      assert.equal(await page.locator(`${row} td.pert img`).count(), 1);
      assert.match(await page.textContent(`${row} td.u`) ?? "", /\(\d+\.\d %\)/);
      assert.match(await page.textContent(`${row} td.d`) ?? "", /\(\d+\.\d %\)/);
    }
    assert.match(await page.textContent("#status") ?? "", /FGSM at ε = 16\/255 against class \d: [\d.]+ s on the server/);

    // One's own image, of another size and in colour: resized, classified, attacked.
    const own = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toBuffer();
    await page.setInputFiles("#file", { name: "own.png", mimeType: "image/png", buffer: own });
    await page.waitForSelector("body[data-classified='2']", { timeout: 30_000 });
    await page.waitForFunction(`document.getElementById("img-purified").naturalWidth === 28`);
    await page.click("#run-attack");
    await page.waitForSelector("body[data-attacked='2']", { timeout: 60_000 });
    assert.doesNotMatch(await page.textContent("#status") ?? "", /error|must|cannot/i);

    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, [], "the page loads nothing from elsewhere");
  } finally {
    await browser.close();
    await server.close();
  }
});
