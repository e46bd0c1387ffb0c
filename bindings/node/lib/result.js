'use strict';
// result.js — the JS form of a call result (interstice_call's out_result).

/**
 * parseResult converts {"lsn":N,"timestamp":N,"mutations":N,"cascade":[..],
 * "cascade_error":..} to {lsn, timestamp, mutations, cascade, cascadeError}.
 */
function parseResult(json) {
  const r = JSON.parse(json);
  if (r.timestamp === undefined) return { lsn: r.lsn }; // run(): only the LSN is known
  return {
    lsn: r.lsn,
    timestamp: r.timestamp,
    mutations: r.mutations,
    cascade: r.cascade.map((c) => ({ module: c.module, reducer: c.reducer, depth: c.depth, lsn: c.lsn, error: c.error })),
    cascadeError: r.cascade_error,
  };
}

/**
 * camel converts the snake_case keys of a JSON object from the library to
 * camelCase, deeply, except the keys under the members named in verbatim
 * (those are data: module and table names, e.g. inspect's by_module).
 */
function camel(v, verbatim = new Set()) {
  if (Array.isArray(v)) return v.map((x) => camel(x, verbatim));
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    const key = k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
    out[key] = verbatim.has(k) && x !== null && typeof x === 'object' ? { ...x } : camel(x, verbatim);
  }
  return out;
}

module.exports = { parseResult, camel };
