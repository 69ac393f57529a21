"""infino: embedded search on Parquet (full-text, vector and SQL), in C.

    import infino, pyarrow as pa
    db = infino.connect("./data")
    docs = db.create_table("docs", schema, infino.IndexSpec().fts("body"))
    docs.append([{"doc_id": "1", "body": "hello"}])
"""
from ._infino import (
    AlreadyRunningError,
    ConflictError,
    Connection,
    ConnectionMemoryBudgetError,
    GcReport,
    IndexSpec,
    InfinoError,
    MutationStats,
    OptimizeOptions,
    PlannedRepair,
    ReindexOptions,
    ReindexReport,
    StalenessReport,
    Table,
    connect,
)

try:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("infino")
    except PackageNotFoundError:
        __version__ = "0.0.0"
except ImportError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "connect",
    "Connection",
    "InfinoError",
    "ConnectionMemoryBudgetError",
    "ConflictError",
    "AlreadyRunningError",
    "Table",
    "IndexSpec",
    "MutationStats",
    "GcReport",
    "OptimizeOptions",
    "ReindexOptions",
    "ReindexReport",
    "StalenessReport",
    "PlannedRepair",
]
