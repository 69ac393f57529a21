// Values of every column type a table can have, both ways: row objects and
// Arrow data in, records and apache-arrow Tables out.
import test from "node:test";
import assert from "node:assert/strict";

import { connect, IndexSpec } from "../index.js";
import * as arrow from "apache-arrow";
import { rng } from "./helpers.mjs";

const f = (name, type, nullable = true) => new arrow.Field(name, type, nullable);

const wideSchema = () => new arrow.Schema([
  f("s", new arrow.Utf8()), f("ls", new arrow.LargeUtf8()), f("b", new arrow.Bool()),
  f("i8", new arrow.Int8()), f("i16", new arrow.Int16()), f("i32", new arrow.Int32()), f("i64", new arrow.Int64()),
  f("u8", new arrow.Uint8()), f("u16", new arrow.Uint16()), f("u32", new arrow.Uint32()), f("u64", new arrow.Uint64()),
  f("f32", new arrow.Float32()), f("f64", new arrow.Float64()),
  f("bin", new arrow.Binary()), f("lbin", new arrow.LargeBinary()),
  f("d", new arrow.DateDay()), f("ts", new arrow.TimestampMillisecond("UTC")), f("tus", new arrow.TimestampMicrosecond()),
  f("dec0", new arrow.Decimal(0, 20, 128)), f("dec2", new arrow.Decimal(2, 10, 128)),
  f("tags", new arrow.List(f("item", new arrow.Utf8()))), f("nums", new arrow.LargeList(f("item", new arrow.Int32()))),
  f("vec", new arrow.FixedSizeList(3, f("item", new arrow.Float32()))),
]);

const row1 = {
  s: "héllo wörld ✓", ls: "large", b: true,
  i8: -128, i16: 32767, i32: -2147483648, i64: -(2n ** 63n),
  u8: 255, u16: 65535, u32: 4294967295, u64: 2n ** 64n - 1n,
  f32: 0.5, f64: Math.PI,
  bin: Buffer.from([0, 1, 2, 255]), lbin: new Uint8Array([9, 8]),
  d: Date.UTC(2024, 0, 31), ts: new Date(Date.UTC(2024, 0, 31, 12, 30, 15, 250)), tus: 1700000000123,
  dec0: 12345678901234567890n, dec2: "-1234.56",
  tags: ["a", "bb", null], nums: [1, 2, 3], vec: [1, 2, 3],
};
const row2 = {
  s: "", ls: null, b: false, i8: 127, i16: null, i32: 0, i64: 5, u8: 0, u16: 1, u32: null, u64: 7,
  f32: null, f64: -0.25, bin: null, lbin: new Uint8Array(0), d: new Date(0), ts: null, tus: 5n,
  dec0: -1n, dec2: 3.5, tags: [], nums: null, vec: Float32Array.from([0.25, -1, 1e30]),
};

