#!/usr/bin/env node
// prepack.js — npm runs it before `npm pack` / `npm publish`: the tarball
// carries the header it is compiled against (include/interstice.h), since
// outside a checkout there is no include/ to copy it from. It also refuses
// to pack a stale lib/fb (see scripts/build-fb.js).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const pkg = path.resolve(__dirname, '..');
const root = path.resolve(fs.realpathSync(pkg), '..', '..');
const src = process.env.INTERSTICE_SOURCE_ROOT
  ? path.join(process.env.INTERSTICE_SOURCE_ROOT, 'include', 'interstice.h')
  : path.join(root, 'include', 'interstice.h');
if (!fs.existsSync(src)) {
  console.error(`prepack: ${src} not found (pack from a checkout or set INTERSTICE_SOURCE_ROOT)`);
  process.exit(1);
}
fs.mkdirSync(path.join(pkg, 'include'), { recursive: true });
fs.copyFileSync(src, path.join(pkg, 'include', 'interstice.h'));
try {
  require.resolve('typescript/bin/tsc', { paths: [pkg] });
  execFileSync(process.execPath, [path.join(__dirname, 'build-fb.js'), '--check'], { stdio: ['ignore', 2, 2] }); // stdout stays npm pack --json's
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') process.exit(1);
  console.error('prepack: typescript not installed; lib/fb not re-checked');
}
