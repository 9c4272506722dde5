import { readFileSync } from "node:fs";

/**
 * Reads and parses a JSON file; errors name the file and say whether it could not be read (with
 * the system's code, e.g. ENOENT) or is not valid JSON. `what` names the file's role in the message.
 * A leading UTF-8 byte order mark (which some Windows editors write) is ignored.
 */
export function readJsonFile(path: string, what = "the file"): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
