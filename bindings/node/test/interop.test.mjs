// Interop with the Python package, both ways, on one folder: a table
// written from Python is read from Node (schema, rows, searches with the
// same _ids and scores), and a table written from Node is read from Python.
// Needs INFINO_TEST_PYTHON / INFINO_TEST_PYTHONPATH (set by make test-node).
import test from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { connect, IndexSpec } from "../index.js";
import * as arrow from "apache-arrow";
import { tempDir, onehot, pythonEnv, runPython } from "./helpers.mjs";

const py = pythonEnv();
const skip = py ? false : "INFINO_TEST_PYTHON and INFINO_TEST_PYTHONPATH are not set (run make test-node)";

// Prints a search result as JSON: [[_id as text, score], ...].
const PY_HELPERS = `
import json, sys, decimal
import infino, pyarrow as pa
def rows(t):
    d = t.to_pydict()
    return [[str(d["_id"][i]), float(d["score"][i])] for i in range(t.num_rows)]
def onehot(i, dim=16):
    v = [0.0] * dim
    v[i % dim] = 1.0
    return v
`;

const asPairs = (rows) => rows.map((r) => [String(r._id), r.score]);

test("a table written from Python is read from Node", { skip }, () => {
  const dir = join(tempDir(), "db");
  const out = runPython(py, PY_HELPERS + `
db = infino.connect(sys.argv[1])
schema = pa.schema([
    pa.field("doc_id", pa.large_utf8(), nullable=False),
    pa.field("body", pa.large_utf8(), nullable=False),
    pa.field("n", pa.int64()),
    pa.field("price", pa.decimal128(10, 2)),
    pa.field("day", pa.date32()),
    pa.field("emb", pa.list_(pa.float32(), 16), nullable=False),
])
t = db.create_table("docs", schema, infino.IndexSpec().fts("body").vector("emb", 16, 2, "cosine"))
words = ["alpha", "beta", "gamma", "delta"]
t.append([{"doc_id": str(i), "body": words[i % 4] + " doc" + str(i), "n": i if i % 5 else None,
           "price": decimal.Decimal(i) / 4, "day": None, "emb": onehot(i)} for i in range(40)])
t.append(pa.table({"doc_id": ["x"], "body": ["alpha extra"], "n": [99], "price": [decimal.Decimal("1.25")],
                   "day": pa.array([19000], pa.date32()), "emb": [onehot(3)]}, schema=schema))
t.update("doc_id = '7'", [{"doc_id": "7", "body": "beta replaced", "n": 700, "price": None, "day": None, "emb": onehot(7)}])
t.delete("doc_id = '8'")
print(json.dumps({
    "bm25": rows(t.bm25_search("body", "alpha replaced", 10)),
    "vector": rows(t.vector_search("emb", onehot(3), 5)),
    "hybrid": rows(t.hybrid_search("body", "gamma", "emb", onehot(2), 8)),
    "count": t.count("body", "alpha"),
}))
`, [dir]);
  const want = JSON.parse(out);
  const db = connect(dir);
  assert.deepEqual(db.listTables(), ["docs"]);
  const t = db.openTable("docs");
  assert.deepEqual(t.schema().fields.map((f) => `${f.name}:${f.type}:${f.nullable}`), [
    "doc_id:LargeUtf8:false", "body:LargeUtf8:false", "n:Int64:true", "price:Decimal[10e+2]:true",
    "day:Date32<DAY>:true", "emb:FixedSizeList[16]<Float32>:false",
  ]);
  assert.equal(t.countRows(), 40);
  assert.deepEqual(asPairs(t.bm25Search("body", "alpha replaced", 10)), want.bm25);
  assert.deepEqual(asPairs(t.vectorSearch("emb", onehot(3), 5)), want.vector);
  assert.deepEqual(asPairs(t.hybridSearch("body", "gamma", "emb", onehot(2), 8)), want.hybrid);
  assert.equal(t.count("body", "alpha"), want.count);
  const x = db.querySql("SELECT doc_id, n, price, day FROM docs WHERE doc_id IN ('x', '7') ORDER BY doc_id");
  assert.deepEqual(x.map((r) => [r.doc_id, r.n, r.price === null ? null : String(r.price), r.day]),
    [["7", 700n, null, null], ["x", 99n, "125", 19000 * 86400000]]);
  assert.equal(t.tokenMatch("body", "doc8").length, 0);
  // Node appends to the Python table; the rows are there for both
  t.append([{ doc_id: "node", body: "written by node", emb: onehot(1), price: "2.50" }]);
  const back = JSON.parse(runPython(py, PY_HELPERS + `
t = infino.connect(sys.argv[1]).open_table("docs")
r = t.to_arrow(where="doc_id = 'node'").to_pylist()[0]
print(json.dumps({"rows": t.count_rows(), "body": r["body"], "price": str(r["price"]), "n": r["n"]}))
`, [dir]));
  assert.deepEqual(back, { rows: 41, body: "written by node", price: "2.50", n: null });
});

