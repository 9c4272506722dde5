/**
 * How rows, columns and groups are named and ordered in reports: the labels come from the
 * registries (defenses, attacks, datasets, architectures), the order is the paper's ("No Defense"
 * first, IDFR last; FGSM, CW, BIM), and anything unknown is kept as written.
 */
import { ATTACKS } from "../../attacks/presets.js";
import { DATASETS } from "../../data/registry.js";
import { DEFENSES } from "../../defenses/registry.js";
import { ARCHITECTURE_ENTRIES } from "../../models/registry.js";

/** Rows of the paper's tables that have no implementation here (their labels, for reports of its numbers). */
const PAPER_ONLY_DEFENSES: Record<string, string> = { nrp: "NRP", comdefend: "ComDefend", adp: "ADP", soap: "SOAP" };

const DEFENSE_LABELS: Record<string, string> = {
  ...PAPER_ONLY_DEFENSES,
  ...Object.fromEntries(DEFENSES.map((d) => [d.name, d.label])),
};

/** The paper's row order; unknown defenses go after the known baselines, before ID and IDFR. */
const DEFENSE_ORDER = ["none", "nrp", "nrp-dynamic", "fast-at", "comdefend", "feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm", "adp", "soap"];
/** IDFR and its ablation close the table. */
const LAST_DEFENSES = DEFENSES.filter((d) => d.group === "idfr").map((d) => d.name);

const ATTACK_LABELS: Record<string, string> = { ...Object.fromEntries(ATTACKS.map((a) => [a.name, a.label])), "worst-case": "Worst case" };
/** The paper's column order (FGSM, CW, BIM), then the attacks it did not run; the per-sample worst case last. */
const ATTACK_ORDER = [...[...ATTACKS].sort((a, b) => a.column - b.column).map((a) => a.name), "worst-case"];

const DATASET_LABELS: Record<string, string> = {
  ...Object.fromEntries(DATASETS.map((d) => [d.name, d.label])),
  "cifar-10": "CIFAR-10", "cifar-100": "CIFAR-100", imagenet: "ImageNet",
};

const TARGET_LABELS: Record<string, string> = {
  ...Object.fromEntries(ARCHITECTURE_ENTRIES.map((a) => [a.name, a.label])),
  inceptionv3: "InceptionV3",
};

const THREAT_LABELS: Record<string, string> = {
  clean: "clean inputs only", transfer: "black-box (transfer) attacks", whitebox: "white-box attacks", adaptive: "adaptive attacks",
};
const THREAT_SHORT: Record<string, string> = { clean: "clean", transfer: "Black-box", whitebox: "White-box", adaptive: "Adaptive" };
const THREAT_ORDER = ["transfer", "whitebox", "adaptive", "clean"];

/** The label of a defense in tables: "No Defense", "JPEG(q=50)", "IDFR", or the name itself. */
export function defenseLabel(name: string): string {
  const jpeg = /^jpeg-q(\d+)$/.exec(name);
  return DEFENSE_LABELS[name] ?? (jpeg ? `JPEG(q=${jpeg[1]})` : name);
}

export const attackLabel = (name: string): string => ATTACK_LABELS[name] ?? name.toUpperCase();
export const datasetLabel = (name: string): string => DATASET_LABELS[name.toLowerCase()] ?? name;
export const targetLabel = (name: string): string => TARGET_LABELS[name.toLowerCase()] ?? name;
export const threatLabel = (name: string): string => THREAT_LABELS[name] ?? name;
/** "Black-box", "White-box", "Adaptive": the short form used in chart groups (as in Fig. 3). */
export const threatShort = (name: string): string => THREAT_SHORT[name] ?? name;

function rank(order: readonly string[], name: string, unknownAt: number): number {
  const i = order.indexOf(name);
  return i >= 0 ? i : unknownAt;
}

/** Sorts names by a preferred order; unknown names keep a stable alphabetical order at `unknownAt`. */
function byOrder(order: readonly string[], names: Iterable<string>, unknownAt = order.length): string[] {
  return [...new Set(names)].sort((a, b) => rank(order, a, unknownAt) - rank(order, b, unknownAt) || a.localeCompare(b));
}

/** Defenses in the paper's row order: No Defense, the baselines, unknown ones, ID, IDFR. */
export function sortDefenses(names: Iterable<string>): string[] {
  const order = [...DEFENSE_ORDER, ...LAST_DEFENSES];
  return byOrder(order, names, DEFENSE_ORDER.length);
}

export const sortAttacks = (names: Iterable<string>): string[] => byOrder(ATTACK_ORDER, names);
export const sortThreats = (names: Iterable<string>): string[] => byOrder(THREAT_ORDER, names);
export const sortPlain = (names: Iterable<string>): string[] => [...new Set(names)].sort((a, b) => a.localeCompare(b));
/** Distinct names in the order they first occur (targets keep the order the evaluation ran them in). */
export const firstSeen = (names: Iterable<string>): string[] => [...new Set(names)];

/** True for the rows that are neither the undefended target nor IDFR (or its ablation). */
export function isBaseline(defense: string): boolean {
  return defense !== "none" && !LAST_DEFENSES.includes(defense);
}

/** ε on the 0..255 scale as tables print it: 4, 8, 16 (or 0.5 when it is not a whole level). */
export function epsLabel(eps: number): string {
  const levels = eps * 255;
  const rounded = Math.round(levels * 10) / 10;
  return Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1);
}

/** Accuracy in % with one decimal, as the paper prints it. */
export function percent(accuracy: number): string {
  return (Math.round(accuracy * 1000) / 10).toFixed(1);
}
