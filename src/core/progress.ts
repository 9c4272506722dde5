/**
 * Progress for long runs: a live bar (cli-progress) on a terminal, one plain line per update
 * otherwise (CI logs), and nothing when quiet.
 */
import cliProgress from "cli-progress";

/** How progress is shown: a live bar, plain lines (logs), or nothing. */
export type ProgressMode = "bar" | "lines" | "none";

export interface ProgressOptions {
  /** Label in front of the bar, e.g. "train vgg16". */
  label: string;
  /** Units of work in total (batches, cells, ...). */
  total: number;
  /** "bar" on a terminal, "lines" in logs, "none" to stay silent (default: bar when stderr is a TTY). */
  mode?: ProgressMode;
}

/** Values shown next to the bar: numbers are rounded sensibly, strings shown as they are. */
export type ProgressFields = Record<string, string | number>;

export class Progress {
  readonly #bar: cliProgress.SingleBar | null;
  readonly #mode: ProgressMode;
  readonly #label: string;
  readonly #start = performance.now();
  #lastLine = 0;
  #value = 0;
  #total: number;

  constructor(options: ProgressOptions) {
    this.#mode = options.mode ?? (process.stderr.isTTY ? "bar" : "lines");
    this.#label = options.label;
    this.#total = options.total;
    if (this.#mode === "bar") {
      this.#bar = new cliProgress.SingleBar({
        format: `${options.label} [{bar}] {percentage}% | {value}/{total} | {fields} | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      this.#bar.start(options.total, 0, { fields: "" });
    } else this.#bar = null;
  }

  /** Sets the done count and the fields; in line mode prints at most every 5 s. */
  update(value: number, fields: ProgressFields = {}): void {
    this.#value = value;
    const text = formatFields(fields);
    if (this.#bar) this.#bar.update(value, { fields: text });
    else if (this.#mode === "lines" && performance.now() - this.#lastLine > 5000) this.line(text);
  }

  /** Prints a line now (line mode) or above the bar (bar mode). */
  log(message: string): void {
    if (this.#mode === "none") return;
    if (this.#bar) {
      this.#bar.stop();
      process.stderr.write(`${message}\n`);
      this.#bar.start(this.#total, this.#value, {});
    } else process.stderr.write(`${message}\n`);
  }

  private line(text: string): void {
    this.#lastLine = performance.now();
    const elapsed = (performance.now() - this.#start) / 1000;
    const eta = this.#value > 0 ? (elapsed / this.#value) * (this.#total - this.#value) : NaN;
    process.stderr.write(`${this.#label} ${this.#value}/${this.#total} | ${text} | ${elapsed.toFixed(0)} s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) + " s" : "?"}\n`);
  }

  stop(): void {
    this.#bar?.stop();
  }
}

export function formatFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === "number" ? (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(4)) : v}`)
    .join(" | ");
}
