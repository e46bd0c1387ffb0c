#!/usr/bin/env node
// build-fb.js — compiles the TypeScript that flatc generates from fbs/
// (src/fb/, committed, checked by `make check-generated`) into the
// CommonJS that the package ships (lib/fb/, committed).
//
//   node scripts/build-fb.js          rewrite lib/fb/
//   node scripts/build-fb.js --check  fail if lib/fb/ differs from a fresh compile
//
// flatc 2.0.8 writes imports relative to an interstice/fb/ directory
// ('../../interstice/fb/row'), so the sources are copied into that layout
// first; the output keeps it (lib/fb/interstice/fb/*.js). The compiler is the
// exact typescript version pinned in devDependencies, so the output is
// reproducible and the check is byte for byte.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const pkg = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
const work = path.join(pkg, 'build', 'fbts');
const srcCopy = path.join(work, 'src', 'interstice', 'fb');
const out = check ? path.join(work, 'out') : path.join(pkg, 'lib', 'fb');

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(srcCopy, { recursive: true });
const sources = fs.readdirSync(path.join(pkg, 'src', 'fb')).filter((f) => f.endsWith('.ts')).sort();
for (const f of sources) fs.copyFileSync(path.join(pkg, 'src', 'fb', f), path.join(srcCopy, f));

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [pkg] });
} catch {
  console.error('build-fb: typescript is not installed (npm install in bindings/node installs the pinned devDependency)');
  process.exit(2);
}
if (!check) fs.rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc,
  '--module', 'commonjs', '--target', 'es2020', '--moduleResolution', 'node',
  '--strict', '--skipLibCheck', '--newLine', 'lf',
  '--rootDir', path.join(work, 'src'), '--outDir', out,
  ...sources.map((f) => path.join(srcCopy, f))], { stdio: 'inherit', cwd: pkg });

function listFiles(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  }).sort();
}

if (check) {
  const committed = path.join(pkg, 'lib', 'fb');
  const want = listFiles(out);
  const have = listFiles(committed);
  const stale = [];
  for (const f of new Set([...want, ...have])) {
    const a = fs.existsSync(path.join(out, f)) ? fs.readFileSync(path.join(out, f), 'utf8') : null;
    const b = fs.existsSync(path.join(committed, f)) ? fs.readFileSync(path.join(committed, f), 'utf8') : null;
    if (a !== b) stale.push(f);
  }
  fs.rmSync(work, { recursive: true, force: true });
  if (stale.length) {
    console.error(`build-fb: lib/fb is stale (${stale.join(', ')}); run 'npm run build-fb' in bindings/node and commit the result`);
    process.exit(1);
  }
  console.log(`build-fb: lib/fb matches src/fb (${want.length} files)`);
} else {
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`build-fb: wrote ${listFiles(out).length} files to lib/fb`);
}
