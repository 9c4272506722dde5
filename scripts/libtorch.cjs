// Finds libtorch for the native build, the way tch-rs does: LIBTORCH first, then the system
// install (Debian's libtorch-dev), and checks its version. Run as a script it prints one of:
// include, lib, libs, version, check; it exits non-zero with one sentence when nothing usable is
// found, so `node-gyp` stops with a message a user can act on. Required as a module it exports
// the supported range and the version check, which the addon loader applies at load time too.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The oldest libtorch the addon and the op names in src/torch work with (Debian's libtorch-dev). */
const MIN_VERSION = [1, 13];
const SUPPORTED = `>= ${MIN_VERSION.join('.')}`;

/** null when `version` ("1.13.0", "2.1.2+cpu") is supported, else the one-sentence reason. */
function versionProblem(version, where) {
  const m = /^(\d+)\.(\d+)/.exec(String(version));
  const at = where ? ` at ${where}` : '';
  if (!m) return `could not read the libtorch version${at} (found ${JSON.stringify(version)}); idfr supports libtorch ${SUPPORTED}.`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const old = major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]);
  return old ? `found libtorch ${version}${at}, but idfr supports libtorch ${SUPPORTED}; install a newer one (or set LIBTORCH=/path/to/libtorch).` : null;
}

/** The version declared by torch/version.h under the include folders, or null when absent. */
function headerVersion(includes) {
  for (const dir of includes) {
    const file = path.join(dir, 'torch', 'version.h');
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const part = (name) => (new RegExp(`#define\\s+TORCH_VERSION_${name}\\s+(\\d+)`).exec(text) ?? [])[1];
    const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    return { version: major && minor ? `${major}.${minor}.${patch ?? 0}` : 'unknown', file };
  }
  return null;
}

function locate() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = path.join(root, 'include');
    const lib = path.join(root, 'lib');
    if (!fs.existsSync(path.join(include, 'ATen', 'ATen.h'))) {
      fail(`LIBTORCH=${root} does not look like a libtorch folder (expected ${include}/ATen/ATen.h).`);
    }
    return { include: [include, path.join(include, 'torch', 'csrc', 'api', 'include')], lib };
  }
  const multiarch = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].find((a) =>
    fs.existsSync(`/usr/lib/${a}/libtorch_cpu.so`));
  if (fs.existsSync('/usr/include/ATen/ATen.h') && multiarch) {
    return { include: ['/usr/include', '/usr/include/torch/csrc/api/include'], lib: `/usr/lib/${multiarch}` };
  }
  fail('libtorch was not found: install it with `sudo apt-get install libtorch-dev` (Debian/Ubuntu) ' +
    'or set LIBTORCH=/path/to/libtorch (a folder unpacked from a pytorch.org libtorch download).');
}

function fail(msg) {
  process.stderr.write(`idfr: ${msg}\n`);
  process.exit(1);
}

function main() {
  const found = locate();
  const header = headerVersion(found.include);
  if (!header) fail(`no torch/version.h under ${found.include.join(' or ')}; idfr supports libtorch ${SUPPORTED}.`);
  const problem = versionProblem(header.version, path.dirname(path.dirname(header.file)));
  if (problem) fail(problem);
  const what = process.argv[2] ?? 'check';
  if (what === 'include') process.stdout.write(found.include.join(' '));
  else if (what === 'lib') process.stdout.write(found.lib);
  else if (what === 'version') process.stdout.write(header.version);
  else if (what === 'libs') {
    const names = ['c10', 'torch_cpu', 'torch'];
    for (const cuda of ['torch_cuda', 'c10_cuda']) {
      if (fs.existsSync(path.join(found.lib, `lib${cuda}.so`))) names.push(cuda);
    }
    process.stdout.write(names.map((n) => `-l${n}`).join(' '));
  } else process.stdout.write(`libtorch ${header.version}: ${found.lib}\n`);
}

if (require.main === module) main();

module.exports = { MIN_VERSION, SUPPORTED, versionProblem };
