// infino for Node.js: the public API (upstream infino's Node API, name for
// name), over the C engine in the Node-API addon (src/addon.c).
//
// This layer checks and converts arguments (row objects and apache-arrow
// data into Arrow C Data descriptions, lib/arrow.js) and decodes results
// into plain records (`_id` as bigint) or an apache-arrow Table with
// `{ arrow: true }`. Every call is synchronous, as upstream's are; each long
// call also has a Promise-returning `...Async` twin that runs the engine on
// libuv's thread pool, so a server's event loop stays responsive.
"use strict";

const path = require("node:path");
const {
  argError, schemaInfo, schemaDesc, decodeResult, appendBatches,
} = require("./lib/arrow.js");

const native = require(path.join(__dirname, "build", "Release", "infino_node.node"));

/** Infino's build identifier: "infino/<version>+<commit>". */
const BUILDER_ID = native.builderId;

const COLD_FETCH_MODES = {
  hybrid_with_prefetch: true, hybrid: true,
  range_only: true, range: true,
  lazy_foreground_with_background_fill: true, lazy: true,
};
const U32_MAX = 4294967295;

// ---- argument checks (TypeError for a wrong type, RangeError for a bad
// number, Error for a bad value; all with code "InvalidArg") ----------------

function str(name, v) {
  if (typeof v !== "string") throw argError(TypeError, `${name} must be a string`);
  return v;
}

function uint(name, v, max = Number.MAX_SAFE_INTEGER) {
  if (typeof v === "bigint") {
    if (v < 0n || v > BigInt(max)) throw argError(RangeError, `${name} must be between 0 and ${max}, got ${v}`);
    return Number(v);
  }
  if (typeof v !== "number") throw argError(TypeError, `${name} must be a number`);
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw argError(RangeError, `${name} must be an integer between 0 and ${max}, got ${v}`);
  }
  return v;
}

function optUint(name, v, max) {
  return v === undefined || v === null ? null : uint(name, v, max);
}

function options(name, v) {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw argError(TypeError, `${name} must be an object`);
  return v;
}

// "or" (undefined) or "and", any case, as upstream's addon checks it.
function boolMode(v, name = "mode") {
  if (v === undefined || v === null) return null;
  const m = String(v).toLowerCase();
  if (typeof v !== "string" || (m !== "or" && m !== "and")) {
    throw argError(Error, `${name} must be 'or' or 'and', got ${JSON.stringify(m)}`);
  }
  return m;
}

function projection(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === "string" || !v || typeof v[Symbol.iterator] !== "function") {
    throw argError(TypeError, "projection must be an array of column names");
  }
  const names = Array.from(v);
  for (const n of names) if (typeof n !== "string") throw argError(TypeError, "projection must contain only strings");
  return names;
}

function queryVector(v, name = "query") {
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView) && typeof v[0] !== "bigint") return Float32Array.from(v);
  if (Array.isArray(v)) {
    for (const x of v) if (typeof x !== "number") throw argError(TypeError, `${name} must contain only numbers`);
    return Float32Array.from(v);
  }
  throw argError(TypeError, `${name} must be a number[] or a Float32Array`);
}

function asArrow(opts) {
  return opts.arrow === true;
}

// ---- IndexSpec ------------------------------------------------------------

/**
 * Which columns are full-text (BM25) and vector (IVF) indexed. Immutable:
 * every builder call returns a new spec and leaves the receiver unchanged.
 */
class IndexSpec {
  constructor() {
    this._fts = Object.freeze([]);
    this._vectors = Object.freeze([]);
  }

  _with(fts, vectors) {
    const s = new IndexSpec();
    s._fts = Object.freeze(fts);
    s._vectors = Object.freeze(vectors);
    return s;
  }

  /** Full-text index `column` (a utf8 or large_utf8 column). */
  fts(column) {
    return this._with([...this._fts, str("column", column)], this._vectors);
  }

  /**
   * Vector index `column` (fixed_size_list<float32, dim>) with `nCent` IVF
   * lists per superfile and `metric` ("cosine", "l2sq" or "l2", "negdot" or
   * "dot", any case; checked at createTable). The three-argument form
   * vector(column, dim, metric) lets the engine pick the list count.
   */
  vector(column, dim, nCent, metric) {
    if (metric === undefined && typeof nCent === "string") [nCent, metric] = [0, nCent];
    const spec = [str("column", column), uint("dim", dim, U32_MAX), uint("nCent", nCent, U32_MAX), str("metric", metric)];
    return this._with(this._fts, [...this._vectors, spec]);
  }

