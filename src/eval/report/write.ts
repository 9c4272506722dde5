/** Reads a results folder and writes report.md and report.html. */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureDir } from "../../core/fs.js";
import { readJsonFile } from "../../core/json-file.js";
import { validateResults, type ResultRecord } from "../results.js";
import { epsCharts, renderSvg, summarySpec } from "./charts.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import { loadSampleGrid, type SampleGrid } from "./samples.js";
import { summarize } from "./summary.js";
import { buildTables } from "./tables.js";

/** Where {@link writeReport} put its files. */
export interface WrittenReport {
  markdown: string;
  html: string;
  /** Whether image grids were included (a samples file was found). */
  withSamples: boolean;
}

/** Parses and validates `<dir>/results.json`. */
export function readResults(dir: string): ResultRecord[] {
  const file = join(dir, "results.json");
  return validateResults(readJsonFile(file, "the results"), file);
}

/** The HTML page for `records`, with image grids when `samples` are given (see {@link loadSampleGrid}). */
export async function renderHtmlReport(records: readonly ResultRecord[], samples: SampleGrid | null = null): Promise<string> {
  const summary = summarize(records);
  return renderHtml({
    records,
    tables: buildTables(records),
    summary,
    summaryChart: summary.length ? { title: "Averages", svg: await renderSvg(summarySpec(summary)) } : null,
    epsCharts: await epsCharts(records),
    samples,
  });
}

/**
 * Renders `<resultsDir>/results.json` (and `samples.safetensors` when present) to `report.md`
 * and `report.html` in `outDir` (default: the results folder).
 */
export async function writeReport(resultsDir: string, outDir: string = resultsDir): Promise<WrittenReport> {
  const records = readResults(resultsDir);
  const samples = await loadSampleGrid(resultsDir);
  const html = await renderHtmlReport(records, samples);
  ensureDir(outDir, "the report");
  const paths = { markdown: resolve(outDir, "report.md"), html: resolve(outDir, "report.html") };
  writeFileSync(paths.markdown, renderMarkdown(records));
  writeFileSync(paths.html, html);
  return { ...paths, withSamples: samples !== null };
}
