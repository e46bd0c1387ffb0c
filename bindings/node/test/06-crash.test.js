'use strict';
// 06-crash: a writer process is SIGKILLed at random moments; a reader then
// finds every call the writer saw acknowledged (durable before acknowledged).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawn } = require('child_process');
const { interstice: ist, wasm, tmpdir, cacheDir } = require('./helpers');

const ROUNDS = Number(process.env.INTERSTICE_CRASH_ROUNDS || 20);

function round(dir, base) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'crash-writer.js'), dir, wasm('noop'), cacheDir, String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer = null;
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`round ${base}: the writer never got ready: ${err}`)); }, 20000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      if (timer === null && out.includes('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), 20 + Math.floor(Math.random() * 250));
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code} ${signal}: ${err}`));
      // only complete lines: a torn last line was not an acknowledgement we can read
      const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => /^\d+$/.test(l));
      resolve(lines.map(Number));
    });
  });
}

test(`crash: ${ROUNDS} rounds of SIGKILL at a random moment lose no acknowledged call`, async (t) => {
  const dir = tmpdir(t);
  let total = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const acked = await round(dir, (r + 1) * 1000000);
    const db = ist.open(dir, { compilationCacheDir: cacheDir });
    const kv = db.table('noop', 'kv');
    for (const id of acked) assert.ok(kv.get(id) !== undefined, `round ${r}: acknowledged id ${id} is missing after the crash`);
    total += acked.length;
    assert.ok(kv.count() >= total, `round ${r}: ${kv.count()} rows >= ${total} acknowledged`);
    db.close();
  }
  assert.ok(total > ROUNDS, `the writers acknowledged ${total} calls`);
});
