#!/usr/bin/env node
// The `idfr` command. It runs the compiled CLI (dist/cli/main.js) on plain Node. In a development
// checkout where dist/ has not been built, it runs the TypeScript sources through tsx instead and
// says so; there it also warns when a source file is newer than the build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const isCheckout = existsSync(new URL('tsconfig.build.json', root)); // not shipped in the package

/** The newest modification time of the files under `dir`, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

if (existsSync(compiled)) {
  if (isCheckout && newest(fileURLToPath(new URL('src', root))) > statSync(compiled).mtimeMs) {
    process.stderr.write('idfr: warning: src/ has changed since dist/ was built; run `npm run build` to use the changes\n');
  }
  await import(compiled.href);
} else {
  let api;
  try {
    api = await import('tsx/esm/api');
  } catch {
    process.stderr.write('idfr: dist/ is not built and tsx is not installed; run `npm install` (which builds dist/) or `npm run build`\n');
    process.exit(1);
  }
  process.stderr.write('idfr: dist/ is not built; running the TypeScript sources through tsx (`npm run build` compiles them)\n');
  api.register();
  await import(new URL('src/cli/main.ts', root).href);
}
