"""The public classes of ``infino``, over the C engine in ``infino._native``.

This layer only converts arguments: user rows (list of dicts, pyarrow
tables and batches, pandas frames, anything exporting an Arrow stream)
become an Arrow C stream with pyarrow, results come back as
``pyarrow.Table``. All the work happens in C with the GIL released.

Ctrl-C and writes: the engine's append, update, delete, optimize and gc
return ``(result, guard)``. The guard holds a Ctrl-C that arrived during
the call after the engine could no longer stop (the commit landed); each
wrapper drops it as its very last step, so the KeyboardInterrupt surfaces
at the caller's next statement, never from the call. A Ctrl-C the engine
did act on raises KeyboardInterrupt from the call, with nothing committed.
Keep the guard alive until the result is built, and run no code after
dropping it (see "interrupts" in _native.c).
"""
from __future__ import annotations

import math
import os
import struct
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _native

# Upstream 0.11's exception classes (created in _native, so the engine's
# statuses can raise them). Each is also the builtin upstream's earlier
# releases raise for the same case; see _native.c, "errors".
InfinoError = _native.InfinoError
ConflictError = _native.ConflictError
ConnectionMemoryBudgetError = _native.ConnectionMemoryBudgetError
AlreadyRunningError = _native.AlreadyRunningError

_COLD_FETCH_MODES = (
    "hybrid_with_prefetch",
    "range_only",
    "lazy_foreground_with_background_fill",
    # short names (upstream's Node binding takes them too)
    "hybrid",
    "range",
    "lazy",
)
_U64_MAX = (1 << 64) - 1


class _Stream:
    """Hands a capsule from the engine to pyarrow's stream importer."""

    __slots__ = ("_capsule",)

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._capsule


class _Schema:
    __slots__ = ("_capsule",)

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_schema__(self) -> Any:
        return self._capsule


def _read_all(capsule: Any) -> pa.Table:
    return pa.RecordBatchReader.from_stream(_Stream(capsule)).read_all()


# A search result (one small batch) as a pyarrow Table: the batch is
# imported against a pyarrow Schema cached by the schema's content, so a
# call imports no schema and builds no stream reader (_native.c, "results").
_to_table = _native.to_table


class NegativeIntegerError(OverflowError, ValueError):
    """A negative count or size. Upstream raises OverflowError here (it
    converts to an unsigned integer); a negative value is also a plain
    ValueError, so either ``except`` catches it."""


def _check_uint(name: str, value: Any, limit: int = _U64_MAX) -> int:
    """Mimics the argument checks of upstream's bindings: TypeError for a
    non-integer, OverflowError for too large values, NegativeIntegerError
    (an OverflowError and a ValueError) for negative ones."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = value.__index__()
        except AttributeError:
            raise TypeError(
                f"'{type(value).__name__}' object cannot be interpreted as an "
                f"integer ({name})"
            ) from None
    if value < 0:
        raise NegativeIntegerError(f"{name} must not be negative, got {value}")
    if value > limit:
        raise OverflowError(f"{name}={value} is out of range")
    return value


# Upstream 0.11 reserves about four times an ingest's Arrow bytes against
# 90% of connection_memory_budget_bytes (observed: 1,000 rows of 20,890
# bytes pass a 100,000-byte budget, 20,000 rows of 448,890 bytes do not).
_BUDGET_INGEST_FACTOR = 4
_BUDGET_USABLE_PERCENT = 90


def _check_budget(budget: int, what: str, nbytes: int) -> None:
    if budget == 0:
        return
    need = _BUDGET_INGEST_FACTOR * nbytes
    limit = budget * _BUDGET_USABLE_PERCENT // 100
    if need > limit:
        raise ConnectionMemoryBudgetError(
            f"{what}: over connection memory budget: the ingest needs about "
            f"{need} B ({_BUDGET_INGEST_FACTOR} x its {nbytes} B of Arrow "
            f"data), over the {limit} B limit ({_BUDGET_USABLE_PERCENT}% of "
            f"connection_memory_budget_bytes={budget})"
        )


# ---- small value types ------------------------------------------------------

_PRIVATE = object()


class _Report:
    """A read-only value the library makes (constructed with _PRIVATE and
    one value per slot): each slot "_x" is read through a property "x"
    (a copy for the slots in `_lists`), and the repr lists them, then the
    computed properties named in `_repr_extra`."""

    __slots__: tuple = ()
    _lists: tuple = ()
    _repr_extra: tuple = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for slot in cls.__slots__:
            name = slot[1:]
            if name in cls.__dict__:
                continue  # defined by the class itself
            if name in cls._lists:
                setattr(cls, name, property(lambda self, s=slot: list(getattr(self, s))))
            else:
                setattr(cls, name, property(lambda self, s=slot: getattr(self, s)))

    def __init__(self, *args: Any) -> None:
        if len(args) != len(self.__slots__) + 1 or args[0] is not _PRIVATE:
            raise TypeError(f"{type(self).__name__} cannot be constructed directly")
        for slot, value in zip(self.__slots__, args[1:]):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        names = [slot[1:] for slot in self.__slots__] + list(self._repr_extra)
        return (f"{type(self).__name__}("
                + ", ".join(f"{n}={getattr(self, n)!r}" for n in names) + ")")


class MutationStats(_Report):
    """What a delete or update did: rows matched, tombstoned, not found."""

    __slots__ = ("_matched", "_n_tombstoned", "_n_not_found")


class GcReport(_Report):
    """What gc() did: bytes and objects freed, objects kept and why."""

    __slots__ = (
        "_bytes_freed",
        "_objects_deleted",
        "_objects_skipped_live",
        "_objects_skipped_too_new",
        "_delete_errors",
    )


class CheckReport(_Report):
    """What Table.check() verified: the snapshot, its superfiles, rows and
    deletions, and how many superfile bytes were read."""

    __slots__ = ("_version", "_n_superfiles", "_n_rows", "_n_deleted",
                 "_bytes_verified")


def _opt_str(name: str, value: Any) -> Optional[str]:
    """A str or None, with the TypeError upstream's bindings raise."""
    if value is not None and not isinstance(value, str):
        raise TypeError(
            f"argument '{name}': '{type(value).__name__}' object is not an "
            f"instance of 'str'"
        )
    return value


