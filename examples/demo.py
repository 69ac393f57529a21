"""`make demo`: creates ./data, ingests the sample corpus into a table, changes
it, compacts it, and shows that its superfiles are plain Parquet.

Run from the repository root: .venv/bin/python examples/demo.py
"""
from __future__ import annotations

import json
import pathlib
import sys
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import infino
from infino import _native

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from embedding import DIM, embed, embed_many  # noqa: E402

ROOT = pathlib.Path("data")
CORPUS = pathlib.Path(__file__).parent / "data" / "corpus.jsonl"
BATCH = 500


def step(title: str) -> None:
    print(f"\n== {title}")


def progress(done: int, total: int, t0: float) -> None:
    if not sys.stdout.isatty() and done != total:
        return  # a log file gets the final line only
    width = 30
    filled = int(width * done / total)
    rate = done / max(time.perf_counter() - t0, 1e-9)
    print(f"\r   [{'#' * filled}{'.' * (width - filled)}] {done}/{total} docs "
          f"({rate:,.0f} docs/s)", end="", flush=True)
    if done == total:
        print()


def main() -> None:
    docs_in = [json.loads(line) for line in CORPUS.read_text().splitlines()]

    step(f"connect to ./{ROOT} and create table 'docs'")
    db = infino.connect(str(ROOT))
    if "docs" in db.list_tables():
        db.drop_table("docs", purge=True)
    schema = pa.schema([
        pa.field("doc_id", pa.large_utf8(), nullable=False),
        pa.field("topic", pa.utf8(), nullable=False),
        pa.field("title", pa.large_utf8(), nullable=False),
        pa.field("body", pa.large_utf8(), nullable=False),
        pa.field("views", pa.int64(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), DIM), nullable=False),
    ])
    docs = db.create_table(
        "docs", schema,
        infino.IndexSpec().fts("title").fts("body").vector("embedding", DIM, 16, "cosine"),
    )
    print(f"   schema: {', '.join(f'{f.name}: {f.type}' for f in schema)}")

    step(f"append {len(docs_in)} documents in batches of {BATCH} (one commit each)")
    t0 = time.perf_counter()
    for i in range(0, len(docs_in), BATCH):
        chunk = docs_in[i : i + BATCH]
        vecs = embed_many([d["title"] + " " + d["body"] for d in chunk])
        table = pa.table({
            "doc_id": pa.array([d["doc_id"] for d in chunk], pa.large_utf8()),
            "topic": [d["topic"] for d in chunk],
            "title": pa.array([d["title"] for d in chunk], pa.large_utf8()),
            "body": pa.array([d["body"] for d in chunk], pa.large_utf8()),
            "views": pa.array([d["views"] for d in chunk], pa.int64()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), DIM),
        })
        docs.append(table)
        progress(min(i + BATCH, len(docs_in)), len(docs_in), t0)
    print(f"   rows: {docs.count_rows()}")

    step("update one document and delete a few by SQL predicate")
    target = docs_in[0]
    new_body = "Refunds go to the original payment method within 5 days."
    st = docs.update(f"doc_id = '{target['doc_id']}'", [{
        **target, "body": new_body, "embedding": embed(target["title"] + " " + new_body).tolist(),
    }])
    print(f"   update doc_id = '{target['doc_id']}': {st}")
    st = docs.delete("topic = 'garden' AND views < 300")
    print(f"   delete topic = 'garden' AND views < 300: {st}")
    print(f"   rows now: {docs.count_rows()}")
    row = docs.to_arrow(columns=["_id", "doc_id", "body"], where=f"doc_id = '{target['doc_id']}'")
    print(f"   {row.to_pylist()[0]}")

    step("full-text search (BM25, table-global statistics)")
    for q, mode in [("cancel subscription", None), ("reset password", "and"),
                    ("café zürich", None), ("refund -invoice", None)]:
        t0 = time.perf_counter()
        hits = docs.bm25_search("body", q, 3, mode=mode, projection=["doc_id", "title", "score"])
        ms = (time.perf_counter() - t0) * 1000
        print(f"   bm25 {q!r}{' (and)' if mode else ''}: {docs.count('body', q, mode=mode)} "
              f"matches, top 3 in {ms:.2f} ms")
        for r in hits.to_pylist():
            print(f"      {r['score']:6.3f}  {r['doc_id']}  {r['title'][:60]}")
    exact = docs.exact_match("title", target["title"], projection=["doc_id"]).column("doc_id")
    print(f"   exact_match(title = {target['title'][:40]!r}...): {exact.to_pylist()[:5]}")

    step("vector search (IVF + RaBitQ, cosine) and hybrid (reciprocal rank fusion)")
    question = "how can I get my money back for a purchase"
    qv = embed(question)
    t0 = time.perf_counter()
    hits = docs.vector_search("embedding", qv, 3, projection=["doc_id", "title", "score"])
    print(f"   vector {question!r} in {(time.perf_counter() - t0) * 1000:.2f} ms:")
    for r in hits.to_pylist():
        print(f"      {r['score']:6.3f}  {r['doc_id']}  {r['title'][:60]}")
    hits = docs.vector_search("embedding", qv, 3, filter_column="body", filter_query="invoice",
                              projection=["doc_id", "title", "score"])
    print("   ... filtered to documents mentioning 'invoice':")
    for r in hits.to_pylist():
        print(f"      {r['score']:6.3f}  {r['doc_id']}  {r['title'][:60]}")
    hits = docs.hybrid_search("body", "refund payment method", "embedding", qv, 3,
                              projection=["doc_id", "title", "score"])
    print("   hybrid 'refund payment method' + vector:")
    for r in hits.to_pylist():
        print(f"      {r['score']:6.4f}  {r['doc_id']}  {r['title'][:60]}")

    step("SQL: query_sql over the table, with search as table functions")
    for sql in [
        "SELECT topic, COUNT(*) AS n, ROUND(AVG(views)) AS avg_views FROM docs "
        "GROUP BY topic ORDER BY n DESC LIMIT 3",
        "SELECT s.doc_id, s.topic, ROUND(s.score, 3) AS score FROM "
        "bm25_search('docs', 'body', 'refund invoice', 50) s WHERE s.views > 4000 "
        "ORDER BY s.score DESC LIMIT 3",
    ]:
        print(f"   {sql}")
        for row in db.query_sql(sql).to_pylist():
            print(f"      {row}")
    busy = docs.to_arrow(columns=["doc_id", "views"], where="topic = 'billing' AND views > 4900")
    print(f"   to_arrow(where=\"topic = 'billing' AND views > 4900\"): "
          f"{sorted(busy.column('doc_id').to_pylist())}")

    step("optimize (merge the small superfiles, drop deleted rows) and gc")
    files_before = len(list(ROOT.rglob("*.sf.parquet")))
    t0 = time.perf_counter()
    docs.optimize()
    report = docs.gc(0)
    files_after = sorted(ROOT.rglob("*.sf.parquet"))
    print(f"   superfiles: {files_before} -> {len(files_after)} "
          f"in {time.perf_counter() - t0:.2f}s; {report}")
    print(f"   tables: {db.list_tables()}")

    step("the superfile is plain Parquet: SQL in DuckDB, and pyarrow and our reader agree")
    glob = f"{ROOT}/tables/**/*.sf.parquet"
    print("   duckdb: select topic, count(*), round(avg(views)) from read_parquet(...) group by topic")
    for row in duckdb.sql(f"select topic, count(*) n, round(avg(views)) from read_parquet('{glob}') "
                          "group by topic order by n desc limit 3").fetchall():
        print(f"      {row}")
    f = files_after[0]
    ours = pa.RecordBatchReader.from_stream(_Stream(_native.read_parquet(str(f), None))).read_all()
    theirs = pq.read_table(f)
    print(f"   {f.relative_to(ROOT)}: {f.stat().st_size:,} bytes, {theirs.num_rows} rows, "
          f"{pq.ParquetFile(f).metadata.num_row_groups} row group(s)")
    print(f"   pyarrow columns: {theirs.column_names}")
    print(f"   our reader == pyarrow: {ours.equals(theirs)}")
    for name, off, length, crc, intact in _native.superfile_regions(str(f)):
        print(f"   index region {name:8s} at {off:>9,} +{length:>9,} bytes, "
              f"crc32c {crc:08x}, {'intact' if intact else 'CORRUPT'}")
    print("\ndone: ./data holds the table; run `make demo` again to rebuild it.")


class _Stream:
    def __init__(self, capsule):
        self._c = capsule

    def __arrow_c_stream__(self, requested_schema=None):
        return self._c


if __name__ == "__main__":
    main()
