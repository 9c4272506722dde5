// Finds libtorch for the native build, the way tch-rs does: LIBTORCH first, then the system
// install (Debian's libtorch-dev). Prints one of: include, lib, libs, check. Exits non-zero with
// one sentence when nothing is found, so `node-gyp` stops with a message a user can act on.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

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

const found = locate();
const what = process.argv[2] ?? 'check';
if (what === 'include') process.stdout.write(found.include.join(' '));
else if (what === 'lib') process.stdout.write(found.lib);
else if (what === 'libs') {
  const names = ['c10', 'torch_cpu', 'torch'];
  for (const cuda of ['torch_cuda', 'c10_cuda']) {
    if (fs.existsSync(path.join(found.lib, `lib${cuda}.so`))) names.push(cuda);
  }
  process.stdout.write(names.map((n) => `-l${n}`).join(' '));
} else process.stdout.write(`libtorch: ${found.lib}\n`);
