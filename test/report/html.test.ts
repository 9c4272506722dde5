/**
 * The HTML report, end to end: `idfr report` on a results folder (the fixture plus a samples file
 * written here), then the page opened in headless Chromium: no console errors, no network requests,
 * every chart drawn and every image decoded.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { registerReportCommand } from "../../src/cli/report.js";
import { writeReport } from "../../src/eval/report/index.js";
import { manualSeed, rand, saveSafetensors, tidy } from "../../src/torch/index.js";

const CHROMIUM = "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "idfr-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

copyFileSync(new URL("./fixtures/results.json", import.meta.url), join(dir, "results.json"));
manualSeed(0);
tidy(() => {
  const clean = rand([5, 3, 32, 32]);
  const adversarial = clean.add(rand([5, 3, 32, 32]).sub(0.5).sign().mul(8 / 255)).clamp(0, 1);
  saveSafetensors(join(dir, "samples.safetensors"), { clean, adversarial, denoised: clean.mul(0.9) }, { attack: "bim", eps: "8/255" });
});

/** Runs `idfr report <args>` through commander and returns what it printed. */
async function runReport(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const program = new Command("idfr").exitOverride().configureOutput({ writeOut: (s) => chunks.push(s) });
  registerReportCommand(program);
  await program.parseAsync(["report", ...args], { from: "user" });
  return chunks.join("");
}

test("idfr report writes report.md and report.html next to results.json and says where", async () => {
  const printed = await runReport([dir]);
  assert.equal(printed, `wrote ${join(dir, "report.md")}\nwrote ${join(dir, "report.html")}\n`);
  const html = readFileSync(join(dir, "report.html"), "utf8");
  assert.ok(html.includes("<td>80.3/64.6/46.1</td>"));
  assert.ok(!/<script|<link|\ssrc="http|url\(http/i.test(html), "the page must not load anything");
});

test("--out writes elsewhere; without a samples file there are no grids", async () => {
  const bare = mkdtempSync(join(tmpdir(), "idfr-report-bare-"));
  try {
    copyFileSync(join(dir, "results.json"), join(bare, "results.json"));
    const out = join(bare, "out");
    const printed = await runReport([bare, "--out", out]);
    assert.match(printed, /no samples\.safetensors: no image grids/);
    assert.ok(existsSync(join(out, "report.md")) && existsSync(join(out, "report.html")));
    assert.ok(!readFileSync(join(out, "report.html"), "utf8").includes("<img"));
    await assert.rejects(writeReport(join(bare, "missing")), /results\.json: cannot read the results \(ENOENT\)/);
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

test("the page opens in headless Chromium without errors, every chart and image visible", { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed`);
    return;
  }
  const file = join(dir, "report.html");
  if (!existsSync(file)) await writeReport(dir);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const requests: string[] = [];
    page.on("request", (r) => { if (!r.url().startsWith("data:")) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    // A string, not a function: the test's compiled functions reference helpers the page lacks.
    const found = (await page.evaluate(`(() => {
      const visible = (e) => {
        const r = e.getBoundingClientRect();
        const s = getComputedStyle(e);
        return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
      };
      const svgs = [...document.querySelectorAll("figure > svg")];
      const imgs = [...document.querySelectorAll("img")];
      return {
        svgs: svgs.length,
        svgsVisible: svgs.filter(visible).length,
        svgsWithMarks: svgs.filter((s) => s.querySelectorAll("path").length > 3).length,
        imgs: imgs.length,
        imgsDecoded: imgs.filter((i) => i.complete && i.naturalWidth > 0 && visible(i)).length,
        tables: document.querySelectorAll("table").length,
      };
    })()`)) as Record<string, number>;
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], "only the page itself may be loaded");
    // A drawn chart has marks (bars, lines) as paths. The Fig. 3 chart plus one ε chart per (dataset, threat, target, attack): 2 targets × 3 attacks + 1.
    assert.equal(found.svgs, 8);
    assert.equal(found.svgsVisible, 8);
    assert.equal(found.svgsWithMarks, 8);
    // Clean, adversarial, perturbation, ID output.
    assert.equal(found.imgs, 4);
    assert.equal(found.imgsDecoded, 4);
    // Averages, two result tables, the image grid.
    assert.equal(found.tables, 4);
  } finally {
    await browser.close();
  }
});