def _opt_u64(name: str, value: Any) -> Optional[int]:
    """None or an unsigned 64-bit integer; like upstream, True and False
    count as 1 and 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    return _check_uint(name, value)


class OptimizeOptions:
    """Compaction settings; omitted fields take the engine's defaults.

    `stale_seal_timeout_ms` and `recalibrate` ("auto", "force" or "skip",
    checked when optimize runs) are upstream 0.11's and change nothing
    here: no run leaves a seal to time out, and every superfile optimize
    writes trains its vector index afresh (docs/differences.md)."""

    __slots__ = ("_max_memory_mb", "_min_fill_percent", "_target_mb",
                 "_stale_seal_timeout_ms", "_recalibrate")

    def __init__(
        self,
        *,
        max_memory_mb: Optional[int] = None,
        min_fill_percent: Optional[int] = None,
        target_superfile_size_mb: Optional[int] = None,
        stale_seal_timeout_ms: Optional[int] = None,
        recalibrate: Optional[str] = None,
    ) -> None:
        if max_memory_mb is not None:
            max_memory_mb = _check_uint("max_memory_mb", max_memory_mb)
        if min_fill_percent is not None:
            min_fill_percent = _check_uint("min_fill_percent", min_fill_percent, 255)
            if min_fill_percent > 100:
                raise ValueError(
                    f"min_fill_percent must be between 0 and 100, got {min_fill_percent}"
                )
        if target_superfile_size_mb is not None:
            target_superfile_size_mb = _check_uint(
                "target_superfile_size_mb", target_superfile_size_mb
            )
        self._max_memory_mb = max_memory_mb
        self._min_fill_percent = min_fill_percent
        self._target_mb = target_superfile_size_mb
        self._stale_seal_timeout_ms = _opt_u64(
            "stale_seal_timeout_ms", stale_seal_timeout_ms)
        self._recalibrate = _opt_str("recalibrate", recalibrate)

    def __repr__(self) -> str:
        return (
            f"OptimizeOptions(max_memory_mb={self._max_memory_mb}, "
            f"min_fill_percent={self._min_fill_percent}, "
            f"target_superfile_size_mb={self._target_mb}, "
            f"stale_seal_timeout_ms={self._stale_seal_timeout_ms}, "
            f"recalibrate={self._recalibrate!r})"
        )


class ReindexOptions:
    """Options for `reindex`, `reindex_plan` and `index_staleness`;
    omitted fields fall back to engine defaults. `mode` ("auto",
    "rewrite" or "reanalyze", any case) is checked when the call runs.
    `stale_seal_timeout_ms` is upstream 0.11's and unused here: no run
    leaves a seal to time out (docs/differences.md)."""

    __slots__ = ("_mode", "_stale_seal_timeout_ms")

    def __init__(
        self,
        *,
        mode: Optional[str] = None,
        stale_seal_timeout_ms: Optional[int] = None,
    ) -> None:
        self._mode = _opt_str("mode", mode)
        self._stale_seal_timeout_ms = _opt_u64(
            "stale_seal_timeout_ms", stale_seal_timeout_ms)

    def __repr__(self) -> str:
        return (
            f"ReindexOptions(mode={self._mode!r}, "
            f"stale_seal_timeout_ms={self._stale_seal_timeout_ms})"
        )


class ReindexReport(_Report):
    """What a `reindex` did: superfiles rewritten, already current, left
    for a reanalysis (mode "rewrite"), or replaced first by another run;
    columns without stored text (always empty here: text is stored) and
    superfiles whose footers lack an index region or name a format this
    engine cannot read (reported, not repaired)."""

    __slots__ = ("_rewritten", "_already_current", "_awaiting_reanalysis",
                 "_held_by_another_run", "_unrepairable_columns",
                 "_inconsistent_footers")
    _lists = ("unrepairable_columns", "inconsistent_footers")


class StalenessReport(_Report):
    """How far the table's indexes are behind what this engine writes:
    superfiles examined, those the mode would rewrite (and their bytes),
    those left for a reanalysis, and the same column and footer lists as
    ReindexReport. `is_current`: nothing to repair or report."""

    __slots__ = ("_superfiles", "_needing_rewrite", "_awaiting_reanalysis",
                 "_bytes_to_rewrite", "_unrepairable_columns",
                 "_inconsistent_footers")
    _lists = ("unrepairable_columns", "inconsistent_footers")
    _repr_extra = ("is_current",)

    @property
    def is_current(self) -> bool:
        return (self._needing_rewrite == 0 and self._awaiting_reanalysis == 0
                and not self._unrepairable_columns
                and not self._inconsistent_footers)


class PlannedRepair(_Report):
    """One superfile a `reindex` would repair: its id (as in its file
    name), the repair ("rewrite" or "reanalyze", never "auto") and its
    live bytes (file size times the fraction of rows not deleted)."""

    __slots__ = ("_superfile_id", "_mode", "_live_bytes")



_STOPWORD_LANGS = ("english", "french", "german", "spanish", "italian",
                   "portuguese", "dutch")
_STEMMER_LANGS = ("arabic", "armenian", "basque", "catalan", "danish", "dutch",
                  "english", "finnish", "french", "german", "greek", "hindi",
                  "hungarian", "indonesian", "irish", "italian", "lithuanian",
                  "nepali", "norwegian", "porter", "portuguese", "romanian",
                  "russian", "serbian", "spanish", "swedish", "tamil", "turkish",
                  "yiddish")


class IndexSpec:
    """Which columns are full-text and vector indexed. Immutable: every
    builder call returns a new spec and leaves the receiver unchanged."""

    __slots__ = ("_fts", "_vectors")

    def __init__(self) -> None:
        self._fts: tuple = ()
        self._vectors: tuple = ()

    def _with(self, fts: tuple, vectors: tuple) -> "IndexSpec":
        spec = IndexSpec()
        spec._fts = fts
        spec._vectors = vectors
        return spec

    def fts(self, column: str, analyzer: Optional[str] = None, stored: bool = True,
            k1: Optional[float] = None, b: Optional[float] = None, *,
            stopwords: Union[str, Sequence[str], None] = None,
            stemmer: Optional[str] = None,
            positions: bool = False) -> "IndexSpec":
        """Full-text index `column`, with upstream infino 0.11.0's
        arguments, fixed when the table is created:

        - `analyzer`: "standard" (the default: NFKC with case folding, then
          Unicode words per UAX #29, so "don't" and "3.14" are one token and
          each CJK ideograph is one) or "alnum" (runs of letters and digits,
          what tables made before analyzers use).
        - `stopwords`: a language with a built-in list ("english" is the
          same 33 words as upstream's; also "french", "german", "spanish",
          "italian", "portuguese", "dutch"), or a list of your own words.
        - `stemmer`: a Snowball language ("english", "german", "porter",
          ... every language libstemmer has).
        - `k1`, `b`: the column's BM25 parameters (both or neither); a
          search may still pass its own.

        - `positions`: True lets searches quote phrases ('"new york"');
          without it a quoted phrase is a ValueError, as upstream's.
        - `stored`: False indexes the column but hides it from results,
          projections, `to_arrow`, SQL and delete/update predicates (naming
          it there is a ValueError), as upstream's does; it stays
          searchable, appends take it and `schema()` lists it. Here the
          text stays in the superfile: compaction and reindex rebuild the
          index from it, `exact_match` verifies against it (upstream's
          fails on such a column), and Parquet readers given the file see
          it (see docs/differences.md)."""
        if not isinstance(column, str):
            raise TypeError("column must be a str")
        if analyzer is not None and not isinstance(analyzer, str):
            raise TypeError(f"argument 'analyzer': '{type(analyzer).__name__}' object is "
                            "not an instance of 'str'")
        if analyzer is not None and analyzer.lower() not in ("standard", "alnum"):
            raise ValueError(f'IndexSpec.fts: unknown analyzer "{analyzer}" '
                             '(valid: "standard", "alnum")')
        if (k1 is None) != (b is None):
            raise ValueError("IndexSpec.fts: pass k1 and b together, or neither")
        if k1 is not None:
            k1, b = float(k1), float(b)
            if not (0 < k1 < math.inf) or not (0 <= b <= 1):
                raise ValueError(
                    f'FTS column "{column}": BM25 k1 must be finite and > 0, b must be '
                    f"finite and in [0, 1]; got k1={k1:g}, b={b:g}")
        stop_list: Optional[tuple] = None
        if stopwords is not None and not isinstance(stopwords, str):
            if not isinstance(stopwords, (list, tuple)) or \
                    not all(isinstance(w, str) for w in stopwords):
                raise TypeError("argument 'stopwords': a language name (str) or a "
                                "list of str")
            stop_list, stopwords = tuple(stopwords), None
        if stopwords is not None and stopwords.lower() not in _STOPWORD_LANGS:
            raise ValueError(f'IndexSpec.fts: unknown stopwords "{stopwords}" (valid: '
                             + ", ".join(f'"{x}"' for x in _STOPWORD_LANGS)
                             + ", or a list of words)")
        if stemmer is not None and not isinstance(stemmer, str):
            raise TypeError(f"argument 'stemmer': '{type(stemmer).__name__}' object is "
                            "not an instance of 'str'")
        if stemmer is not None and stemmer.lower() not in _STEMMER_LANGS:
            raise ValueError(f'IndexSpec.fts: unknown stemmer "{stemmer}" (valid: '
                             + ", ".join(f'"{x}"' for x in _STEMMER_LANGS) + ")")
        entry = (column, analyzer.lower() if analyzer else None,
                 stemmer.lower() if stemmer else None,
                 stopwords.lower() if stopwords else None, stop_list,
                 k1 or 0.0, b if b is not None else 0.0,
                 bool(positions), bool(stored))
        return self._with(self._fts + (entry,), self._vectors)

    def vector(self, column: str, dim: int, n_cent: Any = None,
               metric: Optional[str] = None) -> "IndexSpec":
        """Vector index `column` (fixed_size_list<float32, dim>) with
        `n_cent` IVF lists per superfile and `metric`. The form
        vector(column, dim, metric) of upstream 0.11 (also with
        metric=...) picks the list count per superfile (about sqrt(rows))."""
        if metric is None and isinstance(n_cent, str):
            n_cent, metric = 0, n_cent
        elif n_cent is None and metric is not None:
            n_cent = 0
        if n_cent is None:
            raise TypeError("vector() missing required argument: 'metric'")
        if not isinstance(column, str) or not isinstance(metric, str):
            raise TypeError("column and metric must be str")
        dim = _check_uint("dim", dim)
        n_cent = _check_uint("n_cent", n_cent)
        return self._with(self._fts, self._vectors + ((column, dim, n_cent, metric),))

    def __repr__(self) -> str:
        parts = []
        for c, an, stem, stop, stop_list, k1, b, positions, stored in self._fts:
            args = [repr(c)]
            if an is not None:
                args.append(f"analyzer={an!r}")
            if k1 or b:
                args += [f"k1={k1!r}", f"b={b!r}"]
            if stop is not None or stop_list is not None:
                args.append(f"stopwords={stop if stop is not None else list(stop_list)!r}")
            if stem is not None:
                args.append(f"stemmer={stem!r}")
            if positions:
                args.append("positions=True")
            if not stored:
                args.append("stored=False")
            parts.append(f".fts({', '.join(args)})")
        parts += [f".vector({c!r}, {d}, {n}, {m!r})" for c, d, n, m in self._vectors]
        return "IndexSpec()" + "".join(parts)


# ---- rows in ------------------------------------------------------------------


def _diagnose_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> str:
    """Finds the first (column, row) pyarrow refuses, for the error text.
    Runs only after a conversion has failed."""
    for field in schema:
        for i, row in enumerate(rows):
            value = row.get(field.name) if isinstance(row, Mapping) else None
            if value is None:
                if not field.nullable:
                    return f"column '{field.name}': row {i} is missing or null, but the column is not nullable"
                continue
            try:
                pa.scalar(value, type=field.type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
                return f"column '{field.name}': row {i}: {e}"
    return ""


def _from_rows(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {i} is a {type(row).__name__}, not a mapping")
    known = set(schema.names)
    seen = set().union(*rows) if rows else set()
    extra = sorted(str(k) for k in seen - known)
    if extra:
        raise ValueError(f"column '{extra[0]}' is not in the table's schema")
    try:
        return pa.Table.from_pylist(list(rows), schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
        where = _diagnose_rows(rows, schema)
        raise ValueError(where or str(e)) from None


def _to_stream(data: Any, schema: pa.Schema, budget: int = 0,
               what: str = "append") -> Any:
    """Returns an Arrow stream capsule for `data`, after checking the
    connection's memory budget (`budget` bytes, 0: none) against it. An
    object that only exports a stream is not measured: its size is known
    once it has been read, by the engine."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    elif isinstance(data, (list, tuple)):
        data = _from_rows(data, schema)
    elif (type(data).__module__ or "").startswith("pandas") and hasattr(data, "columns"):
        try:
            data = pa.Table.from_pandas(data, schema=schema, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError, KeyError) as e:
            raise ValueError(str(e)) from None
    elif not hasattr(data, "__arrow_c_stream__") and hasattr(data, "__arrow_c_array__"):
        data = pa.Table.from_batches([pa.record_batch(data)])
    if isinstance(data, pa.Table):
        _check_budget(budget, what, data.nbytes)
        return data.__arrow_c_stream__()
    if hasattr(data, "__arrow_c_stream__"):
        return data.__arrow_c_stream__()
    raise TypeError(
        f"cannot append a {type(data).__name__}: use a list of dicts, a "
        "pyarrow Table or RecordBatch, a pandas DataFrame, or an object "
        "with __arrow_c_stream__"
    )


