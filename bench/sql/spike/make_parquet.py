import numpy as np, pyarrow as pa, pyarrow.parquet as pq, os, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
n = 1_000_000
i = np.arange(n, dtype=np.uint64)
cat = ((i * np.uint64(2654435761)) & np.uint64(0xffffffff)) % np.uint64(50)
price = (((i * np.uint64(2246822519)) & np.uint64(0xffffffff)) >> np.uint64(8)).astype(np.float64) / 16777216.0 * 100.0
names = np.array([f"cat_{c:02d}" for c in range(50)])
t = pa.table({"id": i.astype(np.int64), "cat": names[cat.astype(np.int64)], "price": price})
for p in range(10):
    pq.write_table(t.slice(p * 100_000, 100_000), f"{d}/part{p}.parquet", row_group_size=100_000)
pq.write_table(t, f"{d}/one.parquet", row_group_size=122_880)
print(t.num_rows, os.path.getsize(f"{d}/one.parquet"))