  toString() {
    return "IndexSpec()" + this._fts.map((c) => `.fts(${JSON.stringify(c)})`).join("") +
      this._vectors.map(([c, d, n, m]) => `.vector(${JSON.stringify(c)}, ${d}, ${n}, ${JSON.stringify(m)})`).join("");
  }
}

// ---- Table ------------------------------------------------------------------

const PRIVATE = Symbol("infino.private");

/** A table: a fixed schema, its indexes, and its rows. */
class Table {
  constructor(key, inner) {
    if (key !== PRIVATE) throw argError(TypeError, "Tables come from Connection.createTable/openTable");
    this._t = inner;
    this._schema = schemaInfo(inner.schema());
  }

  /** The table's name. */
  get name() {
    return this._t.name();
  }

  /** The declared schema (without the engine's `_id` column). */
  schema() {
    return this._schema.schema;
  }

  _rows(data, method) {
    return appendBatches(data, this._schema.node, method);
  }

  /** Appends rows as one atomic commit, durable when this returns. */
  append(data) {
    if (Array.isArray(data) && data.length === 0) return;
    const { schema, batches } = this._rows(data, "append");
    this._t.append(schema, batches);
  }

  /** append() on the thread pool. */
  async appendAsync(data) {
    if (Array.isArray(data) && data.length === 0) return;
    const { schema, batches } = this._rows(data, "append");
    await this._t.appendAsync(schema, batches);
  }

  _update(predicate, data) {
    str("predicate", predicate);
    return this._rows(data, "update");
  }

  /** Replaces the rows `predicate` selects by `data`, 1:1. */
  update(predicate, data) {
    const { schema, batches } = this._update(predicate, data);
    return this._t.update(predicate, schema, batches);
  }

  async updateAsync(predicate, data) {
    const { schema, batches } = this._update(predicate, data);
    return this._t.updateAsync(predicate, schema, batches);
  }

  /** Deletes the rows for which the SQL predicate is true. */
  delete(predicate) {
    return this._t.delete(str("predicate", predicate));
  }

  async deleteAsync(predicate) {
    return this._t.deleteAsync(str("predicate", predicate));
  }

  _optimize(settings) {
    const s = options("settings", settings);
    const fill = optUint("minFillPercent", s.minFillPercent, U32_MAX);
    if (fill !== null && fill > 100) {
      throw argError(RangeError, `minFillPercent must be between 0 and 100, got ${fill}`);
    }
    return [optUint("maxMemoryMb", s.maxMemoryMb, U32_MAX), fill,
      optUint("targetSuperfileSizeMb", s.targetSuperfileSizeMb, U32_MAX)];
  }

  /** Merges small or underfilled superfiles and drops deleted rows. */
  optimize(settings) {
    this._t.optimize(...this._optimize(settings));
  }

  async optimizeAsync(settings) {
    await this._t.optimizeAsync(...this._optimize(settings));
  }

  _grace(graceSecs) {
    if (typeof graceSecs !== "number") throw argError(TypeError, "graceSecs must be a number");
    return graceSecs > 0 ? graceSecs : 0;
  }

  /** Deletes files no retained snapshot needs, older than `graceSecs`. */
  gc(graceSecs) {
    return this._t.gc(this._grace(graceSecs));
  }

  async gcAsync(graceSecs) {
    return this._t.gcAsync(this._grace(graceSecs));
  }

  _bm25(column, query, k, opts) {
    return [str("column", column), str("query", query), uint("k", k), boolMode(opts.mode), projection(opts.projection)];
  }

  /** Top `k` rows by BM25 (`_id` and `score` unless `projection`). */
  bm25Search(column, query, k, opts) {
    const o = options("opts", opts);
    return decodeResult(this._t.bm25Search(...this._bm25(column, query, k, o)), asArrow(o));
  }

  async bm25SearchAsync(column, query, k, opts) {
    const o = options("opts", opts);
    return decodeResult(await this._t.bm25SearchAsync(...this._bm25(column, query, k, o)), asArrow(o));
  }

  _vector(column, query, k, opts) {
    optUint("rerankMult", opts.rerankMult, U32_MAX); // accepted: our rescoring is exact
    let fc = null, fq = null, fm = null;
    if (opts.filter !== undefined && opts.filter !== null) {
      const f = options("filter", opts.filter);
      fc = str("filter.column", f.column);
      fq = str("filter.query", f.query);
      fm = boolMode(f.mode, "filter.mode");
    }
    return [str("column", column), queryVector(query), uint("k", k), optUint("nprobe", opts.nprobe, U32_MAX),
      projection(opts.projection), fc, fq, fm];
  }

  /** The `k` nearest rows; `score` is the distance (smaller is nearer). */
  vectorSearch(column, query, k, opts) {
    const o = options("opts", opts);
    return decodeResult(this._t.vectorSearch(...this._vector(column, query, k, o)), asArrow(o));
  }