# ---- tables ------------------------------------------------------------------


class Table:
    """A table: a fixed schema, its indexes, and its rows."""

    __slots__ = ("_t", "_schema", "_conn")

    def __init__(self, *args: Any) -> None:
        if len(args) != 3 or args[0] is not _PRIVATE:
            raise TypeError("Tables come from Connection.create_table/open_table")
        self._t = args[1]
        self._conn = args[2]
        self._schema = pa.schema(_Schema(self._t.schema()))

    def __repr__(self) -> str:
        return f"Table({self._t.name()!r})"

    def schema(self) -> pa.Schema:
        """The declared schema (without the engine's _id column), with
        the columns `Connection.schema` added, through any handle. It is
        what appended rows follow, so it lists full-text columns indexed
        with stored=False, which no read returns (as upstream's)."""
        self._schema = pa.schema(_Schema(self._t.schema()))
        return self._schema

    def append(self, data: Any) -> None:
        """Appends rows as one atomic commit, durable when this returns."""
        return self._append(data, "append")

    def append_named(self, data: Any, source_name: str) -> None:
        """`append`, naming the source the rows came from (upstream 0.11
        puts the name into the new file's object key). Here the name is
        checked to be a str and otherwise unused: file names are the
        engine's own."""
        _str("source_name", source_name)
        return self._append(data, "append_named")

    def _append(self, data: Any, what: str) -> None:
        if isinstance(data, (list, tuple)) and len(data) == 0:
            return None
        if not hasattr(data, "__arrow_c_stream__"):
            self.schema()  # rows are typed by the newest schema
        # (n_rows, guard): discarded right away, which drops the guard
        self._t.append(_to_stream(data, self._schema, self._conn._budget, what))
        return None

    def delete(self, predicate: str) -> MutationStats:
        if not isinstance(predicate, str):
            raise TypeError("predicate must be a str")
        counts, guard = self._t.delete(predicate)
        stats = MutationStats(_PRIVATE, *counts)
        del guard  # last step: an owed Ctrl-C surfaces after we return
        return stats

    def update(self, predicate: str, new_rows: Any) -> MutationStats:
        if not isinstance(predicate, str):
            raise TypeError("predicate must be a str")
        if not hasattr(new_rows, "__arrow_c_stream__"):
            self.schema()  # rows are typed by the newest schema
        if isinstance(new_rows, (list, tuple)) and len(new_rows) == 0:
            new_rows = self._schema.empty_table()
        counts, guard = self._t.update(
            predicate, _to_stream(new_rows, self._schema, self._conn._budget, "update"))
        stats = MutationStats(_PRIVATE, *counts)
        del guard  # last step: an owed Ctrl-C surfaces after we return
        return stats

    def optimize(self, settings: Optional[OptimizeOptions] = None) -> None:
        if settings is not None and not isinstance(settings, OptimizeOptions):
            raise TypeError("settings must be an OptimizeOptions or None")
        s = settings or OptimizeOptions()
        # (None, guard): discarded right away, which drops the guard
        self._t.optimize(
            s._max_memory_mb or 0,
            -1 if s._min_fill_percent is None else s._min_fill_percent,
            s._target_mb or 0,
            s._recalibrate,
            s._stale_seal_timeout_ms or 0,
        )
        return None

    # ---- reindex -------------------------------------------------------------

    def _reindex(self, options: Optional[ReindexOptions], plan_only: bool) -> tuple:
        if options is not None and not isinstance(options, ReindexOptions):
            raise TypeError(
                f"argument 'options': '{type(options).__name__}' object is "
                f"not an instance of 'ReindexOptions'"
            )
        o = options or ReindexOptions()
        return self._t.reindex(o._mode, o._stale_seal_timeout_ms or 0, plan_only)

    def reindex(self, options: Optional[ReindexOptions] = None) -> ReindexReport:
        """Repairs every superfile whose indexes are behind what this
        engine writes (an older index format, or terms analyzed otherwise
        than the column now says): each is rebuilt from its stored rows
        and takes the old file's place, one commit each. Rows, their
        order, their `_id`s and deletions are unchanged, so searches
        answer as before; appends, updates and deletes made meanwhile are
        kept. Raises AlreadyRunningError while an optimize or another
        reindex of the table runs in this process, and ValueError on a
        memory:// table (no storage of its own to repair)."""
        r, guard = self._reindex(options, False)
        report = ReindexReport(_PRIVATE, r[5], r[1], r[3], r[6], [], r[8])
        del guard  # last step: an owed Ctrl-C surfaces after we return
        return report

    def reindex_plan(self, options: Optional[ReindexOptions] = None) -> List[PlannedRepair]:
        """The superfiles `reindex` would repair now, in table order,
        changing nothing. ValueError on a memory:// table."""
        r, guard = self._reindex(options, True)
        plan = [PlannedRepair(_PRIVATE, *e) for e in r[7]]
        del guard
        return plan

    def index_staleness(self, options: Optional[ReindexOptions] = None) -> StalenessReport:
        """How far the table's indexes are behind what this engine
        writes, changing nothing. ValueError on a memory:// table."""
        r, guard = self._reindex(options, True)
        report = StalenessReport(_PRIVATE, r[0], r[2], r[3], r[4], [], r[8])
        del guard
        return report

    def gc(self, grace_secs: float) -> GcReport:
        grace = float(grace_secs)
        counts, guard = self._t.gc(max(grace, 0.0))
        report = GcReport(_PRIVATE, *counts)
        del guard  # last step: an owed Ctrl-C surfaces after we return
        return report

    def check(self) -> CheckReport:
        """Verifies the table against its newest snapshot: every file it
        names is present with its recorded size, checksums hold, every row
        group decodes, and row counts, _id ranges and deletion counts agree.
        Reads the whole table. Raises RuntimeError naming the first file
        that disagrees (KeyError for a missing one). Not part of
        upstream's API."""
        return CheckReport(_PRIVATE, *self._t.check())

    # Reading everything (not part of upstream's API; handy and cheap).
    def to_arrow(self, columns: Optional[Sequence[str]] = None, where: Optional[str] = None) -> pa.Table:
        """All live rows (optionally some columns, optionally filtered by a
        SQL predicate) as a pyarrow Table, `_id` included by default, and
        no column indexed with stored=False (naming one is a ValueError)."""
        cols = None if columns is None else [str(c) for c in columns]
        return _read_all(self._t.scan(cols, where))

    def count_rows(self) -> int:
        return self._t.count_rows()

    # ---- search ----------------------------------------------------------

    def bm25_search(self, column: str, query: str, k: int, mode: Optional[str] = None,
                    projection: Optional[Sequence[str]] = None, *,
                    k1: Optional[float] = None, b: Optional[float] = None) -> pa.Table:
        """Top `k` rows by BM25 relevance; `_id` and `score` by default.

        Terms are the column analyzer's tokens, matched whole however long;
        a term named twice weighs twice; `-word` excludes; a query holds at
        most 4,096 distinct terms (ValueError beyond). On a column created
        with positions=True, `"new york"` is a phrase (the tokens in that
        order, stop words keeping their places), scored as its tokens with
        the phrase's count for tf; `-"a b"` excludes it. Scores are upstream infino's: BM25
        without the constant (k1 + 1) factor. `k1` and `b` (both or
        neither) override the column's parameters for this search only;
        results stay exact."""
        if type(k) is not int or not 0 <= k <= _U64_MAX:
            k = _check_uint("k", k)
        if type(column) is not str or type(query) is not str:
            column, query = _str("column", column), _str("query", query)
        return _to_table(self._t.bm25_search(
            column, query, k, None if mode is None else _mode(mode),
            None if projection is None else _projection(projection), k1, b))

    def bm25_search_prefix(self, column: str, prefix: str, k: int,
                           projection: Optional[Sequence[str]] = None, *,
                           k1: Optional[float] = None,
                           b: Optional[float] = None) -> pa.Table:
        """Top `k` rows by BM25 over every term of `column` that starts with
        `prefix` (case folded like tokens), OR'ed, each term once: the SQL
        table function bm25_search_prefix as a method. The empty prefix
        names every term; a prefix holding a space or punctuation matches
        nothing."""
        k = _check_uint("k", k)
        return _to_table(self._t.bm25_search_prefix(
            _str("column", column), _str("prefix", prefix), k,
            _projection(projection), k1, b))

    def vector_search(self, column: str, query: Any, k: int, nprobe: Optional[int] = None,
                      filter_column: Optional[str] = None, filter_query: Optional[str] = None,
                      filter_mode: Optional[str] = None,
                      projection: Optional[Sequence[str]] = None, *,
                      rerank_mult: Optional[int] = None) -> pa.Table:
        """The `k` nearest rows; `score` is the distance (smaller is nearer).

        `rerank_mult` (upstream's candidate over-fetch for exact rescoring,
        an int from 1 to 2**32-1) is checked and has no effect: the best
        candidates are always rescored from the stored float32 vectors."""
        if projection is None and (
                isinstance(nprobe, str)
                or (nprobe is None and _is_names(filter_mode))):
            # upstream 0.11's positional order, which has no nprobe:
            # (filter_column, filter_query, filter_mode, projection)
            nprobe, filter_column, filter_query, filter_mode, projection = (
                None, nprobe, filter_column, filter_query, filter_mode)
        if type(k) is not int or not 0 <= k <= _U64_MAX:
            k = _check_uint("k", k)
        nprobe = 0 if nprobe is None else _check_uint("nprobe", nprobe)
        if rerank_mult is not None:
            _check_rerank_mult(rerank_mult)
        if (filter_column is None) != (filter_query is None):
            raise ValueError("filter_column and filter_query must be provided together")
        if filter_mode is not None and filter_column is None:
            raise ValueError("filter_mode requires filter_column and filter_query")
        return _to_table(self._t.vector_search(
            column if type(column) is str else _str("column", column), query, k, nprobe,
            None if filter_column is None else _str("filter_column", filter_column),
            None if filter_query is None else _str("filter_query", filter_query),
            None if filter_mode is None else _mode(filter_mode, "filter_mode"),
            None if projection is None else _projection(projection)))

    def hybrid_search(self, text_column: str, text_query: str, vector_column: str,
                      vector_query: Any, k: int, mode: Optional[str] = None,
                      nprobe: Optional[int] = None,
                      projection: Optional[Sequence[str]] = None, *,
                      rerank_mult: Optional[int] = None) -> pa.Table:
        """BM25 and vector results fused by reciprocal rank (k = 60).
        `rerank_mult` as for `vector_search` (checked, no effect)."""
        if projection is None and _is_names(nprobe):
            # upstream 0.11's positional order, which has no nprobe
            nprobe, projection = None, nprobe
        k = _check_uint("k", k)
        nprobe = 0 if nprobe is None else _check_uint("nprobe", nprobe)
        _check_rerank_mult(rerank_mult)
        return _to_table(self._t.hybrid_search(
            _str("text_column", text_column), _str("text_query", text_query),
            _str("vector_column", vector_column), vector_query, k, _mode(mode), nprobe,
            _projection(projection)))

    def vector_search_ids(self, column: str, query: Any, k: int,
                          nprobe: Optional[int] = None, *,
                          with_scores: bool = False) -> Any:
        """The `_id`s of the `k` nearest rows, nearest first, as a numpy
        uint8 array of shape (n, 16): each row one `_id` as a 128-bit
        big-endian integer, n = min(k, live rows). Needs numpy.

        Lean: no pyarrow object is built. Extensions (upstream 0.11 has
        neither): `nprobe` as for `vector_search`, and `with_scores=True`
        returns `(ids, scores)`, the scores a float32 array of the
        distances `vector_search` reports, in the same order."""
        if type(k) is not int or not 0 <= k <= _U64_MAX:
            k = _check_uint("k", k)
        nprobe = 0 if nprobe is None else _check_uint("nprobe", nprobe)
        return _ids_result(_ids_scores(self._t.vector_search(
            column if type(column) is str else _str("column", column), query, k, nprobe,
            None, None, None, None)), with_scores)

    def bm25_search_ids(self, column: str, query: str, k: int, mode: Optional[str] = None, *,
                        k1: Optional[float] = None, b: Optional[float] = None,
                        with_scores: bool = False) -> Any:
        """`bm25_search`'s top `k` as numpy arrays, without pyarrow: the
        `_id`s as uint8 of shape (n, 16) (128-bit big-endian, as
        `vector_search_ids`), best first; with `with_scores=True`,
        `(ids, scores)`, the scores a float32 array equal to
        `bm25_search`'s `score` column. An extension: upstream has no such
        method."""
        if type(k) is not int or not 0 <= k <= _U64_MAX:
            k = _check_uint("k", k)
        if type(column) is not str or type(query) is not str:
            column, query = _str("column", column), _str("query", query)
        return _ids_result(_ids_scores(self._t.bm25_search(
            column, query, k, None if mode is None else _mode(mode), None, k1, b)),
            with_scores)

    def token_match(self, column: str, query: str, mode: Optional[str] = None,
                    projection: Optional[Sequence[str]] = None) -> pa.Table:
        """Every row holding the query's terms (unranked, score 0)."""
        return _to_table(self._t.token_match(
            _str("column", column), _str("query", query), _mode(mode), _projection(projection)))

    def exact_match(self, column: str, value: str,
                    projection: Optional[Sequence[str]] = None) -> pa.Table:
        """Every row whose whole value is exactly `value` (score 0): any str,
        with any number of words, repeated words, only white space, or NUL."""
        return _to_table(self._t.exact_match(
            _str("column", column), _str("value", value), _projection(projection)))

    def count(self, column: str, query: str, mode: Optional[str] = None) -> int:
        """How many rows match `query`, without fetching them."""
        return self._t.count(_str("column", column), _str("query", query), _mode(mode))


