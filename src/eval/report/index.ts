/** Reports rendered from result records: paper-style tables (Markdown, HTML), charts, image grids. */
export { writeReport, readResults, renderHtmlReport, type WrittenReport } from "./write.js";
export { renderMarkdown, tableMarkdown, summaryMarkdown } from "./markdown.js";
export { renderHtml, tableHtml, type HtmlReportParts } from "./html.js";
export { buildTables, tableNote, MISSING, type ReportTable, type TableColumn, type TableRow } from "./tables.js";
export { summarize, SUMMARY_SERIES, SERIES_LABELS, type SummaryGroup, type SummarySeries } from "./summary.js";
export { renderSvg, summarySpec, epsSpec, epsCharts, type Chart } from "./charts.js";
export { loadSampleGrid, SAMPLES_FILE, MAGNIFY, type SampleGrid, type GridRow } from "./samples.js";
