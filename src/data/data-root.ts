/** The folder datasets are downloaded to, and read from, when no root is given. */
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where `idfr data download <name>` puts a dataset when no root is given, and where the loaders
 * look for it then: `$XDG_CACHE_HOME/idfr/data/<name>`, or `~/.cache/idfr/data/<name>`.
 */
export function defaultDataRoot(name: string): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "idfr", "data", name);
}
