// Runs inside the base image's build stage (node only, no shell): trims the zeromq package to what
// loads at run time on this platform. zeromq 6 ships prebuilt addons for every OS, CPU and libc
// (tens of MB) plus its C++ sources and CMake files; cmake-ts's loader picks, among the manifest
// entries for this os/arch/libc, the highest ABI that loads. We keep exactly that one addon, a
// manifest naming only it, the package's JavaScript and licenses, and the loader. Then we check
// that zeromq loads and makes a socket, so a broken image fails at build time, not at run time.
//
//   node prune-zeromq.js /stage/node_modules     (holding the copied zeromq and cmake-ts packages)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const stage = path.resolve(process.argv[2] || '.');
const zmqDir = path.join(stage, 'zeromq');
const buildDir = path.join(zmqDir, 'build');

// The same platform test as cmake-ts/build/loader.js.
const libc = process.platform === 'linux' ? (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc') : process.platform === 'darwin' ? 'libc' : 'msvc';
const manifest = JSON.parse(fs.readFileSync(path.join(buildDir, 'manifest.json'), 'utf8'));
const candidates = Object.entries(manifest)
  .map(([key, file]) => ({ key, file, config: JSON.parse(key) }))
  .filter(({ config }) => config.os === process.platform && config.arch === process.arch && config.libc === libc)
  .sort((a, b) => (b.config.abi ?? 0) - (a.config.abi ?? 0));

let chosen;
for (const c of candidates) {
  try {
    process.dlopen({ exports: {} }, path.join(buildDir, c.file));
    chosen = c;
    break;
  } catch (e) {
    console.error(`prune-zeromq: ${c.file} does not load here: ${e.message.split('\n')[0]}`);
  }
}
if (!chosen) {
  console.error(`prune-zeromq: no zeromq addon for ${process.platform} ${process.arch} ${libc}`);
  process.exit(1);
}

// Keep: package.json, licenses, *.js and lib/**/*.js, build/manifest.json, build/<chosen addon>.
const keepAddon = path.join(buildDir, chosen.file);
function prune(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(zmqDir, full);
    if (entry.isDirectory()) {
      const needed = rel === 'lib' || rel.startsWith('lib' + path.sep) || rel === 'build' || keepAddon.startsWith(full + path.sep);
      if (!needed || rel === path.join('lib', 'ts3.7')) fs.rmSync(full, { recursive: true, force: true });
      else prune(full);
      continue;
    }
    const keep =
      (dir === zmqDir && (entry.name === 'package.json' || entry.name.endsWith('.js') || /^LICENSE/.test(entry.name))) ||
      (rel.startsWith('lib' + path.sep) && entry.name.endsWith('.js')) ||
      rel === path.join('build', 'manifest.json') ||
      full === keepAddon;
    if (!keep) fs.rmSync(full, { force: true });
  }
}
prune(zmqDir);
fs.writeFileSync(path.join(buildDir, 'manifest.json'), JSON.stringify({ [chosen.key]: chosen.file }));

// The result must work: load it the way the apps do and open a socket.
const zmq = require(zmqDir);
const socket = new zmq.Router();
socket.close();
console.log(`prune-zeromq: kept ${chosen.file} (zeromq ${require(path.join(zmqDir, 'package.json')).version}, libzmq ${zmq.version})`);