_ids_scores = _native.ids_scores
_np: Any = None


def _ids_result(got: tuple, with_scores: bool) -> Any:
    """(n, ids bytes, scores bytes) from _native.ids_scores as numpy:
    uint8 (n, 16) ids and, with scores, float32 (n,) scores; both own
    their (writable) memory."""
    global _np
    if _np is None:
        import numpy

        _np = numpy
    n, ids, scores = got
    if n == 0:
        a = _np.zeros((0, 16), dtype=_np.uint8)
        return (a, _np.zeros(0, dtype=_np.float32)) if with_scores else a
    a = _np.ndarray((n, 16), _np.uint8, ids)
    return (a, _np.ndarray((n,), _np.float32, scores)) if with_scores else a


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _mode(mode: Optional[str], name: str = "mode") -> Optional[str]:
    if mode is None:
        return None
    if not isinstance(mode, str) or mode.lower() not in ("or", "and"):
        raise ValueError(f"{name} must be 'or' or 'and', got '{mode}'")
    return mode.lower()


def _is_names(value: Any) -> bool:
    """A projection (a list or tuple), where an earlier release's
    positional order has another parameter."""
    return isinstance(value, (list, tuple))


def _check_rerank_mult(value: Any) -> None:
    if value is not None:
        _check_uint("rerank_mult", value, 0xFFFFFFFF)


