/**
 * Notes the report adds when the learned baselines are in it: what the paper's own rows for them
 * were measured with, and which of them classify with a model other than the target.
 */
import { DEFENSES } from "../../defenses/registry.js";
import type { ResultRecord } from "../results.js";

/** Why these rows may differ from the paper's: its four learned baselines were not the authors' methods. */
const PAPER_ROWS_NOTE =
  "The paper's rows for NRP, ComDefend, ADP and SOAP come from a third-party reimplementation that follows none of the original methods " +
  "(a 6-layer linear \"NRP\", a ComDefend with batch normalisation and no binarisation, an ADP trained for one epoch and ensembled by chained noise, " +
  "and a SOAP evaluation that scores the clean test images). The rows here follow the authors' papers and code, so they are not expected to match the paper's.";

/** The notes that apply to the defenses in `records`, as plain sentences. */
export function baselineNotes(records: readonly ResultRecord[]): string[] {
  const defenses = new Set(records.map((r) => r.defense));
  const notes: string[] = [];
  if (["nrp", "nrp-dynamic", "comdefend", "adp", "soap"].some((d) => defenses.has(d))) notes.push(PAPER_ROWS_NOTE);
  // A defense whose white-box attacks go to its own model (registry: whitebox "own") replaces the target.
  for (const entry of DEFENSES) {
    if (entry.whitebox === "own" && defenses.has(entry.name)) {
      notes.push(`${entry.label} replaces the target: it classifies with its own model, so its clean accuracy is that model's, and its white-box row attacks that model.`);
    }
  }
  return notes;
}
