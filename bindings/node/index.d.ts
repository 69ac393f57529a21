// Type declarations for the `infino` package (hand-written; index.js is the
// implementation). Names, argument shapes and result shapes are upstream
// infino's Node API; the `...Async` twins and `connectAsync` are ours.

import type * as arrow from "apache-arrow";

/** Build identifier: "infino/<version>+<commit>[-dirty]". */
export declare const BUILDER_ID: string;
/** The C engine's version, e.g. "0.1.0". */
export declare const ENGINE_VERSION: string;

/** Vector distance metric ("l2" and "dot" are accepted aliases). */
export type Metric = "cosine" | "l2sq" | "negdot";
/** Boolean mode for multi-term full-text queries. */
export type BoolMode = "or" | "and";
/** A result row: `_id` is a bigint, `score` a number. */
export type RowRecord = Record<string, unknown>;
/** A plain `{ column: type }` schema for `createTable` (columns are non-nullable). */
export type SchemaDescriptor = Record<string, string | { vector: number }>;
/** What `append` and `update` accept. */
export type AppendData = RowRecord[] | arrow.Table | arrow.RecordBatch | Buffer | Uint8Array;

/** Storage and cache settings the URI cannot carry; all optional. */
export interface ConnectOptions {
  /**
   * Options of the URI's storage, as upstream names them (S3:
   * `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`,
   * `aws_region`, `aws_endpoint`, `aws_allow_http`; GCS `google_*`; Azure
   * `azure_storage_*`; docs/object-storage.md). An unknown key, or one of
   * another backend, is rejected at `connect`; local folders and
   * `memory://` ignore known ones.
   */
  storageOptions?: Record<string, string>;
  /**
   * Folder of the local read cache of s3://, gs:// and az:// tables
   * (created if missing; processes may share it). Without it, ranges are
   * read into scratch files dropped when closed.
   */
  cacheDir?: string;
  /** Disk the cache may use, least recently used out first (default 10 GiB). */
  cacheBudgetBytes?: number;
  /**
   * How an object not yet cached is read: the ranges a read needs now and
   * the rest in the background (lazy_foreground_with_background_fill, the
   * default), those ranges and up to 1 MiB after them (hybrid_with_prefetch),
   * or only those ranges, nothing kept (range_only). Aliases `lazy`,
   * `hybrid`, `range`; case-insensitive.
   */
  coldFetchMode?: "hybrid_with_prefetch" | "range_only" | "lazy_foreground_with_background_fill" | "lazy" | "hybrid" | "range";
  /** Read the catalog at connect, so bad credentials fail here (default false). */
  validate?: boolean;
  /**
   * Bounded staleness, an extension (upstream has no such option). 0, the
   * default: every read asks storage whether a newer snapshot exists, so it
   * sees every commit acknowledged before the call, by any process or host.
   * N > 0: a table's reads (searches, count, scans, countRows) answer from
   * its current snapshot without a request when it last asked less than N ms
   * ago; they may miss commits made elsewhere within the last N ms. Commits
   * through this connection are seen at once; writes always ask.
   */
  maxStalenessMs?: number;
}

/** What `update` / `delete` did. */
export interface MutationStats {
  /** Rows the predicate matched. */
  matched: number;
  /** Rows this call removed. */
  nTombstoned: number;
  /** Matched rows that were already gone. */
  nNotFound: number;
}

/** What `gc` did. */
export interface GcReport {
  bytesFreed: number;
  objectsDeleted: number;
  /** Kept: a retained snapshot still needs them. */
  objectsSkippedLive: number;
  /** Kept: younger than the grace period. */
  objectsSkippedTooNew: number;
  /** Failed deletes, retried by the next gc. */
  deleteErrors: number;
}

/** Compaction settings for `optimize`; omitted fields take the engine's defaults. */
export interface OptimizeOptions {
  /** Build-time memory budget, in MB (default 1024). */
  maxMemoryMb?: number;
  /** Only compact superfiles filled below this percent, 0 to 100 (default 80). */
  minFillPercent?: number;
  /** Target merged-superfile size, in MB (default 1024). */
  targetSuperfileSizeMb?: number;
}