def _projection(projection: Optional[Sequence[str]]) -> Optional[list]:
    if projection is None:
        return None
    if isinstance(projection, (str, bytes)):
        raise TypeError("projection must be a sequence of column names, not a str")
    names = list(projection)
    for n in names:
        if not isinstance(n, str):
            raise TypeError("projection must contain only str")
    return names


# ---- schema documents (Connection.schema) ---------------------------------------

# The field cap: user columns (the engine's `_id` is the 1600th); and the
# nesting: a column, and the item of a list.
_MAX_FIELDS = 1599
_MAX_DEPTH = 2
_INT_NAMES = {
    pa.int8(): "i8", pa.int16(): "i16", pa.int32(): "i32", pa.int64(): "i64",
    pa.uint8(): "u8", pa.uint16(): "u16", pa.uint32(): "u32", pa.uint64(): "u64",
    pa.float16(): "f16", pa.float32(): "f32", pa.float64(): "f64",
    pa.bool_(): "bool", pa.utf8(): "utf8", pa.large_utf8(): "large_utf8",
    pa.binary(): "binary", pa.large_binary(): "large_binary",
    pa.date32(): "date32", pa.date64(): "date64",
}
_NAMED_TYPES = {v: k for k, v in _INT_NAMES.items()}


def _type_doc(t: pa.DataType) -> dict:
    """Upstream 0.11's description of an Arrow type (the keys besides
    name, id and nullability)."""
    if t in _INT_NAMES:
        return {"type": _INT_NAMES[t]}
    if pa.types.is_timestamp(t):
        d = {"type": f"timestamp_{t.unit}"}
        if t.tz is not None:
            d["tz"] = t.tz
        return d
    if pa.types.is_decimal(t):
        return {"type": "decimal", "precision": t.precision, "scale": t.scale}
    if pa.types.is_fixed_size_list(t):
        if t.value_type == pa.float32():
            return {"type": "vector", "dim": t.list_size}
        return {"type": "fixed_size_list", "dim": t.list_size,
                "item": _field_doc(t.value_field)}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": "list" if pa.types.is_list(t) else "large_list",
                "item": _field_doc(t.value_field)}
    return {"type": str(t)}