  async vectorSearchAsync(column, query, k, opts) {
    const o = options("opts", opts);
    return decodeResult(await this._t.vectorSearchAsync(...this._vector(column, query, k, o)), asArrow(o));
  }

  _hybrid(textColumn, textQuery, vectorColumn, vectorQuery, k, opts) {
    return [str("textColumn", textColumn), str("textQuery", textQuery), str("vectorColumn", vectorColumn),
      queryVector(vectorQuery, "vectorQuery"), uint("k", k), boolMode(opts.mode),
      optUint("nprobe", opts.nprobe, U32_MAX), projection(opts.projection)];
  }

  /** BM25 and vector results fused by reciprocal rank (k = 60). */
  hybridSearch(textColumn, textQuery, vectorColumn, vectorQuery, k, opts) {
    const o = options("opts", opts);
    return decodeResult(this._t.hybridSearch(...this._hybrid(textColumn, textQuery, vectorColumn, vectorQuery, k, o)),
      asArrow(o));
  }

  async hybridSearchAsync(textColumn, textQuery, vectorColumn, vectorQuery, k, opts) {
    const o = options("opts", opts);
    return decodeResult(
      await this._t.hybridSearchAsync(...this._hybrid(textColumn, textQuery, vectorColumn, vectorQuery, k, o)),
      asArrow(o));
  }

  _token(column, query, opts) {
    return [str("column", column), str("query", query), boolMode(opts.mode), projection(opts.projection)];
  }

  /** Every row holding the query's terms (unranked, score 0). */
  tokenMatch(column, query, opts) {
    const o = options("opts", opts);
    return decodeResult(this._t.tokenMatch(...this._token(column, query, o)), asArrow(o));
  }

  async tokenMatchAsync(column, query, opts) {
    const o = options("opts", opts);
    return decodeResult(await this._t.tokenMatchAsync(...this._token(column, query, o)), asArrow(o));
  }

  _exact(column, value, opts) {
    return [str("column", column), str("value", value), projection(opts.projection)];
  }

  /** Every row whose whole value of `column` is exactly `value` (score 0). */
  exactMatch(column, value, opts) {
    const o = options("opts", opts);
    return decodeResult(this._t.exactMatch(...this._exact(column, value, o)), asArrow(o));
  }

  async exactMatchAsync(column, value, opts) {
    const o = options("opts", opts);
    return decodeResult(await this._t.exactMatchAsync(...this._exact(column, value, o)), asArrow(o));
  }

  _count(column, query, opts) {
    const o = options("opts", opts);
    return [str("column", column), str("query", query), boolMode(o.mode)];
  }

  /** How many rows match `query`, without fetching them. */
  count(column, query, opts) {
    return this._t.count(...this._count(column, query, opts));
  }

  async countAsync(column, query, opts) {
    return this._t.countAsync(...this._count(column, query, opts));
  }

  /** Live rows of the table (not in upstream's API). */
  countRows() {
    return this._t.countRows();
  }

  async countRowsAsync() {
    return this._t.countRowsAsync();
  }

  toString() {
    return `Table(${JSON.stringify(this.name)})`;
  }
}

// ---- Connection -------------------------------------------------------------

/** One database: a catalog of tables. */
class Connection {
  constructor(key, inner, uri) {
    if (key !== PRIVATE) throw argError(TypeError, "Connections come from connect()");
    this._c = inner;
    this._uri = uri;
  }

  /** The URI this connection was opened with. */
  get uri() {
    return this._uri;
  }

  _create(name, schema, indexes) {
    str("name", name);
    const desc = schemaDesc(schema);
    if (!(indexes instanceof IndexSpec)) throw argError(TypeError, "indexes must be an IndexSpec");
    return [name, desc, indexes._fts, indexes._vectors];
  }

  /**
   * Creates table `name` from an apache-arrow Schema, a { column: type }
   * descriptor or Arrow IPC bytes carrying a schema, with `indexes`.
   */
  createTable(name, schema, indexes) {
    return new Table(PRIVATE, this._c.createTable(...this._create(name, schema, indexes)));
  }

  async createTableAsync(name, schema, indexes) {
    return new Table(PRIVATE, await this._c.createTableAsync(...this._create(name, schema, indexes)));
  }

  /** Opens table `name`; throws "NotFound: name" when there is none. */
  openTable(name) {
    return new Table(PRIVATE, this._c.openTable(str("name", name)));
  }

  async openTableAsync(name) {
    return new Table(PRIVATE, await this._c.openTableAsync(str("name", name)));
  }

