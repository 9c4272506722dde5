// Builds the native addon with node-gyp when it is missing or older than its sources (or always
// with --force). Checks for libtorch first so a missing install fails with one clear sentence.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binary = join(root, 'build', 'Release', 'idfr_torch.node');
const force = process.argv.includes('--force');

try {
  execFileSync(process.execPath, [join(root, 'scripts', 'libtorch.cjs'), 'check'], { stdio: ['ignore', 'ignore', 'inherit'] });
} catch {
  process.exit(1);
}

const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (!force && existsSync(binary) && statSync(binary).mtimeMs >= newest && !process.env.LIBTORCH) {
  console.log('idfr: native addon is up to date');
  process.exit(0);
}

// npm exposes its bundled node-gyp to scripts; fall back to one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const jobs = String(Math.max(1, (await import('node:os')).availableParallelism()));
const result = spawnSync(cmd, [...args, 'rebuild', '-j', jobs], { cwd: root, stdio: 'inherit' });
if (result.error) {
  console.error(`idfr: could not run node-gyp (${result.error.message}); run \`npm run build:native\` from the project folder.`);
  process.exit(1);
}
process.exit(result.status ?? 1);
