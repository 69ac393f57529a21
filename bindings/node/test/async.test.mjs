// The Promise-returning twins: the same results as the synchronous calls,
// errors as rejections, and many searches in flight on the thread pool
// while appends commit; handles stay valid when their JavaScript objects
// are collected mid-call; the addon also loads in worker threads.
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { join } from "node:path";

import { connect, connectAsync, IndexSpec } from "../index.js";
import { tempDir, onehot, rng, PKG_DIR } from "./helpers.mjs";

const INVALID = { code: "InvalidArg" };

function fill(t, n, start = 0, marker = "") {
  const words = ["alpha", "beta", "gamma", "delta"];
  const rows = [];
  for (let i = start; i < start + n; i++) {
    rows.push({ body: `${words[i % 4]} ${marker} r${i}`.replace(/  +/g, " "), n: BigInt(i), emb: onehot(i) });
  }
  return rows;
}

function newTable(db, name = "docs") {
  return db.createTable(name, { body: "large_utf8", n: "int64", emb: { vector: 16 } },
    new IndexSpec().fts("body").vector("emb", 16, 4, "cosine"));
}

test("every Async twin gives what its synchronous call gives", async () => {
  const dir = tempDir();
  const db = await connectAsync(dir);
  const t = await db.createTableAsync("docs", { body: "large_utf8", n: "int64", emb: { vector: 16 } },
    new IndexSpec().fts("body").vector("emb", 16, 4, "cosine"));
  assert.equal(await t.appendAsync(fill(t, 100)), undefined);
  await t.appendAsync([]);
  assert.deepEqual(await db.listTablesAsync(), ["docs"]);
  const o = await db.openTableAsync("docs");
  assert.deepEqual(await o.bm25SearchAsync("body", "alpha", 5), t.bm25Search("body", "alpha", 5));
  assert.deepEqual(await o.bm25SearchAsync("body", "alpha", 5, { projection: ["n"] }), t.bm25Search("body", "alpha", 5, { projection: ["n"] }));
  assert.equal((await o.bm25SearchAsync("body", "alpha", 5, { arrow: true })).numRows, 5);
  assert.deepEqual(await o.vectorSearchAsync("emb", onehot(3), 7, { nprobe: 4 }), t.vectorSearch("emb", onehot(3), 7, { nprobe: 4 }));
  assert.deepEqual(await o.vectorSearchAsync("emb", onehot(3), 7, { filter: { column: "body", query: "gamma" } }),
    t.vectorSearch("emb", onehot(3), 7, { filter: { column: "body", query: "gamma" } }));
  assert.deepEqual(await o.hybridSearchAsync("body", "beta", "emb", onehot(1), 9), t.hybridSearch("body", "beta", "emb", onehot(1), 9));
  assert.deepEqual(await o.tokenMatchAsync("body", "r7 r8"), t.tokenMatch("body", "r7 r8"));
  assert.deepEqual(await o.exactMatchAsync("body", "alpha r4"), t.exactMatch("body", "alpha r4"));
  assert.equal(await o.countAsync("body", "alpha beta"), 50);
  assert.equal(await o.countRowsAsync(), 100);
  assert.deepEqual(await db.querySqlAsync("SELECT COUNT(*) AS c FROM docs"), [{ c: 100n }]);
  assert.equal((await db.querySqlAsync("SELECT n FROM docs", { arrow: true })).numRows, 100);
  assert.deepEqual(await t.deleteAsync("n < 10"), { matched: 10, nTombstoned: 10, nNotFound: 0 });
  assert.deepEqual(await t.updateAsync("n = 10", fill(t, 1, 1000)), { matched: 1, nTombstoned: 1, nNotFound: 0 });
  assert.equal(await t.optimizeAsync({ minFillPercent: 100 }), undefined);
  const r = await t.gcAsync(0);
  assert.equal(typeof r.objectsDeleted, "number");
  await db.dropTableAsync("docs", true);
  assert.deepEqual(await db.listTablesAsync(), []);
});

test("Async twins reject (never throw) with the synchronous errors", async () => {
  const db = connect("memory://");
  const t = newTable(db);
  t.append(fill(t, 10));
  const cases = [
    [() => db.openTableAsync("nope"), { code: "GenericFailure", message: "NotFound: nope" }],
    [() => db.createTableAsync("docs", { x: "int32" }, new IndexSpec()), INVALID],
    [() => db.dropTableAsync("nope"), { code: "GenericFailure" }],
    [() => db.querySqlAsync("SELEKT"), INVALID],
    [() => t.appendAsync([{ body: 1 }]), INVALID],
    [() => t.appendAsync("x"), TypeError],
    [() => t.bm25SearchAsync("body", "x", -1), RangeError],
    [() => t.bm25SearchAsync("nope", "x", 1), INVALID],
    [() => t.vectorSearchAsync("emb", [1, 2], 1), INVALID],
    [() => t.hybridSearchAsync("body", "x", "emb", onehot(0), 1, { mode: "x" }), INVALID],
    [() => t.tokenMatchAsync(1, "x"), TypeError],
    [() => t.exactMatchAsync("nope", "x"), INVALID],
    [() => t.countAsync("body", "-x"), INVALID],
    [() => t.deleteAsync("n = 1"), { code: "GenericFailure", message: /durable/ }],
    [() => t.updateAsync("n = 1", []), { code: "GenericFailure", message: /durable/ }],
    [() => t.optimizeAsync({ minFillPercent: 200 }), RangeError],
    [() => t.gcAsync("0"), TypeError], // gc itself succeeds on memory:// (docs/differences.md)
  ];
  for (const [call, err] of cases) {
    let p;
    assert.doesNotThrow(() => { p = call(); });
    await assert.rejects(p, err);
  }
  assert.equal(t.countRows(), 10);
});

