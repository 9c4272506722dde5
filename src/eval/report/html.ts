/**
 * The report as one self-contained HTML page: inline CSS, charts as inline SVG, images as data
 * URIs, no scripts and nothing fetched, so it can be mailed or archived as a single file.
 */
import type { ResultRecord } from "../results.js";
import type { Chart } from "./charts.js";
import { attackLabel, defenseLabel, epsLabel, percent, targetLabel } from "./names.js";
import { MASKING_NOTE, maskingChecks, maskingLine } from "./masking.js";
import { baselineNotes } from "./baseline-notes.js";
import type { SampleGrid } from "./samples.js";
import { SERIES_LABELS, SUMMARY_SERIES, type SummaryGroup } from "./summary.js";
import { tableNote, type ReportTable } from "./tables.js";

/** Everything the page shows, already computed and rendered. */
export interface HtmlReportParts {
  records: readonly ResultRecord[];
  tables: readonly ReportTable[];
  summary: readonly SummaryGroup[];
  summaryChart: Chart | null;
  epsCharts: readonly Chart[];
  samples: SampleGrid | null;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

const STYLE = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
li.flagged { color: #b00; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; text-align: center; } td:first-child, th:first-child { text-align: left; }
tr.idfr td { font-weight: bold; } p.note { color: #555; font-size: 0.9em; max-width: 60em; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; } figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
.grid td { text-align: left; vertical-align: middle; } .grid img { image-rendering: pixelated; display: block; }
.scroll { overflow-x: auto; }
`;

/** A table in the paper's layout; with two targets a second header row names them, as Table 1 does. */
export function tableHtml(t: ReportTable): string {
  const two = t.targets.length > 1;
  const groups: { group: string; span: number }[] = [];
  for (const c of t.columns) {
    const last = groups[groups.length - 1];
    if (last && last.group === c.group) last.span++;
    else groups.push({ group: c.group, span: 1 });
  }
  const head = two
    ? `<tr><th rowspan="2">Defense</th>${groups.map((g) => `<th colspan="${g.span}">${escapeHtml(g.group)}</th>`).join("")}</tr>` +
      `<tr>${t.columns.map((c) => `<th>${escapeHtml(targetLabel(c.target))}</th>`).join("")}</tr>`
    : `<tr><th>Defense</th>${t.columns.map((c) => `<th>${escapeHtml(c.group)}</th>`).join("")}</tr>`;
  const body = t.rows.map((r) => `<tr${r.defense === "id+fr" ? ' class="idfr"' : ""}><td>${escapeHtml(r.label)}</td>${r.cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  return `<div class="scroll"><table><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div>\n<p class="note">${escapeHtml(tableNote(t))}</p>`;
}

function summaryTable(groups: readonly SummaryGroup[]): string {
  const head = `<tr><th>Setting</th>${SUMMARY_SERIES.map((s) => `<th>${escapeHtml(SERIES_LABELS[s])}</th>`).join("")}</tr>`;
  const rows = groups.map((g) => `<tr><td>${escapeHtml(g.label)}</td>${SUMMARY_SERIES.map((s) => {
    const v = g.values[s];
    const worst = s === "baselineWorst" && g.worstBaseline ? ` (${defenseLabel(g.worstBaseline)})` : "";
    return `<td>${v === undefined ? "–" : escapeHtml(percent(v) + worst)}</td>`;
  }).join("")}</tr>`);
  return `<table><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`;
}

function figure(chart: Chart): string {
  // Vega's SVG is markup we generated from our own numbers and labels (escaped by Vega).
  return `<figure>${chart.svg}</figure>`;
}

function samplesSection(s: SampleGrid): string {
  const eps = s.eps === undefined ? "" : `, ε = ${epsLabel(s.eps)}/255`;
  const rows = s.rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td><td><img alt="${escapeHtml(r.label)}" src="${r.src}" width="${r.width}" height="${r.height}"></td></tr>`).join("\n");
  return `<h2>Examples</h2>\n<p>${escapeHtml(`${attackLabel(s.attack)}${eps}: clean images, their adversarial examples, the perturbation magnified, and the input denoiser's output on the adversarial examples.`)}</p>\n<table class="grid"><tbody>\n${rows}\n</tbody></table>`;
}

/** The complete page. */
export function renderHtml(parts: HtmlReportParts): string {
  const datasets = [...new Set(parts.records.map((r) => r.dataset))].length;
  const sections: string[] = [
    `<h1>IDFR evaluation report</h1>`,
    `<p>${parts.records.length} results on ${datasets} dataset${datasets === 1 ? "" : "s"}. Accuracy (%) of each defense on clean test images and on adversarial examples; <code>a/b/c</code> are the values at ε = a, b, c on the 0–255 scale (l<sub>∞</sub>).</p>`,
  ];
  if (parts.summary.length) {
    sections.push(`<h2>Averages</h2>`, `<p class="note">Mean accuracy over every attack, ε and target of a setting; the worst baseline is the one with the lowest mean (as in the paper's Fig. 3).</p>`);
    if (parts.summaryChart) sections.push(figure(parts.summaryChart));
    sections.push(summaryTable(parts.summary));
  }
  sections.push(`<h2>Tables</h2>`);
  for (const t of parts.tables) sections.push(`<h3>${escapeHtml(t.title)}</h3>`, tableHtml(t));
  if (parts.epsCharts.length) {
    sections.push(`<h2>Accuracy against ε</h2>`, `<p class="note">ε = 0 is the clean accuracy; bands are 95 % Wilson intervals.</p>`, `<div class="charts">${parts.epsCharts.map(figure).join("\n")}</div>`);
  }
  const masking = maskingChecks(parts.records);
  if (masking.length) {
    // maskingLine marks the verdict with Markdown bold; HTML gets <strong>.
    const items = masking.map((r) => `<li${r.flagged ? ' class="flagged"' : ""}>${escapeHtml(maskingLine(r)).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")}</li>`);
    sections.push(`<h2>Gradient-masking check</h2>`, `<p class="note">${escapeHtml(MASKING_NOTE)}</p>`, `<ul>\n${items.join("\n")}\n</ul>`);
  }
  const notes = baselineNotes(parts.records);
  if (notes.length) sections.push(`<h2>Notes on the baselines</h2>`, `<ul>\n${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("\n")}\n</ul>`);
  if (parts.samples) sections.push(samplesSection(parts.samples));
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>IDFR evaluation report</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${sections.join("\n")}\n</body>\n</html>\n`;
}
