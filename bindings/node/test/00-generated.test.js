'use strict';
// 00-generated: the generated code the package ships is fresh.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { pkg, root } = require('./helpers');

test('lib/fb is the compile of src/fb (scripts/build-fb.js --check)', () => {
  const out = execFileSync(process.execPath, [path.join(pkg, 'scripts', 'build-fb.js'), '--check'], { encoding: 'utf8' });
  assert.match(out, /lib\/fb matches src\/fb \(19 files\)/);
});

test('gen/status.json is generated from the header the addon was built with', () => {
  const { parseHeader } = require('../scripts/gen-status');
  const header = fs.readFileSync(path.join(root, 'include', 'interstice.h'), 'utf8');
  const fresh = parseHeader(header);
  const built = JSON.parse(fs.readFileSync(path.join(pkg, 'gen', 'status.json'), 'utf8'));
  assert.deepEqual(built, fresh);
  // every INTERSTICE_E_ macro of the header's status block is in the table
  const macros = header.match(/^#define INTERSTICE_E_[A-Z_]+\s+\d+/gm);
  assert.equal(fresh.statuses.length, macros.length + 1);
  assert.ok(fs.readFileSync(path.join(pkg, 'include', 'interstice.h'), 'utf8') === header,
    'include/interstice.h is the repository header (rebuild: make test-node / npm ci)');
});

test('gen-status refuses a header without a status block', () => {
  const { parseHeader } = require('../scripts/gen-status');
  assert.throws(() => parseHeader('#define INTERSTICE_ABI_VERSION 1\n'), /found only 0 status codes/);
});

test('index.d.ts type-checks a program that uses the whole API (tsc --strict)', () => {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [pkg] });
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2020', '--module', 'commonjs', '--moduleResolution', 'node',
    '--types', 'node', path.join(__dirname, 'fixtures', 'types-usage.ts')], { cwd: pkg, encoding: 'utf8' });
});