test("a table written from Node is read from Python", { skip }, () => {
  const dir = join(tempDir(), "db");
  const db = connect(dir);
  const schema = new arrow.Schema([
    new arrow.Field("title", new arrow.LargeUtf8(), false),
    new arrow.Field("n", new arrow.Int64(), true),
    new arrow.Field("ts", new arrow.TimestampMillisecond("UTC"), true),
    new arrow.Field("emb", new arrow.FixedSizeList(16, new arrow.Field("item", new arrow.Float32(), true)), false),
  ]);
  const t = db.createTable("notes", schema, new IndexSpec().fts("title").vector("emb", 16, 2, "l2sq"));
  const words = ["red", "green", "blue"];
  t.append(Array.from({ length: 30 }, (_, i) => ({
    title: `${words[i % 3]} note ${i}`, n: i % 4 ? BigInt(i) : null, ts: new Date(Date.UTC(2025, 0, 1) + i * 1000),
    emb: onehot(i),
  })));
  t.append(new arrow.Table({
    title: arrow.vectorFromArray(["green arrow"], new arrow.LargeUtf8()),
    n: arrow.vectorFromArray([1000n], new arrow.Int64()),
    emb: arrow.makeVector(arrow.makeData({
      type: schema.fields[3].type, length: 1, nullCount: 0,
      child: arrow.makeData({ type: new arrow.Float32(), length: 16, data: Float32Array.from(onehot(5)) }),
    })),
  }));
  t.update("n = 5", [{ title: "blue updated", n: 55n, emb: onehot(5) }]);
  t.delete("n = 6");
  t.optimize({ minFillPercent: 100 });
  db.createTable("other", { x: "int32" }, new IndexSpec());
  const mine = {
    bm25: asPairs(t.bm25Search("title", "green updated", 10)),
    vector: asPairs(t.vectorSearch("emb", onehot(4), 6)),
    hybrid: asPairs(t.hybridSearch("title", "red", "emb", onehot(1), 7)),
  };
  const got = JSON.parse(runPython(py, PY_HELPERS + `
db = infino.connect(sys.argv[1])
t = db.open_table("notes")
all = t.to_arrow(where="n = 55 OR n = 1000").sort_by("n").to_pylist()
print(json.dumps({
    "tables": db.list_tables(),
    "schema": [f"{f.name}:{f.type}:{f.nullable}" for f in t.schema()],
    "rows": t.count_rows(),
    "bm25": rows(t.bm25_search("title", "green updated", 10)),
    "vector": rows(t.vector_search("emb", onehot(4), 6)),
    "hybrid": rows(t.hybrid_search("title", "red", "emb", onehot(1), 7)),
    "some": [[r["title"], r["n"], r["ts"].isoformat() if r["ts"] else None] for r in all],
    "nulls": t.to_arrow(where="n IS NULL").num_rows,
}))
`, [dir]));
  assert.deepEqual(got.tables, ["notes", "other"]);
  assert.deepEqual(got.schema, [
    "title:large_string:False", "n:int64:True", "ts:timestamp[ms, tz=UTC]:True",
    "emb:fixed_size_list<item: float>[16]:False",
  ]);
  assert.equal(got.rows, 30);
  assert.deepEqual(got.bm25, mine.bm25);
  assert.deepEqual(got.vector, mine.vector);
  assert.deepEqual(got.hybrid, mine.hybrid);
  assert.deepEqual(got.some, [["blue updated", 55, null], ["green arrow", 1000, null]]);
  assert.equal(got.nulls, 8);
});
