import duckdb, time, statistics, pyarrow.parquet as pq, sys
d = sys.argv[1]
Q = {"count": "SELECT count(*) FROM {}", "count_price_gt_90": "SELECT count(*) FROM {} WHERE price > 90",
     "group_by_cat": "SELECT cat, count(*), avg(price) FROM {} GROUP BY cat", "point_id": "SELECT id, cat FROM {} WHERE id = 123456"}
tbl = pq.read_table(f"{d}/one.parquet")
print("duckdb", duckdb.__version__)
for th in (1, 2):
    con = duckdb.connect(config={"threads": th})
    con.execute(f"CREATE VIEW pq10 AS SELECT * FROM read_parquet('{d}/part*.parquet')")
    con.execute(f"CREATE VIEW pq1 AS SELECT * FROM read_parquet('{d}/one.parquet')")
    con.register("arrow_tbl", tbl)
    con.execute("CREATE TABLE native AS SELECT * FROM pq10")
    for qn, q in Q.items():
        for src in ("pq10", "pq1", "arrow_tbl", "native"):
            sql = q.format(src); con.execute(sql).fetchall()
            ts = []
            for _ in range(9):
                t0 = time.perf_counter(); con.execute(sql).fetchall(); ts.append((time.perf_counter() - t0) * 1e3)
            print(f"PY threads={th} src={src} q={qn} median_ms={statistics.median(ts):.2f}")
