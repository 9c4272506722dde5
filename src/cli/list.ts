/** `idfr list`: what is registered — attacks, step presets, defenses, architectures, datasets, experiment presets. */
import type { Command } from "commander";
import { ATTACKS, ATTACK_PRESETS } from "../attacks/presets.js";
import { DATASETS } from "../data/registry.js";
import { DEFENSES } from "../defenses/registry.js";
import { EXPERIMENT_PRESETS } from "../eval/presets.js";
import { ARCHITECTURE_ENTRIES } from "../models/registry.js";

/** Rows as aligned columns. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")}`.trimEnd());
}

/** The text `idfr list` prints. */
export function listText(): string {
  const sections: [string, string[][]][] = [
    ["attacks (--attack; settings: flags and attackOptions)", ATTACKS.map((a) => [a.name, a.norm, a.settings.length ? a.settings.join(",") : "-", a.description])],
    ["attack step presets (--preset)", ATTACK_PRESETS.map((p) => [p.name, p.description])],
    ["defenses (config defenses; adaptive: how an adaptive attack gets its gradient)", DEFENSES.map((d) => [d.name, d.adaptive, d.label, d.description])],
    ["architectures (--arch)", ARCHITECTURE_ENTRIES.map((a) => [a.name, a.label, a.description])],
    ["datasets (--data)", DATASETS.map((d) => [d.name, d.label, d.description])],
    ["experiment presets (idfr run PRESET)", EXPERIMENT_PRESETS.map((p) => [p.name, p.description])],
  ];
  return `${sections.map(([title, rows]) => [`${title}:`, ...table(rows)].join("\n")).join("\n\n")}\n`;
}

export function registerListCommand(program: Command, out: { write(text: string): unknown } = process.stdout): Command {
  return program
    .command("list")
    .description("list the registered attacks, step presets, defenses (with their adaptive mode), architectures, datasets and experiment presets")
    .action(() => { out.write(listText()); });
}