def _field_doc(f: pa.Field) -> dict:
    d = {"name": f.name, "nullable": f.nullable}
    d.update(_type_doc(f.type))
    return dict(sorted(d.items()))


def _type_from_doc(d: Mapping[str, Any], name: str) -> pa.DataType:
    kind = d.get("type")
    if kind is None:
        raise ValueError(f"column `{name}` is new and needs a type")
    if not isinstance(kind, str):
        raise ValueError(f"schema patch: unknown field type {kind!r}")
    if kind in _NAMED_TYPES:
        return _NAMED_TYPES[kind]
    if kind.startswith("timestamp_") and kind[10:] in ("s", "ms", "us", "ns"):
        tz = d.get("tz")
        return pa.timestamp(kind[10:], tz=tz if isinstance(tz, str) else None)
    if kind == "decimal":
        if not isinstance(d.get("precision"), int):
            raise ValueError("schema patch: decimal type has no precision")
        return pa.decimal128(d["precision"], d.get("scale", 0) or 0)
    if kind in ("vector", "fixed_size_list"):
        dim = d.get("dim")
        if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
            raise ValueError(f"schema patch: {kind} type has no dim")
        if kind == "vector":
            return pa.list_(pa.float32(), dim)
        return pa.list_(_item_from_doc(d, kind), dim)
    if kind in ("list", "large_list"):
        item = _item_from_doc(d, kind)
        return pa.list_(item) if kind == "list" else pa.large_list(item)
    raise ValueError(f"schema patch: unknown field type {kind!r}")


def _item_from_doc(d: Mapping[str, Any], kind: str) -> pa.Field:
    item = d.get("item")
    if not isinstance(item, Mapping):
        raise ValueError(f"schema patch: {kind} type has no item")
    name = item.get("name", "item")
    name = name if isinstance(name, str) else "item"
    nullable = item.get("nullable", True)
    return pa.field(name, _type_from_doc(item, name),
                    nullable if isinstance(nullable, bool) else True)


