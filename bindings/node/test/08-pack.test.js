'use strict';
// 08-pack: npm pack, install the tarball into an empty directory (the
// library from INTERSTICE_LIB, as a user without the Go sources would), and
// run the README tutorial there as written.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { pkg, root, wasm, tmpdir, cacheDir } = require('./helpers');

const npm = process.env.npm_execpath && fs.existsSync(process.env.npm_execpath) ? [process.execPath, process.env.npm_execpath] : ['npm'];

function run(cmd, args, opts) {
  const [file, ...pre] = cmd;
  return execFileSync(file, [...pre, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** tutorial extracts the js block after <!-- tutorial --> in README.md. */
function tutorial() {
  const readme = fs.readFileSync(path.join(pkg, 'README.md'), 'utf8');
  const m = /<!-- tutorial -->\n```js\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'README.md has a tutorial block');
  return m[1] + '\n';
}

test('pack, install the tarball into an empty directory, run the README tutorial', { timeout: 600000 }, (t) => {
  const lib = process.env.INTERSTICE_LIB || path.join(root, 'build', 'libinterstice.so');
  assert.ok(fs.existsSync(lib), `${lib} exists (make lib)`);
  const work = tmpdir(t, 'istn-pack-');
  const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], { cwd: pkg }));
  const tarball = path.join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  for (const f of ['binding.gyp', 'src/addon.cc', 'include/interstice.h', 'lib/index.js', 'lib/fb/interstice/fb/transaction.js', 'scripts/install.js', 'index.d.ts', 'README.md', 'docs/api.md']) {
    assert.ok(files.includes(f), `the tarball carries ${f}`);
  }
  assert.ok(!files.some((f) => f.startsWith('build/') || f.startsWith('node_modules/') || f.endsWith('.node') || f.includes('.so')), 'no build output in the tarball');

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const env = { ...process.env, INTERSTICE_LIB: lib };
  delete env.INTERSTICE_SOURCE_ROOT;
  run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, env });
  const installed = path.join(app, 'node_modules', 'interstice');
  assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'installed as a copy, not a link');
  assert.ok(fs.lstatSync(path.join(installed, 'build', 'Release', 'libinterstice.so.1')).isFile());

  fs.copyFileSync(wasm('counter'), path.join(app, 'counter.wasm'));
  fs.writeFileSync(path.join(app, 'tutorial.js'), tutorial());
  const out = run([process.execPath], ['tutorial.js'], { cwd: app, env: { ...process.env, INTERSTICE_COMPILATION_CACHE_DIR: cacheDir } }).trim().split('\n');
  const updates = out.filter((l) => /^hits: \d+ -> \d+$/.test(l));
  assert.equal(updates.length, 3);
  assert.deepEqual(out.filter((l) => !updates.includes(l)), [
    'new counter hits',
    'committed at lsn 2 with 1 mutation',
    'new counter misses',
    'hits = 7 of 2 counters',
    "row { name: 'hits', value: 7 }",
    "row { name: 'misses', value: 2 }",
    'refused: INTERSTICE_E_REDUCER_FAILED',
    '[counter] counter misses reset',
    'misses: 2 -> 0',
    'after reopen: hits = 7',
  ]);
});

test('every example of docs/api.md runs as written', (t) => {
  const dir = tmpdir(t, 'istn-docs-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'interstice'));
  fs.copyFileSync(wasm('counter'), path.join(dir, 'counter.wasm'));
  const doc = fs.readFileSync(path.join(pkg, 'docs', 'api.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)\n```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 20, `${blocks.length} examples`);
  blocks.forEach((code, i) => {
    fs.writeFileSync(path.join(dir, `example${i}.js`), code + '\n');
    try {
      run([process.execPath], [`example${i}.js`], { cwd: dir, env: { ...process.env, INTERSTICE_COMPILATION_CACHE_DIR: cacheDir } });
    } catch (e) {
      assert.fail(`docs/api.md example ${i} failed:\n${code}\n${e.stderr}`);
    }
  });
  // the headings are one per method, in the form `.method(args) -> type`
  const headings = doc.match(/^### .*$/gm);
  for (const h of headings.filter((x) => x.includes('('))) assert.match(h, /^### [\w.]+\(.*\) -> .+$/, h);
});
