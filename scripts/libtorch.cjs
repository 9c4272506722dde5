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

/** Whether a shared library exports a symbol containing `needle` (nm -D; null when nm is missing). */
function exportsSymbol(lib, needle) {
  if (!fs.existsSync(lib)) return false;
  const r = require('node:child_process').spawnSync('nm', ['-DC', '--defined-only', lib], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.includes(needle);
}

/**
 * The c10d backends to compile into the addon: USE_C10D_GLOO when libtorch exports
 * ProcessGroupGloo and the Gloo headers are installed (Debian: libgloo-dev), USE_C10D_NCCL when
 * libtorch_cuda exports ProcessGroupNCCL and nccl.h is found. Each is left out otherwise, and the
 * addon then says which backend is missing when asked for it.
 */
function distributedDefines(found) {
  const header = (name) => [...found.include, '/usr/include', '/usr/local/include',
    path.join(process.env.CUDA_HOME ?? '/usr/local/cuda', 'include')].some((d) => fs.existsSync(path.join(d, name)));
  const defines = [];
  const gloo = exportsSymbol(path.join(found.lib, 'libtorch_cpu.so'), 'c10d::ProcessGroupGloo::ProcessGroupGloo');
  if (gloo !== false && header('gloo/algorithm.h') && header('torch/csrc/distributed/c10d/ProcessGroupGloo.hpp')) defines.push('USE_C10D_GLOO');
  const nccl = exportsSymbol(path.join(found.lib, 'libtorch_cuda.so'), 'c10d::ProcessGroupNCCL::ProcessGroupNCCL');
  if (nccl === true && header('nccl.h') && defines.includes('USE_C10D_GLOO')) defines.push('USE_C10D_NCCL');
  return defines;
}

/** Include folders of CUDA (for the NCCL headers), when the NCCL backend is compiled in. */
function cudaIncludes(found) {
  const cuda = path.join(process.env.CUDA_HOME ?? '/usr/local/cuda', 'include');
  return distributedDefines(found).includes('USE_C10D_NCCL') && fs.existsSync(cuda) ? [cuda] : [];
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
  if (what === 'include') process.stdout.write([...found.include, ...cudaIncludes(found)].join(' '));
  else if (what === 'lib') process.stdout.write(found.lib);
  else if (what === 'version') process.stdout.write(header.version);
  else if (what === 'defines') process.stdout.write(distributedDefines(found).join(' '));
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