export interface Bm25SearchOptions {
  mode?: BoolMode;
  /** Columns to return, in order (`_id`, `score`, any column); default `_id` and `score`. */
  projection?: string[];
  /** Return an apache-arrow Table instead of records. */
  arrow?: boolean;
}

/** A full-text pre-filter for `vectorSearch`: only rows whose `column` matches `query` are ranked. */
export interface VectorFilter {
  column: string;
  query: string;
  mode?: BoolMode;
}

export interface VectorSearchOptions {
  /** IVF lists probed (default: the engine's). */
  nprobe?: number;
  /** Accepted for upstream compatibility; our rescoring of candidates is always exact. */
  rerankMult?: number;
  projection?: string[];
  arrow?: boolean;
  filter?: VectorFilter;
}

export interface HybridSearchOptions {
  /** Mode of the BM25 side. */
  mode?: BoolMode;
  /** IVF lists probed on the vector side. */
  nprobe?: number;
  projection?: string[];
  arrow?: boolean;
}

export interface TokenMatchOptions {
  mode?: BoolMode;
  projection?: string[];
  arrow?: boolean;
}

export interface MatchOptions {
  projection?: string[];
  arrow?: boolean;
}

export interface CountOptions {
  mode?: BoolMode;
}

export interface QueryOptions {
  arrow?: boolean;
}

/** Which columns are full-text and vector indexed. Immutable: builders return a new spec. */
export declare class IndexSpec {
  constructor();
  /** Full-text index `column` (utf8 or large_utf8). */
  fts(column: string): IndexSpec;
  /** Vector index `column` (fixed_size_list<float32, dim>) with `nCent` IVF lists. */
  vector(column: string, dim: number, nCent: number, metric: Metric | "l2" | "dot"): IndexSpec;
  /** The list count picked by the engine (later upstream releases' form). */
  vector(column: string, dim: number, metric: Metric | "l2" | "dot"): IndexSpec;
}

/** A table: a fixed schema, its indexes, and its rows. */
export declare class Table {
  private constructor();
  /** The table's name. */
  readonly name: string;
  /** The declared schema (without the engine's `_id` column). */
  schema(): arrow.Schema;

  /** Appends rows as one atomic commit, durable when this returns. */
  append(data: AppendData): void;
  appendAsync(data: AppendData): Promise<void>;
  /** Replaces the rows `predicate` (SQL) selects by `data`, 1:1. Durable storage only. */
  update(predicate: string, data: AppendData): MutationStats;
  updateAsync(predicate: string, data: AppendData): Promise<MutationStats>;
  /** Deletes the rows for which the SQL `predicate` is true. Durable storage only. */
  delete(predicate: string): MutationStats;
  deleteAsync(predicate: string): Promise<MutationStats>;
  /** Merges small or underfilled superfiles and drops deleted rows. */
  optimize(settings?: OptimizeOptions): void;
  optimizeAsync(settings?: OptimizeOptions): Promise<void>;
  /** Deletes files no retained snapshot needs, older than `graceSecs`. Durable storage only. */
  gc(graceSecs: number): GcReport;
  gcAsync(graceSecs: number): Promise<GcReport>;

  /** Top `k` rows by BM25 (higher score is better). */
  bm25Search(column: string, query: string, k: number, opts: Bm25SearchOptions & { arrow: true }): arrow.Table;
  bm25Search(column: string, query: string, k: number, opts?: Bm25SearchOptions): RowRecord[];
  bm25SearchAsync(column: string, query: string, k: number, opts: Bm25SearchOptions & { arrow: true }): Promise<arrow.Table>;
  bm25SearchAsync(column: string, query: string, k: number, opts?: Bm25SearchOptions): Promise<RowRecord[]>;

  /** The `k` nearest rows; `score` is the distance (smaller is nearer). */
  vectorSearch(column: string, query: number[] | Float32Array, k: number, opts: VectorSearchOptions & { arrow: true }): arrow.Table;
  vectorSearch(column: string, query: number[] | Float32Array, k: number, opts?: VectorSearchOptions): RowRecord[];
  vectorSearchAsync(column: string, query: number[] | Float32Array, k: number, opts: VectorSearchOptions & { arrow: true }): Promise<arrow.Table>;
  vectorSearchAsync(column: string, query: number[] | Float32Array, k: number, opts?: VectorSearchOptions): Promise<RowRecord[]>;

