/**
 * Charts as Vega-Lite specifications, rendered to SVG on the server by Vega (no browser, no
 * canvas): the Fig. 3 bar chart of averages and accuracy-versus-ε lines with 95 % interval bands.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ResultRecord } from "../results.js";
import { attackLabel, datasetLabel, defenseLabel, epsLabel, firstSeen, sortAttacks, sortDefenses, sortPlain, sortThreats, targetLabel, threatShort } from "./names.js";
import { isAttacked, RecordIndex } from "./records.js";
import { SERIES_LABELS, SUMMARY_SERIES, type SummaryGroup } from "./summary.js";

/** A chart ready to embed. */
export interface Chart {
  title: string;
  svg: string;
}

/** Renders a Vega-Lite spec to an SVG string (Vega's headless renderer; text widths are estimated). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { font: "Helvetica, Arial, sans-serif", labelFont: "Helvetica, Arial, sans-serif", titleFont: "Helvetica, Arial, sans-serif" };

/** The Fig. 3 chart: per (dataset, threat) group, one bar per series, in %. */
export function summarySpec(groups: readonly SummaryGroup[]): TopLevelSpec {
  const order = SUMMARY_SERIES.map((s) => SERIES_LABELS[s]);
  const values = groups.flatMap((g) => SUMMARY_SERIES.flatMap((s) => {
    const v = g.values[s];
    return v === undefined ? [] : [{ group: g.label, series: SERIES_LABELS[s], accuracy: Math.round(v * 1000) / 10 }];
  }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Average accuracy per setting (as in the paper's Fig. 3)",
    config: { ...FONT, legend: { orient: "bottom", columns: 3, labelLimit: 300 } },
    data: { values },
    width: Math.max(320, 150 * groups.length),
    height: 260,
    encoding: {
      x: { field: "group", type: "nominal", title: null, sort: groups.map((g) => g.label), axis: { labelAngle: 0 } },
      xOffset: { field: "series", type: "nominal", sort: order },
      y: { field: "accuracy", type: "quantitative", title: "Accuracy (%)", scale: { domain: [0, 100] } },
      color: { field: "series", type: "nominal", sort: order, title: null, scale: { range: ["#9e9e9e", "#d62728", "#8c9fd1", "#1f3f8f", "#2ca02c"] } },
    },
    layer: [
      { mark: { type: "bar" } },
      { mark: { type: "text", dy: -5, fontSize: 9 }, encoding: { text: { field: "accuracy", type: "quantitative", format: ".1f" } } },
    ],
  };
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#aec7e8", "#ffbb78", "#ff9896", "#c5b0d5"];
const FIXED_COLOURS: Record<string, string> = { none: "#7f7f7f", id: "#98df8a", "id+fr": "#2ca02c" };

/**
 * One colour per defense for the whole report, so a line means the same defense in every chart:
 * grey for the undefended target, greens for ID and IDFR, the baselines in their table order.
 */
export function defenseColor(defense: string): string {
  const fixed = FIXED_COLOURS[defense];
  if (fixed) return fixed;
  const order = ["nrp", "fast-at", "comdefend", "feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm", "adp", "soap"];
  const i = order.indexOf(defense);
  if (i >= 0) return PALETTE[i];
  // Unknown names: a stable pick from the rest of the palette, by a hash of the name.
  let h = 0;
  for (const ch of defense) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[order.length + (h % (PALETTE.length - order.length))];
}

/**
 * Accuracy against ε for one attack: a line per defense, with the clean accuracy at ε = 0 and the
 * 95 % Wilson interval as a band.
 */
export function epsSpec(title: string, points: readonly { defense: string; eps: number; accuracy: number; lo: number; hi: number }[]): TopLevelSpec {
  const defenses = sortDefenses(points.map((p) => p.defense));
  const values = points.map((p) => ({ defense: defenseLabel(p.defense), eps: Number(epsLabel(p.eps)), accuracy: p.accuracy * 100, lo: p.lo * 100, hi: p.hi * 100 }));
  const ticks = [...new Set(values.map((v) => v.eps))].sort((a, b) => a - b);
  const scale = { domain: defenses.map(defenseLabel), range: defenses.map(defenseColor) };
  const color = { field: "defense", type: "nominal" as const, title: "Defense", scale };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    // The legend takes its symbols from the faint band; draw them opaque.
    config: { ...FONT, legend: { symbolOpacity: 1, symbolType: "stroke", symbolStrokeWidth: 3 } },
    data: { values },
    width: 300,
    height: 220,
    encoding: { x: { field: "eps", type: "quantitative", title: "ε (×1/255)", scale: { domainMin: 0 }, axis: { values: ticks } } },
    layer: [
      { mark: { type: "errorband", opacity: 0.15 }, encoding: { y: { field: "lo", type: "quantitative", title: "Accuracy (%)", scale: { domain: [0, 100] } }, y2: { field: "hi" }, color } },
      { mark: { type: "line", point: true }, encoding: { y: { field: "accuracy", type: "quantitative" }, color } },
    ],
  };
}

/** One ε chart per (dataset, threat, target, attack) the records hold, rendered to SVG. */
export async function epsCharts(records: readonly ResultRecord[]): Promise<Chart[]> {
  const index = new RecordIndex(records);
  const charts: Chart[] = [];
  for (const dataset of sortPlain(index.records.map((r) => r.dataset))) {
    const attacked = index.where((r) => r.dataset === dataset && isAttacked(r));
    for (const threat of sortThreats(attacked.map((r) => r.threat))) {
      for (const target of firstSeen(attacked.filter((r) => r.threat === threat).map((r) => r.target))) {
        const cells = attacked.filter((r) => r.threat === threat && r.target === target);
        for (const attack of sortAttacks(cells.map((r) => r.attack))) {
          const own = cells.filter((r) => r.attack === attack);
          const points = own.map((r) => ({ defense: r.defense, eps: r.eps, accuracy: r.accuracy, lo: r.ci95[0], hi: r.ci95[1] }));
          for (const defense of new Set(own.map((r) => r.defense))) {
            const clean = index.clean(dataset, target, defense, threat);
            if (clean) points.push({ defense, eps: 0, accuracy: clean.accuracy, lo: clean.ci95[0], hi: clean.ci95[1] });
          }
          const title = `${attackLabel(attack)}: ${datasetLabel(dataset)}, ${threatShort(threat).toLowerCase()}, ${targetLabel(target)}`;
          charts.push({ title, svg: await renderSvg(epsSpec(title, points)) });
        }
      }
    }
  }
  return charts;
}