def _patch_fields(fields: Sequence[Any], current: pa.Schema) -> list:
    """The new columns a patch's "fields" ask for, checked against
    `current`: existing columns must come back unchanged."""
    add: list = []
    for f in fields:
        if not isinstance(f, Mapping):
            raise ValueError("schema patch: field is not an object")
        name = f.get("name")
        fid = f.get("id")
        if fid is not None:
            if (not isinstance(fid, int) or isinstance(fid, bool)
                    or not 1 <= fid <= len(current)):
                raise ValueError(f"no live column has id {fid}")
            if name is None:
                name = current.field(fid - 1).name
            elif name != current.field(fid - 1).name:
                raise NotImplementedError(
                    f"renaming column `{current.field(fid - 1).name}` to `{name}`: "
                    "columns cannot be renamed (see docs/differences.md)")
        if not isinstance(name, str):
            raise ValueError("schema patch: field has no name")
        if name == "_id" or any(a.name == name for a in add):
            raise ValueError(f"the name `{name}` is taken by a live column")
        nullable = f.get("nullable")
        if current.get_field_index(name) >= 0:
            old = current.field(name)
            if "type" in f and f.get("type") is not None:
                new_type = _type_from_doc(f, name)
                if _type_doc(new_type) != _type_doc(old.type):
                    raise NotImplementedError(
                        f"column `{name}` is {_type_doc(old.type)['type']}: existing "
                        "columns keep their type (see docs/differences.md)")
            if isinstance(nullable, bool) and nullable != old.nullable:
                raise NotImplementedError(
                    f"column `{name}` is {'' if old.nullable else 'not '}nullable: "
                    "existing columns keep their nullability (see docs/differences.md)")
            continue  # unchanged (an "index" given for it is not read)
        if f.get("index") is not None and len(current) > 0:
            raise NotImplementedError(
                f"column `{name}`: indexes on added columns are not implemented "
                "(see docs/differences.md)")
        add.append(pa.field(name, _type_from_doc(f, name),
                            nullable if isinstance(nullable, bool) else True))
    return add


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _schema_doc(t: "Table") -> dict:
    """The document Connection.schema returns, for table handle `t`."""
    schema_id = t._t.schema_id()
    for _ in range(8):  # the id and the columns of one version
        schema = t.schema()
        again = t._t.schema_id()
        if again == schema_id:
            break
        schema_id = again
    indexes: dict = {}
    for kind, column, *rest in t._t.indexes():
        if kind == "fts":
            analyzer, stemmer, stop, stop_list, k1, b, positions, stored = rest
            # upstream keeps k1 and b as float32 (1.2 shows as 1.2000000476837158)
            k1, b = (k1, b) if k1 or b else (1.2, 0.75)
            doc = {"analyzer": analyzer, "b": _f32(b), "k1": _f32(k1), "kind": "fts",
                   "positions": positions, "stored": stored}
            if stemmer is not None:
                doc["stemmer"] = stemmer
            if stop is not None or stop_list:
                doc["stopwords"] = stop if stop is not None else stop_list
            indexes[column] = dict(sorted(doc.items()))
        else:
            dim, n_cent, metric = rest
            indexes[column] = {"kind": "vector", "metric": metric,
                               "n_centroids": n_cent}
    fields = []
    for i, f in enumerate(schema):
        d = _field_doc(f)
        d["id"] = i + 1
        if f.name in indexes:
            d["index"] = indexes[f.name]
        fields.append(dict(sorted(d.items())))
    return {"fields": fields, "last_field_id": len(fields),
            "max_depth": _MAX_DEPTH, "max_fields": _MAX_FIELDS,
            "schema_id": schema_id, "tombstoned": []}


# ---- connections -------------------------------------------------------------


class Connection:
    """One database: a catalog of tables."""

    __slots__ = ("_c", "_uri", "_budget")

    def __init__(self, *args: Any) -> None:
        if len(args) not in (3, 4) or args[0] is not _PRIVATE:
            raise TypeError("Connections come from infino.connect()")
        self._c = args[1]
        self._uri = args[2]
        self._budget = args[3] if len(args) == 4 else 0

    def __repr__(self) -> str:
        return f"Connection({self._uri!r})"

    def create_database(self) -> None:
        """Makes sure the database exists. `connect` already creates a
        local folder and object stores need nothing created, so this only
        reads the catalog once (raising what `list_tables` would). Safe to
        call again."""
        self._c.list_tables()
        return None

    def create_table(self, name: str, schema: pa.Schema, indexes: IndexSpec) -> Table:
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        if not isinstance(schema, pa.Schema):
            raise TypeError("schema must be a pyarrow.Schema")
        if not isinstance(indexes, IndexSpec):
            raise TypeError("indexes must be an IndexSpec")
        t = self._c.create_table(
            name, schema.__arrow_c_schema__(), list(indexes._fts), list(indexes._vectors)
        )
        return Table(_PRIVATE, t, self)

    def open_table(self, name: str) -> Table:
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        return Table(_PRIVATE, self._c.open_table(name), self)

    def schema(self, name: str, patch: Optional[Mapping[str, Any]] = None,
               expected_schema_id: Optional[int] = None) -> dict:
        """The schema document of table `name`: its fields (id, name,
        type, nullability, index), the field cap and `schema_id` (1 as
        created, one more per change). With `patch` (a dict of the same
        shape, only "fields" is read), adds the fields it names that the
        table lacks, as one atomic commit, and returns the document after;
        with no table of that name, creates it from the patch.
        `expected_schema_id` is a compare-and-set: another id raises
        ConflictError and changes nothing. Existing columns keep their type
        and nullability: a patch that changes them, renames a column or
        indexes an added one raises NotImplementedError (upstream 0.11
        converts; see docs/differences.md). Rows written before a column
        existed read it as null; appends may omit nullable columns."""
        if not isinstance(name, str):
            raise TypeError(
                f"argument 'name': '{type(name).__name__}' object is not an instance of 'str'")
        if expected_schema_id is not None:
            if isinstance(expected_schema_id, bool) or not isinstance(expected_schema_id, int):
                raise TypeError(
                    "argument 'expected_schema_id': "
                    f"'{type(expected_schema_id).__name__}' object cannot be interpreted as an integer")
            if not 0 <= expected_schema_id <= _U64_MAX:
                raise OverflowError("out of range integral type conversion attempted")
        if patch is None:
            return _schema_doc(self.open_table(name))
        if not isinstance(patch, Mapping):
            raise ValueError("schema patch: schema patch is not an object")
        fields = patch.get("fields")
        fields = list(fields) if isinstance(fields, (list, tuple)) else []
        if name not in self._c.list_tables():
            return self._schema_create(name, fields, expected_schema_id)
        t = self.open_table(name)
        current = t.schema()
        add = _patch_fields(fields, current)
        if expected_schema_id == 0:  # ids start at 1: never current
            raise ConflictError(
                f"the schema is at version {t._t.schema_id()}, not 0; "
                "re-read it and resubmit")
        if add or expected_schema_id is not None:
            t._t.add_columns(pa.schema(add).__arrow_c_schema__(),
                             expected_schema_id or 0)
        return _schema_doc(t)

    def _schema_create(self, name: str, fields: list,
                       expected_schema_id: Optional[int]) -> dict:
        if expected_schema_id is not None:
            # as upstream: a table that does not exist has no schema to
            # compare with
            raise ConflictError(
                f"the schema of {name} is at version 0, not {expected_schema_id}; "
                "re-read it and resubmit")
        add = _patch_fields(fields, pa.schema([]))
        spec = IndexSpec()
        for f in fields:
            index = f.get("index") if isinstance(f, Mapping) else None
            if index is None:
                continue
            if not isinstance(index, Mapping):
                raise ValueError("schema patch: index is not an object")
            kind = index.get("kind")
            if kind == "fts":
                spec = spec.fts(f["name"], index.get("analyzer"), index.get("stored", True),
                                index.get("k1"), index.get("b"),
                                stopwords=index.get("stopwords"),
                                stemmer=index.get("stemmer"),
                                positions=index.get("positions", False))
            elif kind == "vector":
                spec = spec.vector(f["name"], f.get("dim", 0), index.get("n_centroids", 0),
                                   index.get("metric", "cosine"))
            else:
                raise ValueError(f"schema patch: unknown index kind {kind!r}")
        try:
            t = self.create_table(name, pa.schema(add), spec)
        except ValueError as e:
            if "already exists" not in str(e):
                raise
            # another process created it first: merge into that one
            return self.schema(name, {"fields": fields})
        return _schema_doc(t)

    def drop_table(self, name: str, purge: bool = False) -> None:
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        self._c.drop_table(name, bool(purge))
        return None

    def list_tables(self) -> list:
        return self._c.list_tables()

    def query_sql(self, sql: str) -> pa.Table:
        """Runs one read-only SQL statement over the database's tables and
        the search table functions (bm25_search('table', 'column', 'query',
        k), vector_search, hybrid_search, token_match, exact_match)."""
        return _read_all(self._c.query_sql(_str("sql", sql)))


