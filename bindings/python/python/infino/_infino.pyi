# Type stubs for infino's public API (the classes re-exported by `infino`).
from typing import Any, Literal, Mapping, Optional, Sequence, Union

import pyarrow

Metric = Literal["cosine", "l2sq", "l2", "negdot", "dot"]
BoolMode = Literal["or", "and"]
ColdFetchMode = Literal[
    "hybrid_with_prefetch", "range_only", "lazy_foreground_with_background_fill"
]
# How much a reindex repairs: "auto" gives each stale superfile the repair
# it needs; "rewrite" brings index formats current and leaves superfiles
# whose terms are stale (reported); "reanalyze" rebuilds every stale one
# from its stored text. Any case.
ReindexMode = Literal["auto", "rewrite", "reanalyze"]
RowData = Union[pyarrow.RecordBatch, pyarrow.Table, Sequence[Mapping[str, Any]]]

# Upstream 0.11's exception classes. Each is also a RuntimeError, what
# upstream's earlier releases raise in the same cases.
class InfinoError(Exception): ...
class ConflictError(InfinoError, RuntimeError): ...
class ConnectionMemoryBudgetError(InfinoError, RuntimeError): ...
class AlreadyRunningError(InfinoError, RuntimeError): ...

# A negative count or size: upstream raises OverflowError there.
class NegativeIntegerError(OverflowError, ValueError): ...

class MutationStats:
    @property
    def matched(self) -> int: ...
    @property
    def n_tombstoned(self) -> int: ...
    @property
    def n_not_found(self) -> int: ...

class GcReport:
    @property
    def bytes_freed(self) -> int: ...
    @property
    def objects_deleted(self) -> int: ...
    @property
    def objects_skipped_live(self) -> int: ...
    @property
    def objects_skipped_too_new(self) -> int: ...
    @property
    def delete_errors(self) -> int: ...

