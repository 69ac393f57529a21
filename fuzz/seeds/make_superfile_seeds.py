"""Regenerates fuzz/corpus/fuzz_superfile_open/ seeds: tiny superfiles
(pyarrow-written Parquet re-wrapped with two dummy regions by
tests/tools/api_superfile_tool). Usage:
    python fuzz/seeds/make_superfile_seeds.py BUILD_DIR"""
import pathlib
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

build = pathlib.Path(sys.argv[1])
out = pathlib.Path(__file__).resolve().parents[1] / "corpus" / "fuzz_superfile_open"
out.mkdir(parents=True, exist_ok=True)
tables = {
    "ints": pa.table({"x": pa.array(range(20), pa.int64())}),
    "text": pa.table({"s": pa.array(["a", None, "ccc"] * 5, pa.large_utf8())}),
    "vec": pa.table({"v": pa.array([[1.0, 2.0]] * 8, pa.list_(pa.float32(), 2))}),
}
with tempfile.TemporaryDirectory() as d:
    for name, t in tables.items():
        src = pathlib.Path(d) / f"{name}.parquet"
        pq.write_table(t, src, compression="none")
        subprocess.run([str(build / "tools" / "api_superfile_tool"), "wrap", str(src),
                        str(out / f"{name}.sf.parquet")], check=True)
print("seeds in", out)