def connect(
    uri: str,
    *,
    storage_options: Optional[Mapping[str, str]] = None,
    cache_dir: Optional[str] = None,
    cache_budget_bytes: Optional[int] = None,
    connection_memory_budget_bytes: Optional[int] = None,
    cold_fetch_mode: Optional[str] = None,
    validate: Optional[bool] = None,
    max_staleness_ms: int = 0,
    auto_compact: Union[bool, int] = True,
    auto_compact_max_bytes: Optional[int] = None,
) -> Connection:
    """Opens the database at `uri`: a path or file:// URI (durable),
    s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX
    (durable; `storage_options` as upstream names them: aws_access_key_id,
    aws_secret_access_key, aws_session_token, aws_region, aws_endpoint,
    aws_allow_http; google_service_account, google_service_account_key,
    google_application_credentials, google_skip_signature,
    google_base_url; azure_storage_account_name,
    azure_storage_account_key, azure_storage_sas_key,
    azure_storage_client_id, azure_storage_client_secret,
    azure_storage_tenant_id, azure_storage_endpoint,
    azure_storage_use_emulator, ...; else the environment, see
    docs/object-storage.md), or memory:// (this process only). Local folders are created if missing.
    Connecting touches no network unless `validate` is true: then the
    catalog is read once, so a wrong bucket, endpoint or key fails here.

    Object stores only: `cache_dir` keeps superfiles and tombstones (which
    never change) on local disk, up to `cache_budget_bytes` (default
    10 GiB), shared by every process that names the same folder; cached
    objects are read without the network. `cold_fetch_mode` says how an
    object not yet cached is read: "lazy_foreground_with_background_fill"
    (default; "lazy"), "hybrid_with_prefetch" ("hybrid") or "range_only"
    ("range"); see docs/object-storage.md.

    `max_staleness_ms` (an extension; upstream has no such keyword): 0,
    the default, makes every read ask storage whether a newer snapshot
    exists, so it sees every commit acknowledged before the call, by any
    process or host. N > 0 lets a table's reads (searches, count, scans,
    count_rows) answer from its current snapshot without a request when it
    last asked less than N ms ago: they may miss commits made elsewhere
    within the last N ms. Commits through this connection are seen at
    once, and writes always ask.

    `auto_compact` and `auto_compact_max_bytes` (extensions; upstream has
    no such keywords): after each append or update commits, superfiles
    are tiered by live rows in powers of a fanout F (tier k: F**k to
    F**(k+1) - 1 rows), and while the lowest tier holds F or more whose
    files total at most `auto_compact_max_bytes` (default 64 MiB) they are
    merged into one, as `optimize` merges, before the call returns. So a
    table grown by many small appends keeps about F superfiles per tier
    (searches stay fast) and a row is rewritten about log_F(rows) times.
    The append is committed first and never fails because of a merge.
    True (the default): F = 8; False: off; an int >= 2: that F. Larger
    merges are left to `optimize`; merged-away files stay on storage
    until `Table.gc` (on memory://, each merge frees them once no
    reader holds them; docs/differences.md).

    `connection_memory_budget_bytes` (None or 0: no budget) bounds what
    one ingest may take: an append or update whose rows need more than
    90% of it (counted as upstream 0.11 does, four times their Arrow size)
    raises ConnectionMemoryBudgetError before anything is written.
    Queries are not bounded (see docs/differences.md)."""
    if not isinstance(uri, str):
        raise TypeError("uri must be a str")
    if cold_fetch_mode is not None:
        if not isinstance(cold_fetch_mode, str) or cold_fetch_mode.lower() not in _COLD_FETCH_MODES:
            raise ValueError(
                f"unknown cold_fetch_mode {cold_fetch_mode!r}; use 'hybrid_with_prefetch', "
                "'range_only', or 'lazy_foreground_with_background_fill'"
            )
    if cache_budget_bytes is not None:
        _check_uint("cache_budget_bytes", cache_budget_bytes)
    max_staleness_ms = _check_uint("max_staleness_ms", max_staleness_ms)
    if isinstance(auto_compact, bool):
        fanout = 0 if auto_compact else 1
    elif isinstance(auto_compact, int) and 2 <= auto_compact <= 0xFFFFFFFF:
        fanout = auto_compact
    else:
        raise ValueError(f"auto_compact must be True, False or a fanout "
                         f"from 2 to 4294967295, got {auto_compact!r}")
    ac_max = 0
    if auto_compact_max_bytes is not None:
        ac_max = _check_uint("auto_compact_max_bytes", auto_compact_max_bytes)
        if ac_max == 0:
            raise ValueError("auto_compact_max_bytes must be positive")
    budget = 0
    if connection_memory_budget_bytes is not None:
        budget = _check_uint("connection_memory_budget_bytes",
                             connection_memory_budget_bytes)
    opts = None
    if storage_options is not None:
        if not isinstance(storage_options, Mapping):
            raise TypeError("storage_options must be a mapping of str to str")
        opts = []
        for k, v in storage_options.items():
            if not isinstance(k, str):
                raise TypeError("storage_options keys must be str")
            if isinstance(v, bool):
                v = "true" if v else "false"
            if not isinstance(v, str):
                # The value may be a secret: name the key only.
                raise TypeError(f"storage option {k!r} must be a str")
            opts.append((k, v))
    if cache_dir is not None:
        if isinstance(cache_dir, os.PathLike):
            cache_dir = os.fspath(cache_dir)
        if not isinstance(cache_dir, str):
            raise TypeError("cache_dir must be a str")
    conn = Connection(
        _PRIVATE,
        _native.connect(
            uri,
            None,
            opts,
            cache_dir,
            cache_budget_bytes or 0,
            cold_fetch_mode.lower() if cold_fetch_mode is not None else None,
            max_staleness_ms,
            fanout,
            ac_max,
        ),
        uri,
        budget,
    )
    if validate:
        conn.list_tables()
    return conn
