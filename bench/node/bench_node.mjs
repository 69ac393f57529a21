// Per-call time of searches from Node.js on a table the driver (run.py)
// built: each case runs `calls` times, one call at a time, cycling through
// the same queries as bench_node.py; prints one JSON line per case.
//   node bench_node.mjs DB_DIR QUERIES_JSON CALLS
import { connect } from "infino";
import { readFileSync } from "node:fs";

const [dir, queriesFile, callsArg] = process.argv.slice(2);
const calls = Number(callsArg || 2000);
const q = JSON.parse(readFileSync(queriesFile, "utf8"));
const t = connect(dir).openTable("docs");
const vecs = q.vectors.map((v) => Float32Array.from(v));

function stats(ns) {
  ns.sort((a, b) => a - b);
  const pick = (p) => ns[Math.min(ns.length - 1, Math.floor(p * ns.length))];
  return { p50_us: pick(0.5) / 1e3, p99_us: pick(0.99) / 1e3, mean_us: ns.reduce((a, b) => a + b, 0) / ns.length / 1e3 };
}

function timeSync(fn, n) {
  for (let i = 0; i < Math.min(200, n); i++) fn(i); // warm up
  const ns = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return stats(ns);
}

async function timeAsync(fn, n) {
  for (let i = 0; i < Math.min(200, n); i++) await fn(i);
  const ns = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return stats(ns);
}

const cases = {
  bm25_empty: (i) => t.bm25Search("body", "", 10),
  bm25_rare: (i) => t.bm25Search("body", q.rare[i % q.rare.length], 10),
  bm25_common: (i) => t.bm25Search("body", q.common[i % q.common.length], 10),
  vector: (i) => t.vectorSearch("emb", vecs[i % vecs.length], 10),
  bm25_rare_arrow: (i) => t.bm25Search("body", q.rare[i % q.rare.length], 10, { arrow: true }),
  vector_arrow: (i) => t.vectorSearch("emb", vecs[i % vecs.length], 10, { arrow: true }),
};
const asyncCases = {
  bm25_rare_async: (i) => t.bm25SearchAsync("body", q.rare[i % q.rare.length], 10),
  vector_async: (i) => t.vectorSearchAsync("emb", vecs[i % vecs.length], 10),
};
for (const [name, fn] of Object.entries(cases)) {
  console.log(JSON.stringify({ lang: "node", case: name, calls, ...timeSync(fn, calls) }));
}
for (const [name, fn] of Object.entries(asyncCases)) {
  console.log(JSON.stringify({ lang: "node", case: name, calls, ...(await timeAsync(fn, calls)) }));
}