  _purge(purge) {
    if (purge !== undefined && purge !== null && typeof purge !== "boolean") {
      throw argError(TypeError, "purge must be a boolean");
    }
    return purge === true;
  }

  /** Removes table `name`; `purge` also deletes its storage. */
  dropTable(name, purge = false) {
    this._c.dropTable(str("name", name), this._purge(purge));
  }

  async dropTableAsync(name, purge = false) {
    await this._c.dropTableAsync(str("name", name), this._purge(purge));
  }

  /** Table names, sorted. */
  listTables() {
    return this._c.listTables();
  }

  async listTablesAsync() {
    return this._c.listTablesAsync();
  }

  /**
   * Runs one read-only SQL statement over the database's tables and the
   * search table functions; records, or an apache-arrow Table with
   * `{ arrow: true }`.
   */
  querySql(sql, opts) {
    const o = options("opts", opts);
    return decodeResult(this._c.querySql(str("sql", sql)), asArrow(o));
  }

  async querySqlAsync(sql, opts) {
    const o = options("opts", opts);
    return decodeResult(await this._c.querySqlAsync(str("sql", sql)), asArrow(o));
  }

  toString() {
    return `Connection(${JSON.stringify(this._uri)})`;
  }
}

// ---- connect ----------------------------------------------------------------

function storagePairs(so) {
  if (so === undefined || so === null) return null;
  if (typeof so !== "object" || Array.isArray(so)) {
    throw argError(TypeError, "storageOptions must be an object of string values");
  }
  return Object.entries(so).map(([k, v]) => {
    if (typeof v === "boolean") v = v ? "true" : "false";
    // the value may be a secret: name the key only
    if (typeof v !== "string") throw argError(TypeError, `storage option '${k}' must be a string`);
    return [k, v];
  });
}

function checkConnectOptions(o) {
  if (o.coldFetchMode !== undefined && o.coldFetchMode !== null) {
    const m = String(o.coldFetchMode).toLowerCase();
    if (typeof o.coldFetchMode !== "string" || !COLD_FETCH_MODES[m]) {
      throw argError(Error,
        `unknown coldFetchMode ${JSON.stringify(m)}; use 'hybrid_with_prefetch', 'range_only', ` +
        "or 'lazy_foreground_with_background_fill'");
    }
  }
  if (o.cacheDir !== undefined && o.cacheDir !== null) str("cacheDir", o.cacheDir);
  if (o.cacheBudgetBytes !== undefined && o.cacheBudgetBytes !== null) uint("cacheBudgetBytes", o.cacheBudgetBytes);
  if (o.validate !== undefined && o.validate !== null && typeof o.validate !== "boolean") {
    throw argError(TypeError, "validate must be a boolean");
  }
  return o.maxStalenessMs === undefined || o.maxStalenessMs === null
    ? 0 : uint("maxStalenessMs", o.maxStalenessMs);
}

/**
 * Opens (creating if needed) the database at `uri`: a path or file:// URI
 * (durable), s3://BUCKET/PREFIX (durable; `storageOptions` as upstream
 * names them: aws_access_key_id, aws_secret_access_key, aws_session_token,
 * aws_region, aws_endpoint, aws_allow_http, else the AWS_* environment), or
 * memory:// (this connection only). Connecting touches no network unless
 * `validate` is true: then the catalog is read once, so a wrong bucket,
 * endpoint or key fails here. `maxStalenessMs` (an extension, default 0):
 * see ConnectOptions in index.d.ts.
 */
function connect(uri, opts) {
  str("uri", uri);
  const o = options("options", opts);
  const staleness = checkConnectOptions(o);
  const conn = new Connection(PRIVATE, native.connect(uri, storagePairs(o.storageOptions), staleness,
    o.cacheDir ?? null, o.cacheBudgetBytes ?? null, o.coldFetchMode ?? null), uri);
  if (o.validate === true) conn.listTables();
  return conn;
}

/** connect() with the `validate` probe on the thread pool. */
async function connectAsync(uri, opts) {
  str("uri", uri);
  const o = options("options", opts);
  const staleness = checkConnectOptions(o);
  const conn = new Connection(PRIVATE, native.connect(uri, storagePairs(o.storageOptions), staleness,
    o.cacheDir ?? null, o.cacheBudgetBytes ?? null, o.coldFetchMode ?? null), uri);
  if (o.validate === true) await conn.listTablesAsync();
  return conn;
}

exports.connect = connect;
exports.connectAsync = connectAsync;
exports.Connection = Connection;
exports.Table = Table;
exports.IndexSpec = IndexSpec;
exports.BUILDER_ID = BUILDER_ID;
exports.ENGINE_VERSION = native.engineVersion;
