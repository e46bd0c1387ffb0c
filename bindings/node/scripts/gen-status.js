#!/usr/bin/env node
// gen-status.js — reads the status block and the version macros of
// interstice.h and writes gen/status.json, the table lib/errors.js builds
// IntersticeError codes from (so the names can never drift from the header).
//
//   node scripts/gen-status.js HEADER OUT
'use strict';
const fs = require('fs');
const path = require('path');

function parseHeader(text) {
  const statuses = [];
  // "#define INTERSTICE_E_NAME  N  /* comment, possibly
  //                                  continued on the next lines */"
  const re = /^#define\s+(INTERSTICE_(?:OK|E_[A-Z_]+))\s+(\d+)\s*\/\*([\s\S]*?)\*\//gm;
  let m;
  while ((m = re.exec(text)) !== null) {
    statuses.push({
      name: m[1],
      status: Number(m[2]),
      description: m[3].replace(/\s+/g, ' ').trim(),
    });
  }
  const macro = (name) => {
    const r = new RegExp(`^#define\\s+${name}\\s+(\\S+)`, 'm').exec(text);
    if (!r) throw new Error(`gen-status: ${name} not found in the header`);
    return r[1].replace(/^"|"$/g, '');
  };
  if (!statuses.some((s) => s.name === 'INTERSTICE_OK') || statuses.length < 10) {
    throw new Error(`gen-status: found only ${statuses.length} status codes in the header`);
  }
  const seen = new Map();
  for (const s of statuses) {
    if (seen.has(s.status)) throw new Error(`gen-status: status ${s.status} defined twice (${seen.get(s.status)}, ${s.name})`);
    seen.set(s.status, s.name);
  }
  return {
    abiVersion: Number(macro('INTERSTICE_ABI_VERSION')),
    version: macro('INTERSTICE_VERSION_STRING'),
    statuses,
  };
}

module.exports = { parseHeader };

if (require.main === module) {
  const [header, out] = process.argv.slice(2);
  if (!header || !out) {
    console.error('usage: gen-status.js HEADER OUT');
    process.exit(2);
  }
  const table = parseHeader(fs.readFileSync(header, 'utf8'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(table, null, 2) + '\n');
}