test("many parallel searches while appending: every search sees whole commits", async (ctx) => {
  const db = connect(tempDir());
  const t = newTable(db);
  t.append(fill(t, 2000));
  const BATCH = 250, APPENDS = 12;
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 2);
  const seen = [];
  const writer = (async () => {
    for (let a = 0; a < APPENDS; a++) {
      await t.appendAsync(fill(t, BATCH, 100000 + a * BATCH, "marker"));
    }
  })();
  const rand = rng(11);
  const searches = [];
  let done = false;
  writer.then(() => { done = true; });
  while (!done || searches.length < 400) {
    const wave = [];
    for (let i = 0; i < 16; i++) {
      const kind = Math.floor(rand() * 5);
      if (kind === 0) wave.push(t.countAsync("body", "marker").then((c) => { seen.push(c); }));
      else if (kind === 1) wave.push(t.bm25SearchAsync("body", "beta marker", 10).then((r) => assert.equal(r.length, 10)));
      else if (kind === 2) wave.push(t.vectorSearchAsync("emb", onehot(Math.floor(rand() * 16)), 5).then((r) => assert.equal(r.length, 5)));
      else if (kind === 3) wave.push(t.hybridSearchAsync("body", "gamma", "emb", onehot(2), 5).then((r) => assert.equal(r.length, 5)));
      else wave.push(db.querySqlAsync("SELECT COUNT(*) AS c FROM docs").then((r) => {
        const c = Number(r[0].c);
        assert.equal((c - 2000) % BATCH, 0, `a query saw a partial commit: ${c} rows`);
      }));
    }
    searches.push(...wave);
    await Promise.all(wave);
    if (searches.length > 4000) break;
  }
  await writer;
  await Promise.all(searches);
  clearInterval(timer);
  assert.ok(searches.length >= 400);
  for (const c of seen) assert.equal(c % BATCH, 0, `count saw a partial commit: ${c}`);
  assert.ok(seen.length > 0);
  assert.equal(await t.countAsync("body", "marker"), BATCH * APPENDS);
  assert.equal(t.countRows(), 2000 + BATCH * APPENDS);
  assert.ok(ticks > 5, `the event loop ran timers while the engine worked (${ticks} ticks)`);
  ctx.diagnostic(`${searches.length} async searches, 16 in flight, during ${APPENDS} appends of ${BATCH} rows; ` +
    `${seen.length} counts saw ${new Set(seen).size} distinct snapshots; ${ticks} timer ticks`);
});

test("parallel appends to one table are serialized, none lost", async () => {
  const db = connect(tempDir());
  const t = newTable(db);
  await Promise.all(Array.from({ length: 8 }, (_, a) => t.appendAsync(fill(t, 50, a * 50))));
  assert.equal(t.countRows(), 400);
  assert.equal(new Set(db.querySql("SELECT _id FROM docs").map((r) => r._id)).size, 400);
  // and tables opened twice write through both handles
  const t2 = db.openTable("docs");
  await Promise.all([t.appendAsync(fill(t, 10, 1000)), t2.appendAsync(fill(t2, 10, 2000))]);
  assert.equal(t.countRows(), 420);
});

test("a table collected while its async calls run stays open until they complete", () => {
  const script = `
    const { connect, IndexSpec } = require(${JSON.stringify(PKG_DIR)});
    async function main() {
      const promises = [];
      for (let round = 0; round < 20; round++) {
        (() => {
          const db = connect("memory://");
          const t = db.createTable("t", { body: "large_utf8" }, new IndexSpec().fts("body"));
          t.append(Array.from({ length: 200 }, (_, i) => ({ body: "word" + (i % 7) })));
          for (let i = 0; i < 20; i++) promises.push(t.bm25SearchAsync("body", "word3", 5));
          promises.push(t.appendAsync([{ body: "late" }]).then(() => "appended"));
        })();
        global.gc();
      }
      const out = await Promise.all(promises);
      global.gc();
      await new Promise((r) => setTimeout(r, 50));
      global.gc();
      console.log(out.filter((x) => x === "appended").length, out.filter((x) => Array.isArray(x) && x.length === 5).length);
    }
    main().catch((e) => { console.error(e); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8", timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "20 400");
});

test("the addon works in worker threads, each with its own handles", async () => {
  const dir = tempDir();
  const db = connect(join(dir, "db"));
  const t = newTable(db);
  t.append(fill(t, 100));
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { connect } = require(${JSON.stringify(PKG_DIR)});
    (async () => {
      const t = connect(workerData).openTable("docs");
      const n = [];
      for (let i = 0; i < 20; i++) n.push((await t.bm25SearchAsync("body", "alpha", 100)).length);
      parentPort.postMessage(n.every((x) => x === 25) ? t.countRows() : -1);
    })();
  `;
  const results = await Promise.all(Array.from({ length: 3 }, () => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: join(dir, "db") });
    w.once("message", resolve);
    w.once("error", reject);
  })));
  assert.deepEqual(results, [100, 100, 100]);
});
