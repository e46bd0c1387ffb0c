#!/usr/bin/env node
// install.js — builds the package: npm runs it on `npm install` (of this
// directory, of a packed tarball, or `npm ci` here).
//
// 1. The library. INTERSTICE_LIB names a prebuilt libinterstice.so (e.g. the
//    repository's build/libinterstice.so from `make lib`); otherwise it is
//    built with Go from the Interstice source tree: INTERSTICE_SOURCE_ROOT,
//    or the checkout this directory sits in (bindings/node). A packed
//    tarball outside a checkout needs one of the two variables.
// 2. The header. include/interstice.h is copied from the source tree when
//    there is one; a packed tarball carries its own copy (scripts/prepack.js).
// 3. gen/status.json, the status table lib/errors.js uses, is generated from
//    that header.
// 4. The addon: `node-gyp rebuild --nodedir=DIR`, never a header download.
//    DIR is INTERSTICE_NODEDIR, npm's nodedir setting (this package's .npmrc
//    says /usr), or the prefix of the running node, whichever has
//    include/node/node_api.h.
// (A directory install is a symlink, for which npm installs no dependencies:
// they are installed into the package directory first.)
// 5. The library is copied as a real file (never a symlink: npm tarballs
//    must not rely on them) to build/Release/libinterstice.so.1, next to the
//    .node that dlopen()s it, and the result is loaded once to check it.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const pkg = path.resolve(__dirname, '..');
const log = (msg) => console.error(`interstice: ${msg}`);

function fail(msg) {
  log(msg);
  process.exit(1);
}

function isSourceRoot(dir) {
  try {
    const mod = fs.readFileSync(path.join(dir, 'go.mod'), 'utf8');
    return /^module github\.com\/interstice\/interstice\s*$/m.test(mod) &&
      fs.existsSync(path.join(dir, 'capi')) && fs.existsSync(path.join(dir, 'include', 'interstice.h'));
  } catch {
    return false;
  }
}

function sourceRoot() {
  const env = process.env.INTERSTICE_SOURCE_ROOT;
  if (env) {
    if (!isSourceRoot(env)) fail(`INTERSTICE_SOURCE_ROOT=${env} is not an Interstice source tree (no go.mod of github.com/interstice/interstice with capi/ and include/)`);
    return path.resolve(env);
  }
  // A symlinked install (npm install ./bindings/node) runs here in the checkout.
  const up = path.resolve(fs.realpathSync(pkg), '..', '..');
  return isSourceRoot(up) ? up : null;
}

function nodeDir() {
  const candidates = [process.env.INTERSTICE_NODEDIR, process.env.npm_config_nodedir,
    path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  for (const d of candidates) {
    if (fs.existsSync(path.join(d, 'include', 'node', 'node_api.h'))) return path.resolve(d);
  }
  fail(`no Node headers found (looked for include/node/node_api.h under ${candidates.join(', ')}); ` +
    'install them (Debian: nodejs ships /usr/include/node) or set INTERSTICE_NODEDIR');
}

function nodeGyp() {
  const cands = [process.env.npm_config_node_gyp];
  try { cands.push(require.resolve('node-gyp/bin/node-gyp.js')); } catch { /* not installed */ }
  // npm ships node-gyp inside itself: <prefix>/lib/node_modules/npm/node_modules/node-gyp
  cands.push(path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  fail('node-gyp not found (npm ships it; run this through npm install)');
}

// A directory install (npm install ./bindings/node) is a symlink, and npm
// installs none of a linked package's dependencies: Node resolves them from
// the real directory, so install the runtime ones there (from the lockfile).
try {
  require.resolve('flatbuffers', { paths: [fs.realpathSync(pkg)] });
} catch {
  log('installing the runtime dependencies in the linked package directory (npm ci --omit=dev)');
  const npm = process.env.npm_execpath && fs.existsSync(process.env.npm_execpath) ? [process.execPath, process.env.npm_execpath] : ['npm'];
  execFileSync(npm[0], [...npm.slice(1), 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    { cwd: fs.realpathSync(pkg), stdio: 'inherit' });
}

const root = sourceRoot();
fs.mkdirSync(path.join(pkg, 'include'), { recursive: true });
const header = path.join(pkg, 'include', 'interstice.h');
if (root) {
  fs.copyFileSync(path.join(root, 'include', 'interstice.h'), header);
} else if (!fs.existsSync(header)) {
  fail('include/interstice.h is missing: set INTERSTICE_SOURCE_ROOT to an Interstice checkout');
}
execFileSync(process.execPath, [path.join(__dirname, 'gen-status.js'), header, path.join(pkg, 'gen', 'status.json')], { stdio: 'inherit' });

let lib = process.env.INTERSTICE_LIB;
if (lib) {
  lib = path.resolve(lib);
  if (!fs.existsSync(lib)) fail(`INTERSTICE_LIB=${lib} does not exist`);
  log(`using the prebuilt library ${lib}`);
} else {
  if (!root) {
    fail('no library: set INTERSTICE_LIB to a prebuilt libinterstice.so (make lib builds build/libinterstice.so) ' +
      'or INTERSTICE_SOURCE_ROOT to an Interstice checkout to build it with Go');
  }
  const out = path.join(pkg, 'gen', 'libinterstice.so'); // not under build/: node-gyp rebuild empties it
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const go = process.env.GO || 'go';
  log(`building libinterstice with Go in ${root} (about a minute on a cold cache)`);
  try {
    execFileSync(go, ['build', '-buildmode=c-shared', '-trimpath',
      '-ldflags', '-extldflags "-Wl,-soname,libinterstice.so.1"', '-o', out, './capi'],
    { cwd: root, stdio: 'inherit' });
  } catch (e) {
    fail(`go build failed (${e.message}); Go 1.26 is needed, or set INTERSTICE_LIB`);
  }
  lib = out;
}

const gyp = nodeGyp();
const nodedir = nodeDir();
log(`node-gyp rebuild --nodedir=${nodedir}`);
try {
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: pkg, stdio: 'inherit' });
} catch (e) {
  fail(`node-gyp failed: ${e.message}`);
}
const dest = path.join(pkg, 'build', 'Release', 'libinterstice.so.1');
fs.rmSync(dest, { force: true });
fs.copyFileSync(lib, dest); // copyFile follows a symlinked source: a real file
fs.chmodSync(dest, 0o755);

// Load it once, in a child process, so a mismatch fails the install, not the
// first require().
try {
  execFileSync(process.execPath, ['-e', `const v = require(${JSON.stringify(path.join(pkg, 'lib', 'native.js'))}).native.versions(); console.error('interstice: built against libinterstice ' + v.version + ' (ABI ' + v.abiVersion + ')')`], { stdio: 'inherit' });
} catch {
  fail('the built addon does not load (see the error above)');
}