class CheckReport:
    @property
    def version(self) -> int: ...
    @property
    def n_superfiles(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def n_deleted(self) -> int: ...
    @property
    def bytes_verified(self) -> int: ...

class OptimizeOptions:
    def __init__(
        self,
        *,
        max_memory_mb: Optional[int] = None,
        min_fill_percent: Optional[int] = None,
        target_superfile_size_mb: Optional[int] = None,
        # Upstream 0.11's; validated, no effect here (docs/differences.md).
        stale_seal_timeout_ms: Optional[int] = None,
        recalibrate: Optional[Literal["auto", "force", "skip"]] = None,
    ) -> None: ...

class ReindexOptions:
    def __init__(
        self,
        *,
        mode: Optional[ReindexMode] = None,
        # Upstream 0.11's; validated, unused here (docs/differences.md).
        stale_seal_timeout_ms: Optional[int] = None,
    ) -> None: ...

class ReindexReport:
    @property
    def rewritten(self) -> int: ...
    @property
    def already_current(self) -> int: ...
    @property
    def awaiting_reanalysis(self) -> int: ...
    @property
    def held_by_another_run(self) -> int: ...
    # Always empty here: the text of every full-text column is stored.
    @property
    def unrepairable_columns(self) -> list[str]: ...
    @property
    def inconsistent_footers(self) -> list[str]: ...

class StalenessReport:
    @property
    def superfiles(self) -> int: ...
    @property
    def needing_rewrite(self) -> int: ...
    @property
    def awaiting_reanalysis(self) -> int: ...
    @property
    def bytes_to_rewrite(self) -> int: ...
    @property
    def unrepairable_columns(self) -> list[str]: ...
    @property
    def inconsistent_footers(self) -> list[str]: ...
    @property
    def is_current(self) -> bool: ...

class PlannedRepair:
    @property
    def superfile_id(self) -> str: ...
    # Never "auto": the plan has already resolved it per superfile.
    @property
    def mode(self) -> Literal["rewrite", "reanalyze"]: ...
    @property
    def live_bytes(self) -> int: ...

class IndexSpec:
    def __init__(self) -> None: ...
    def fts(
        self,
        column: str,
        analyzer: Optional[str] = None,
        stored: bool = True,
        k1: Optional[float] = None,
        b: Optional[float] = None,
        *,
        stopwords: Union[str, Sequence[str], None] = None,
        stemmer: Optional[str] = None,
        positions: bool = False,
    ) -> IndexSpec: ...
    # vector(column, dim, n_cent, metric) as upstream's earlier releases
    # write it, or vector(column, dim, metric) as 0.11 does. One signature,
    # not two overloads, so that a wrong metric is an `arg-type` error, as
    # upstream's stubs report it.
    def vector(
        self,
        column: str,
        dim: int,
        n_cent: Union[int, Metric, None] = None,
        metric: Optional[Metric] = None,
    ) -> IndexSpec: ...

class Table:
    def schema(self) -> pyarrow.Schema: ...
    def append(self, data: RowData) -> None: ...
    def append_named(self, data: RowData, source_name: str) -> None: ...
    def bm25_search(
        self,
        column: str,
        query: str,
        k: int,
        mode: Optional[BoolMode] = None,
        projection: Optional[Sequence[str]] = None,
        *,
        k1: Optional[float] = None,
        b: Optional[float] = None,
    ) -> pyarrow.Table: ...
    def bm25_search_prefix(
        self,
        column: str,
        prefix: str,
        k: int,
        projection: Optional[Sequence[str]] = None,
        *,
        k1: Optional[float] = None,
        b: Optional[float] = None,
    ) -> pyarrow.Table: ...
    def vector_search(
        self,
        column: str,
        query: Sequence[float],
        k: int,
        nprobe: Optional[int] = None,
        filter_column: Optional[str] = None,
        filter_query: Optional[str] = None,
        filter_mode: Optional[BoolMode] = None,
        projection: Optional[Sequence[str]] = None,
        *,
        rerank_mult: Optional[int] = None,
    ) -> pyarrow.Table: ...
    # numpy uint8 array of shape (n, 16): big-endian `_id`s, nearest first;
    # no pyarrow object is built. Extensions: `nprobe` as vector_search's,
    # and with_scores=True returns (ids, float32 scores as vector_search's).
    def vector_search_ids(
        self,
        column: str,
        query: Sequence[float],
        k: int,
        nprobe: Optional[int] = None,
        *,
        with_scores: bool = False,
    ) -> Any: ...
    # An extension (upstream has none): bm25_search's top k as numpy, the
    # `_id`s as vector_search_ids', best first; with_scores=True returns
    # (ids, float32 scores equal to bm25_search's `score`).
    def bm25_search_ids(
        self,
        column: str,
        query: str,
        k: int,
        mode: Optional[BoolMode] = None,
        *,
        k1: Optional[float] = None,
        b: Optional[float] = None,
        with_scores: bool = False,
    ) -> Any: ...
    def hybrid_search(
        self,
        text_column: str,
        text_query: str,
        vector_column: str,
        vector_query: Sequence[float],
        k: int,
        mode: Optional[BoolMode] = None,
        nprobe: Optional[int] = None,
        projection: Optional[Sequence[str]] = None,
        *,
        rerank_mult: Optional[int] = None,
    ) -> pyarrow.Table: ...
    def token_match(
        self,
        column: str,
        query: str,
        mode: Optional[BoolMode] = None,
        projection: Optional[Sequence[str]] = None,
    ) -> pyarrow.Table: ...
    def exact_match(
        self, column: str, value: str, projection: Optional[Sequence[str]] = None
    ) -> pyarrow.Table: ...
    def count(self, column: str, query: str, mode: Optional[BoolMode] = None) -> int: ...
    def delete(self, predicate: str) -> MutationStats: ...
    def update(self, predicate: str, new_rows: RowData) -> MutationStats: ...
    def optimize(self, settings: Optional[OptimizeOptions] = None) -> None: ...
    def gc(self, grace_secs: float) -> GcReport: ...
    # Repairs every superfile whose indexes are behind what this engine
    # writes; rows, their order and their `_id`s are unchanged. All three
    # raise `ValueError` on a `memory://` table; `reindex` raises
    # `AlreadyRunningError` while an `optimize` or another reindex of the
    # table runs in this process.
    def reindex(self, options: Optional[ReindexOptions] = None) -> ReindexReport: ...
    def reindex_plan(self, options: Optional[ReindexOptions] = None) -> list[PlannedRepair]: ...
    def index_staleness(self, options: Optional[ReindexOptions] = None) -> StalenessReport: ...
    def check(self) -> CheckReport: ...
    def to_arrow(
        self, columns: Optional[Sequence[str]] = None, where: Optional[str] = None
    ) -> pyarrow.Table: ...
    def count_rows(self) -> int: ...

class Connection:
    def create_database(self) -> None: ...
    def create_table(self, name: str, schema: pyarrow.Schema, indexes: IndexSpec) -> Table: ...
    def open_table(self, name: str) -> Table: ...
    # The schema document (fields with ids, types, nullability, indexes; the
    # field cap; `schema_id`). With `patch`, a dict in the same shape, add the
    # fields it names that the table lacks (nullable columns; existing columns
    # never change) — creating the table when there is none — and return the
    # document afterwards; `expected_schema_id` is a compare-and-set.
    def schema(
        self,
        name: str,
        patch: Optional[Mapping[str, Any]] = None,
        expected_schema_id: Optional[int] = None,
    ) -> dict[str, Any]: ...
    def drop_table(self, name: str, purge: bool = False) -> None: ...
    def list_tables(self) -> list[str]: ...
    def query_sql(self, sql: str) -> pyarrow.Table: ...

def connect(
    uri: str,
    *,
    storage_options: Optional[Mapping[str, str]] = None,
    cache_dir: Optional[str] = None,
    cache_budget_bytes: Optional[int] = None,
    connection_memory_budget_bytes: Optional[int] = None,
    cold_fetch_mode: Optional[ColdFetchMode] = None,
    validate: Optional[bool] = None,
    max_staleness_ms: int = 0,
    auto_compact: Union[bool, int] = True,
    auto_compact_max_bytes: Optional[int] = None,
) -> Connection: ...