  /** BM25 and vector results fused by reciprocal rank (k = 60); higher is better. */
  hybridSearch(textColumn: string, textQuery: string, vectorColumn: string, vectorQuery: number[] | Float32Array, k: number, opts: HybridSearchOptions & { arrow: true }): arrow.Table;
  hybridSearch(textColumn: string, textQuery: string, vectorColumn: string, vectorQuery: number[] | Float32Array, k: number, opts?: HybridSearchOptions): RowRecord[];
  hybridSearchAsync(textColumn: string, textQuery: string, vectorColumn: string, vectorQuery: number[] | Float32Array, k: number, opts: HybridSearchOptions & { arrow: true }): Promise<arrow.Table>;
  hybridSearchAsync(textColumn: string, textQuery: string, vectorColumn: string, vectorQuery: number[] | Float32Array, k: number, opts?: HybridSearchOptions): Promise<RowRecord[]>;

  /** Every row holding the query's terms (unranked, score 0). */
  tokenMatch(column: string, query: string, opts: TokenMatchOptions & { arrow: true }): arrow.Table;
  tokenMatch(column: string, query: string, opts?: TokenMatchOptions): RowRecord[];
  tokenMatchAsync(column: string, query: string, opts: TokenMatchOptions & { arrow: true }): Promise<arrow.Table>;
  tokenMatchAsync(column: string, query: string, opts?: TokenMatchOptions): Promise<RowRecord[]>;

  /** Every row whose whole value of `column` is exactly `value` (score 0). */
  exactMatch(column: string, value: string, opts: MatchOptions & { arrow: true }): arrow.Table;
  exactMatch(column: string, value: string, opts?: MatchOptions): RowRecord[];
  exactMatchAsync(column: string, value: string, opts: MatchOptions & { arrow: true }): Promise<arrow.Table>;
  exactMatchAsync(column: string, value: string, opts?: MatchOptions): Promise<RowRecord[]>;

  /** How many rows match `query`, without fetching them. */
  count(column: string, query: string, opts?: CountOptions): number;
  countAsync(column: string, query: string, opts?: CountOptions): Promise<number>;
  /** Live rows of the table (not in upstream's API). */
  countRows(): number;
  countRowsAsync(): Promise<number>;
}

/** One database: a catalog of tables. */
export declare class Connection {
  private constructor();
  /** The URI this connection was opened with. */
  readonly uri: string;
  /** Creates a table from an apache-arrow Schema, a `{ column: type }` descriptor or IPC bytes. */
  createTable(name: string, schema: arrow.Schema | SchemaDescriptor | Buffer | Uint8Array, indexes: IndexSpec): Table;
  createTableAsync(name: string, schema: arrow.Schema | SchemaDescriptor | Buffer | Uint8Array, indexes: IndexSpec): Promise<Table>;
  /** Opens an existing table; throws "NotFound: <name>" when there is none. */
  openTable(name: string): Table;
  openTableAsync(name: string): Promise<Table>;
  /** Removes a table from the catalog; `purge` also deletes its storage. */
  dropTable(name: string, purge?: boolean): void;
  dropTableAsync(name: string, purge?: boolean): Promise<void>;
  /** Table names, sorted. */
  listTables(): string[];
  listTablesAsync(): Promise<string[]>;
  /** One read-only SQL statement (SQLite's dialect) over the tables and the search table functions. */
  querySql(sql: string, opts: QueryOptions & { arrow: true }): arrow.Table;
  querySql(sql: string, opts?: QueryOptions): RowRecord[];
  querySqlAsync(sql: string, opts: QueryOptions & { arrow: true }): Promise<arrow.Table>;
  querySqlAsync(sql: string, opts?: QueryOptions): Promise<RowRecord[]>;
}

/** Opens (creating if needed) the database at `uri`: a path, file://, s3://BUCKET/PREFIX or memory://. */
export declare function connect(uri: string, options?: ConnectOptions): Connection;
/** `connect` with the `validate` probe on the thread pool. */
export declare function connectAsync(uri: string, options?: ConnectOptions): Promise<Connection>;
