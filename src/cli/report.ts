/** `idfr report`: renders a results folder as report.md and report.html. */
import type { Command } from "commander";
import { ensureDir } from "../core/fs.js";
import { writeReport } from "../eval/report/index.js";

export { writeReport, renderMarkdown } from "../eval/report/index.js";

/** Adds `idfr report RESULTS_DIR [--out DIR]` to the program. */
export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description("render results.json (and samples.safetensors, if present) as report.md and report.html")
    .argument("<results-dir>", "folder holding results.json")
    .option("--out <dir>", "write the report here instead of next to results.json")
    .action(async (resultsDir: string, o: { out?: string }, command: Command) => {
      if (o.out) ensureDir(o.out, "--out"); // before rendering, so a bad folder fails fast
      const written = await writeReport(resultsDir, o.out);
      // Through commander's output settings (stdout unless configured), so callers can capture it.
      const write = command.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      write(`wrote ${written.markdown}\nwrote ${written.html}${written.withSamples ? "" : " (no samples.safetensors: no image grids)"}\n`);
    });
}