test("row objects of every type round-trip", () => {
  const db = connect("memory://");
  const t = db.createTable("wide", wideSchema(), new IndexSpec().fts("s"));
  t.append([row1, row2]);
  const got = db.querySql("SELECT * FROM wide ORDER BY _id", { arrow: true });
  assert.equal(got.numRows, 2);
  const rec = db.querySql("SELECT * FROM wide ORDER BY _id");
  assert.equal(typeof rec[0]._id, "bigint");
  assert.ok(rec[1]._id > rec[0]._id);
  // vector columns are not visible in SQL: read them through a projection
  const byTok = t.exactMatch("s", "héllo wörld ✓", { projection: ["s", "vec", "tags", "nums", "dec0", "dec2"] });
  assert.equal(byTok.length, 1);
  assert.deepEqual(Array.from(byTok[0].vec), [1, 2, 3]);
  assert.deepEqual(Array.from(byTok[0].tags), ["a", "bb", null]);
  assert.deepEqual(Array.from(byTok[0].nums), [1, 2, 3]);
  assert.equal(byTok[0].dec0, 12345678901234567890n);
  assert.equal(String(byTok[0].dec2), "-123456"); // unscaled, as apache-arrow renders decimals
  const r = rec[0];
  assert.equal(r.s, row1.s);
  assert.equal(r.ls, "large");
  assert.equal(r.b, true);
  assert.deepEqual([r.i8, r.i16, r.i32, r.i64], [-128, 32767, -2147483648, -(2n ** 63n)]);
  assert.deepEqual([r.u8, r.u16, r.u32, r.u64], [255, 65535, 4294967295, 2n ** 64n - 1n]);
  assert.deepEqual([r.f32, r.f64], [0.5, Math.PI]);
  assert.deepEqual(Array.from(r.bin), [0, 1, 2, 255]);
  assert.deepEqual(Array.from(r.lbin), [9, 8]);
  assert.equal(r.d, Date.UTC(2024, 0, 31));
  assert.equal(r.ts, Date.UTC(2024, 0, 31, 12, 30, 15, 250));
  assert.equal(r.tus, 1700000000123);
  assert.equal(r.dec0, 12345678901234567890n);
  const q = rec[1];
  assert.deepEqual([q.s, q.ls, q.b, q.i16, q.i64, q.u32, q.u64, q.f32, q.f64, q.bin, q.ts],
    ["", null, false, null, 5n, null, 7n, null, -0.25, null, null]);
  assert.equal(q.d, 0);
  assert.equal(q.lbin.length, 0);
  assert.equal(q.dec0, -1n);
  assert.ok(!("tags" in q) && !("vec" in q), "list and vector columns are not visible in SQL");
  const q2 = t.exactMatch("s", "", { projection: ["tags", "nums", "vec"] })[0];
  assert.equal(Array.from(q2.tags).length, 0);
  assert.equal(q2.nums, null);
  assert.deepEqual(Array.from(q2.vec), [0.25, -1, Math.fround(1e30)]);
  // the same rows, read as an apache-arrow Table with every column and
  // appended back, read back identically
  const names = wideSchema().fields.map((x) => x.name);
  const full = (tbl) => tbl.exactMatch("s", row1.s, { projection: names, arrow: true })
    .concat(tbl.exactMatch("s", "", { projection: names, arrow: true }));
  const t2 = db.createTable("wide2", wideSchema(), new IndexSpec().fts("s"));
  t2.append(full(t));
  const show = (tb) => JSON.stringify(tb.toArray().map((r) => r.toJSON()),
    (k, v) => (typeof v === "bigint" ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v, String) : v));
  assert.equal(show(full(t2)), show(full(t)));
  // float32 coordinates round; an exact decimal that does not fit is refused
  assert.throws(() => t.append([{ dec2: "0.001" }]), { code: "InvalidArg", message: /column 'dec2': row 0: 0.001 has more than 2 decimal places/ });
  assert.throws(() => t.append([{ dec2: 123456789 }]), { code: "InvalidArg", message: /does not fit decimal\(10, 2\)/ });
  assert.throws(() => t.append([{ d: "2024-01-01" }]), { code: "InvalidArg", message: /column 'd'/ });
  assert.throws(() => t.append([{ bin: "bytes" }]), { code: "InvalidArg", message: /column 'bin'/ });
  assert.throws(() => t.append([{ b: 1 }]), { code: "InvalidArg", message: /column 'b': row 0: expected a boolean/ });
  assert.throws(() => t.append([{ u8: 256 }]), { code: "InvalidArg", message: /column 'u8'/ });
  assert.throws(() => t.append([{ tags: "a" }]), { code: "InvalidArg", message: /column 'tags': row 0: expected an array/ });
  assert.throws(() => t.append([{ nums: [1, "x"] }]), { code: "InvalidArg", message: /column 'nums': row 0, value 1: expected an integer/ });
});

test("text is matched whole: NUL bytes, Unicode, long values", () => {
  const t = connect("memory://").createTable("t", { s: "large_utf8" }, new IndexSpec().fts("s"));
  const long = "word ".repeat(20000).trim();
  t.append([{ s: "a\u0000b" }, { s: "Straße café" }, { s: long }, { s: "  " }]);
  assert.equal(t.exactMatch("s", "a\u0000b").length, 1);
  assert.equal(t.exactMatch("s", "a").length, 0);
  assert.equal(t.exactMatch("s", long).length, 1);
  assert.equal(t.exactMatch("s", "  ").length, 1);
  assert.equal(t.count("s", "café"), 1);
  assert.deepEqual(t.tokenMatch("s", "STRASSE", { projection: ["s"] }), [{ s: "Straße café" }]);
});

test("many rows and many batches", () => {
  const db = connect("memory://");
  const dim = 32;
  const t = db.createTable("big", { body: "large_utf8", n: "int64", emb: { vector: dim } },
    new IndexSpec().fts("body").vector("emb", dim, 8, "l2sq"));
  const rand = rng(7);
  const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
  for (let b = 0; b < 4; b++) {
    const rows = [];
    for (let i = 0; i < 5000; i++) {
      const emb = Float32Array.from({ length: dim }, () => rand() - 0.5);
      rows.push({ body: `${words[i % 6]} ${words[(i * 7) % 6]} row${b * 5000 + i}`, n: BigInt(b * 5000 + i), emb });
    }
    t.append(rows);
  }
  assert.equal(t.countRows(), 20000);
  const all = db.querySql("SELECT _id, n, body FROM big ORDER BY n", { arrow: true });
  assert.equal(all.numRows, 20000);
  assert.equal(all.getChild("n").get(19999), 19999n);
  const recs = db.querySql("SELECT n FROM big WHERE n % 1000 = 0 ORDER BY n");
  assert.deepEqual(recs.map((r) => r.n), Array.from({ length: 20 }, (_, i) => BigInt(i * 1000)));
  assert.equal(t.tokenMatch("body", "row12345", { projection: ["n"] })[0].n, 12345n);
  let alphas = 0;
  for (let b = 0; b < 4; b++) for (let i = 0; i < 5000; i++) alphas += i % 6 === 0 ? 1 : 0;
  assert.equal(t.tokenMatch("body", "alpha").length, alphas);
  const k = t.vectorSearch("emb", new Float32Array(dim), 100, { nprobe: 8, projection: ["n", "score"] });
  assert.equal(k.length, 100);
  assert.ok(k.every((x, i) => i === 0 || x.score >= k[i - 1].score));
});
