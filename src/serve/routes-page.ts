/**
 * The page at `GET /`: plain HTML and one script, read from src/serve/page/ (shipped with the
 * package), so nothing is built at run time.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "./server.js";

/** The page's folder: beside this file in the sources, src/serve/page from the compiled dist/serve. */
function pageDir(): string {
  const candidates = [new URL("./page/", import.meta.url), new URL("../../src/serve/page/", import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((d) => existsSync(`${d}index.html`));
  if (!found) throw new Error(`the page's files are missing (looked in ${candidates.join(", ")})`);
  return found;
}

export function registerPageRoutes(app: FastifyInstance, _ctx: ServeContext): void {
  const dir = pageDir();
  const files: Record<string, { type: string; body: string }> = {
    "/": { type: "text/html; charset=utf-8", body: readFileSync(`${dir}index.html`, "utf8") },
    "/page/app.js": { type: "text/javascript; charset=utf-8", body: readFileSync(`${dir}app.js`, "utf8") },
  };
  for (const [path, f] of Object.entries(files)) {
    app.get(path, async (_req, reply) => reply.header("content-type", f.type).header("cache-control", "no-cache").send(f.body));
  }
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());
}
