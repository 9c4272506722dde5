/**
 * The certified-robustness section: certified accuracy against the L2 radius, one line per
 * smoothed classifier and one panel per σ (as Cohen et al.'s and Salman et al.'s figures), and a
 * table of certified accuracy at a few radii with abstentions and run time. Rendered with
 * Vega-Lite to SVG like the experiment report's charts.
 */
import { readJsonFile } from "../core/json-file.js";
import { renderSvg } from "../eval/report/charts.js";
import type { TopLevelSpec } from "vega-lite";
import type { CertifyResults } from "./run.js";

/** Radii of the table's columns. */
export const TABLE_RADII = [0, 0.25, 0.5, 0.75, 1];

/** One results file with the name its line gets. */
export interface CertifySeries {
  label: string;
  results: CertifyResults;
}

/** Reads a results file of `idfr certify`, refusing unfinished or foreign ones by name. */
export function readCertifyResults(path: string): CertifyResults {
  const r = readJsonFile(path, "the certification results") as Partial<CertifyResults>;
  if (r?.format !== "idfr-certify") throw new Error(`${path}: not a results file of idfr certify (format ${JSON.stringify(r?.format)})`);
  if (!r.summary) throw new Error(`${path}: unfinished (${r.images?.length ?? 0} images so far); run idfr certify again to finish it`);
  return r as CertifyResults;
}

function accuracyAt(r: CertifyResults, radius: number): number {
  return r.images.filter((im) => im.correct && im.radius >= radius).length / r.images.length;
}

/** The Markdown table: a row per series, certified accuracy (%) at {@link TABLE_RADII}. */
export function certifyTable(series: readonly CertifySeries[]): string {
  const head = `| Smoothed classifier | σ | ${TABLE_RADII.map((r) => `r = ${r}`).join(" | ")} | Abstained | Images | n | Time (s) |`;
  const rule = `| --- | ---: | ${TABLE_RADII.map(() => "---:").join(" | ")} | ---: | ---: | ---: | ---: |`;
  const rows = [...series].sort((a, b) => a.results.settings.sigma - b.results.settings.sigma).map(({ label, results: r }) =>
    `| ${label} | ${r.settings.sigma} | ${TABLE_RADII.map((x) => (100 * accuracyAt(r, x)).toFixed(1)).join(" | ")} | ${r.summary!.abstained} | ${r.images.length} | ${r.settings.n} | ${r.summary!.seconds.toFixed(0)} |`);
  return [head, rule, ...rows].join("\n");
}

/** Certified accuracy (%) against radius, a panel per σ, a line per series. */
export function certifySpec(series: readonly CertifySeries[]): TopLevelSpec {
  const values = series.flatMap(({ label, results: r }) => r.summary!.curve
    .filter((p) => p.radius <= 2.5 * r.settings.sigma + 1e-9)
    .map((p) => ({ series: label, sigma: `σ = ${r.settings.sigma}`, radius: p.radius, accuracy: Math.round(p.accuracy * 1000) / 10 })));
  const sigmas = [...new Set(series.map((s) => s.results.settings.sigma))].sort((a, b) => a - b).map((s) => `σ = ${s}`);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Certified accuracy against L2 radius (randomized smoothing, CERTIFY)",
    config: { font: "Helvetica, Arial, sans-serif", legend: { orient: "bottom", labelLimit: 400 } },
    data: { values },
    facet: { column: { field: "sigma", type: "nominal", sort: sigmas, title: null } },
    spec: {
      width: 240, height: 220,
      mark: { type: "line", interpolate: "step-after" },
      encoding: {
        x: { field: "radius", type: "quantitative", title: "L2 radius" },
        y: { field: "accuracy", type: "quantitative", title: "Certified accuracy (%)", scale: { domain: [0, 100] } },
        color: { field: "series", type: "nominal", title: null },
      },
    },
  };
}

/** The section as Markdown (table) and SVG (chart). */
export async function certifySection(series: readonly CertifySeries[]): Promise<{ markdown: string; svg: string }> {
  if (series.length === 0) throw new RangeError("certify report: no results files");
  const first = series[0].results.settings;
  const markdown = [
    "## Certified robustness (randomized smoothing)",
    "",
    `CERTIFY of Cohen et al. (2019): n0 = ${first.n0} selection samples, n = ${first.n} estimation samples, α = ${first.alpha}; ` +
    "certified accuracy (%) is the share of images whose smoothed prediction is correct with a certified L2 radius of at least r (abstentions count as wrong).",
    "",
    certifyTable(series),
    "",
  ].join("\n");
  return { markdown, svg: await renderSvg(certifySpec(series)) };
}
