// lib/arrow.js - Arrow values between apache-arrow and the addon.
//
// The addon speaks the Arrow C Data Interface (src/cdata.h). This module
// turns what users hand us into the descriptions it reads, and what it
// returns into apache-arrow objects or plain records:
//
//   - schemas: apache-arrow Schema (of any apache-arrow module instance:
//     types are read by their numeric typeId, as upstream does), upstream's
//     { column: type } descriptor, or Arrow IPC bytes -> a description tree
//     { format, name, flags, metadata, children, dictionary } whose format
//     strings are the C data interface's;
//   - rows: an array of objects is converted column by column into Arrow
//     buffers under the table's declared schema, with errors naming the
//     column and row (as the Python binding's); an apache-arrow Table or
//     RecordBatch, or IPC bytes, hands over the buffers its Data already
//     holds (no per-row work);
//   - results: the addon returns [schemaJson, block, ...]; each block is
//     wrapped in typed-array views and apache-arrow's makeData, so nothing
//     is parsed or copied again in JavaScript.
"use strict";

const arrow = require("apache-arrow");

const { Type } = arrow;

// ---- errors ------------------------------------------------------------

/** An argument error: `code` is "InvalidArg", as upstream's addon sets. */
function argError(Ctor, message) {
  const e = new Ctor(message);
  e.code = "InvalidArg";
  return e;
}

// ---- apache-arrow types <-> C data interface formats ----------------------

const UNIT = "smun"; // TimeUnit SECOND, MILLISECOND, MICROSECOND, NANOSECOND

function intFormat(t) {
  const f = { 8: "c", 16: "s", 32: "i", 64: "l" }[t.bitWidth];
  if (f === undefined) return undefined;
  return t.isSigned ? f : f.toUpperCase();
}

// The format string of apache-arrow type `t` (any module instance).
function formatOf(t, column) {
  switch (t.typeId) {
    case Type.Null: return "n";
    case Type.Int: { const f = intFormat(t); if (f) return f; break; }
    case Type.Float: return ["e", "f", "g"][t.precision];
    case Type.Binary: return "z";
    case Type.LargeBinary: return "Z";
    case Type.Utf8: return "u";
    case Type.LargeUtf8: return "U";
    case Type.Bool: return "b";
    case Type.Decimal:
      return `d:${t.precision},${t.scale}` + (t.bitWidth && t.bitWidth !== 128 ? `,${t.bitWidth}` : "");
    case Type.Date: return t.unit === 0 ? "tdD" : "tdm";
    case Type.Time: return "tt" + UNIT[t.unit];
    case Type.Timestamp: return `ts${UNIT[t.unit]}:${t.timezone || ""}`;
    case Type.Duration: return "tD" + UNIT[t.unit];
    case Type.Interval: return ["tiM", "tiD", "tin"][t.unit];
    case Type.List: return "+l";
    case Type.LargeList: return "+L";
    case Type.Struct: return "+s";
    case Type.FixedSizeBinary: return `w:${t.byteWidth}`;
    case Type.FixedSizeList: return `+w:${t.listSize}`;
    default: break;
  }
  throw argError(TypeError, `column '${column}': unsupported Arrow type ${String(t)}`);
}

function metadataPairs(md) {
  if (!md || typeof md.size !== "number" || md.size === 0) return null;
  return Array.from(md, ([k, v]) => [String(k), String(v)]);
}

/** The description of apache-arrow Field `field` (any module instance). */
function fieldDesc(field, column = field.name) {
  const t = field.type;
  const desc = {
    format: "",
    name: String(field.name),
    flags: field.nullable ? 2 : 0,
    metadata: metadataPairs(field.metadata),
    children: [],
    dictionary: null,
  };
  if (t.typeId === Type.Dictionary) {
    desc.format = formatOf(t.indices, column);
    if (t.isOrdered) desc.flags |= 1;
    desc.dictionary = {
      format: formatOf(t.dictionary, column),
      name: "",
      flags: 2,
      metadata: null,
      children: (t.dictionary.children || []).map((c) => fieldDesc(c, column)),
      dictionary: null,
    };
  } else {
    desc.format = formatOf(t, column);
    desc.children = (t.children || []).map((c) => fieldDesc(c, column));
  }
  return desc;
}

function structDesc(fields) {
  return { format: "+s", name: "", flags: 0, metadata: null, children: fields, dictionary: null };
}

// The apache-arrow type (of our instance) of a schema node from the addon:
// { n: name, f: format, fl: flags, m: metadata pairs, c: children }.
function typeOf(node) {
  const f = node.f;
  const simple = {
    n: () => new arrow.Null(),
    b: () => new arrow.Bool(),
    c: () => new arrow.Int8(), s: () => new arrow.Int16(), i: () => new arrow.Int32(), l: () => new arrow.Int64(),
    C: () => new arrow.Uint8(), S: () => new arrow.Uint16(), I: () => new arrow.Uint32(), L: () => new arrow.Uint64(),
    e: () => new arrow.Float16(), f: () => new arrow.Float32(), g: () => new arrow.Float64(),
    u: () => new arrow.Utf8(), U: () => new arrow.LargeUtf8(),
    z: () => new arrow.Binary(), Z: () => new arrow.LargeBinary(),
    tdD: () => new arrow.DateDay(), tdm: () => new arrow.DateMillisecond(),
    tts: () => new arrow.TimeSecond(), ttm: () => new arrow.TimeMillisecond(),
    ttu: () => new arrow.TimeMicrosecond(), ttn: () => new arrow.TimeNanosecond(),
  }[f];
  if (simple) return simple();
  const kids = () => (node.c || []).map(fieldOf);
  if (f === "+l") return new arrow.List(kids()[0]);
  if (f === "+L") return new arrow.LargeList(kids()[0]);
  if (f === "+s") return new arrow.Struct(kids());
  let m;
  if ((m = /^\+w:(\d+)$/.exec(f))) return new arrow.FixedSizeList(Number(m[1]), kids()[0]);
  if ((m = /^w:(\d+)$/.exec(f))) return new arrow.FixedSizeBinary(Number(m[1]));
  if ((m = /^ts([smun]):(.*)$/s.exec(f))) return new arrow.Timestamp(UNIT.indexOf(m[1]), m[2] || null);
  if ((m = /^tD([smun])$/.exec(f))) return new arrow.Duration(UNIT.indexOf(m[1]));
  if ((m = /^d:(\d+),(-?\d+)(?:,(\d+))?$/.exec(f))) return new arrow.Decimal(Number(m[2]), Number(m[1]), Number(m[3] || 128));
  throw new Error(`unsupported result type '${f}' (column '${node.n}')`);
}

function fieldOf(node) {
  const md = node.m ? new Map(node.m) : undefined;
  return new arrow.Field(node.n, typeOf(node), (node.fl & 2) !== 0, md);
}

// Parsed schemas by their JSON text: repeated searches return the same
// text, so a result costs one Map lookup instead of building a Schema.
const schemaCache = new Map();

/** { schema: arrow.Schema, node } for the addon's schema JSON text. */
function schemaInfo(json) {
  let info = schemaCache.get(json);
  if (info === undefined) {
    const node = JSON.parse(json);
    const md = node.m ? new Map(node.m) : undefined;
    const schema = new arrow.Schema((node.c || []).map(fieldOf), md);
    info = { schema, node, rootType: new arrow.Struct(schema.fields), names: schema.fields.map((f) => f.name) };
    if (schemaCache.size >= 256) schemaCache.clear();
    schemaCache.set(json, info);
  }
  return info;
}

// ---- results -----------------------------------------------------------

// Reads one batch block (see src/cdata.h) into a tree of plain nodes:
// { type, length, nullCount, offset, bufs: [view | undefined], children }.
function parseBlock(ab, type) {
  const nWords = new Float64Array(ab, 0, 1)[0];
  const L = new Float64Array(ab, 8, nWords);
  let pos = 0;
  const node = (t) => {
    const length = L[pos], nullCount = L[pos + 1], offset = L[pos + 2], nb = L[pos + 3];
    pos += 4;
    const spans = [];
    for (let i = 0; i < nb; i++, pos += 2) spans.push(L[pos] < 0 ? null : [L[pos], L[pos + 1]]);
    const nChildren = L[pos++];
    const childFields = t.children || [];
    if (nChildren !== childFields.length) throw new Error("malformed result block");
    const children = childFields.map((f) => node(f.type));
    const view = (i, Ctor) => {
      const b = spans[i];
      return b ? new Ctor(ab, b[0], b[1] / Ctor.BYTES_PER_ELEMENT) : undefined;
    };
    const bufs = [view(0, Uint8Array)];
    switch (t.typeId) {
      case Type.Null: bufs[0] = undefined; break;
      case Type.Bool: bufs.push(view(1, Uint8Array)); break;
      case Type.Utf8: case Type.LargeUtf8: case Type.Binary: case Type.LargeBinary:
        bufs.push(view(1, t.OffsetArrayType), view(2, Uint8Array) || new Uint8Array(0));
        break;
      case Type.List: case Type.LargeList: bufs.push(view(1, t.OffsetArrayType)); break;
      case Type.FixedSizeList: case Type.Struct: break;
      default: bufs.push(view(1, t.ArrayType)); break;
    }
    return { type: t, length, nullCount, offset, bufs, children };
  };
  return node(type);
}

// A parsed node as apache-arrow Data.
function nodeData(n) {
  const t = n.type;
  const props = { type: t, offset: 0, length: n.offset + n.length, nullBitmap: n.bufs[0] };
  if (n.nullCount >= 0) props.nullCount = n.nullCount;
  switch (t.typeId) {
    case Type.Null: delete props.nullBitmap; break;
    case Type.Utf8: case Type.LargeUtf8: case Type.Binary: case Type.LargeBinary:
      props.valueOffsets = n.bufs[1];
      props.data = n.bufs[2];
      break;
    case Type.List: case Type.LargeList:
      props.valueOffsets = n.bufs[1];
      props.child = nodeData(n.children[0]);
      break;
    case Type.FixedSizeList: props.child = nodeData(n.children[0]); break;
    case Type.Struct: props.children = n.children.map(nodeData); break;
    default: props.data = n.bufs[1]; break;
  }
  const data = arrow.makeData(props);
  return n.offset > 0 ? data.slice(n.offset, n.length) : data;
}

// scale-0 decimal words (4 x uint32, little-endian) at w[at..] -> bigint
function decimalWords(w, at) {
  const hi = w[at + 3], mid = w[at + 2], lo1 = w[at + 1];
  if (hi === 0 && mid === 0 && lo1 < 0x200000) return BigInt(lo1 * 4294967296 + w[at]);
  const v = (BigInt(hi) << 96n) | (BigInt(mid) << 64n) | (BigInt(lo1) << 32n) | BigInt(w[at]);
  return BigInt.asIntN(128, v);
}

/** A scale-0 decimal cell as read by apache-arrow (Uint32Array) -> bigint. */
function decimalToBigInt(cell) {
  if (cell.length === 4) return decimalWords(cell, 0);
  let v = 0n;
  for (let i = cell.length - 1; i >= 0; i--) v = (v << 32n) | BigInt(cell[i] >>> 0);
  return BigInt.asIntN(cell.length * 32, v);
}

function validAt(bitmap, i) {
  return (bitmap[i >> 3] & (1 << (i & 7))) !== 0;
}

// One reader per column: row index -> the value a record holds. Records
// are what upstream builds with `row.toJSON()` (apache-arrow's getters),
// with scale-0 decimals (`_id`) as bigint. The common result columns are
// read straight from the block; the rest through apache-arrow's getters.
function columnReader(n) {
  const t = n.type;
  const bm = n.nullCount === 0 || n.offset !== 0 ? undefined : n.bufs[0];
  if (n.offset === 0) {
    const v = n.bufs[1];
    if (t.typeId === Type.Decimal && t.scale === 0 && (t.bitWidth || 128) === 128) {
      return bm ? (i) => (validAt(bm, i) ? decimalWords(v, 4 * i) : null) : (i) => decimalWords(v, 4 * i);
    }
    if ((t.typeId === Type.Float && t.precision !== 0) || (t.typeId === Type.Int && t.bitWidth <= 32)) {
      return bm ? (i) => (validAt(bm, i) ? v[i] : null) : (i) => v[i];
    }
    if (t.typeId === Type.Utf8 || t.typeId === Type.LargeUtf8) {
      const off = n.bufs[1], bytes = n.bufs[2];
      const wide = t.typeId === Type.LargeUtf8;
      const text = (i) => {
        const a = wide ? Number(off[i]) : off[i], b = wide ? Number(off[i + 1]) : off[i + 1];
        return b - a < 64 ? utf8Short(bytes, a, b) : decoder.decode(bytes.subarray(a, b));
      };
      return bm ? (i) => (validAt(bm, i) ? text(i) : null) : text;
    }
  }
  const vec = arrow.makeVector(nodeData(n));
  if (t.typeId === Type.Decimal && t.scale === 0) {
    return (i) => { const c = vec.get(i); return c == null ? c : decimalToBigInt(c); };
  }
  return (i) => vec.get(i);
}

const decoder = new TextDecoder();

// Short UTF-8 strings: plain ASCII is decoded without TextDecoder's fixed cost.
function utf8Short(bytes, a, b) {
  let s = "";
  for (let i = a; i < b; i++) {
    const c = bytes[i];
    if (c >= 0x80) return decoder.decode(bytes.subarray(a, b));
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * The addon's result [schemaJson, block, ...] as records (default) or as
 * an apache-arrow Table (`asArrow`).
 */
function decodeResult(raw, asArrow) {
  const { schema, rootType, names } = schemaInfo(raw[0]);
  if (asArrow) {
    const batches = [];
    for (let b = 1; b < raw.length; b++) batches.push(new arrow.RecordBatch(schema, nodeData(parseBlock(raw[b], rootType))));
    return new arrow.Table(schema, batches);
  }
  const rows = [];
  for (let b = 1; b < raw.length; b++) {
    const root = parseBlock(raw[b], rootType);
    const readers = root.children.map(columnReader);
    const n = root.length;
    for (let i = 0; i < n; i++) {
      const o = {};
      for (let j = 0; j < readers.length; j++) o[names[j]] = readers[j](i);
      rows.push(o);
    }
  }
  return rows;
}

// ---- schemas in ------------------------------------------------------------

// upstream's { column: type } descriptor names (non-nullable columns)
function descriptorType(spec) {
  if (spec && typeof spec === "object" && typeof spec.vector === "number") {
    return new arrow.FixedSizeList(spec.vector, new arrow.Field("item", new arrow.Float32(), true));
  }
  switch (String(spec).toLowerCase()) {
    case "utf8": case "string": return new arrow.Utf8();
    case "large_utf8": case "largeutf8": return new arrow.LargeUtf8();
    case "bool": case "boolean": return new arrow.Bool();
    case "int32": return new arrow.Int32();
    case "int64": return new arrow.Int64();
    case "float32": return new arrow.Float32();
    case "float64": case "double": return new arrow.Float64();
    default:
      throw argError(TypeError, `createTable: unknown column type ${JSON.stringify(spec)}`);
  }
}

function isBytes(x) {
  return x instanceof Uint8Array; // Buffer too
}

/** A createTable schema -> the description of its struct. */
function schemaDesc(schema) {
  if (isBytes(schema)) schema = arrow.tableFromIPC(schema).schema;
  if (schema && Array.isArray(schema.fields)) {
    return structDesc(schema.fields.map((f) => fieldDesc(f)));
  }
  if (schema && typeof schema === "object" && !Array.isArray(schema)) {
    return structDesc(Object.entries(schema).map(([name, spec]) =>
      fieldDesc(new arrow.Field(name, descriptorType(spec), false))));
  }
  throw argError(TypeError, "createTable: schema must be an apache-arrow Schema or a { column: type } descriptor");
}

// ---- rows in: apache-arrow data ------------------------------------------

// The bits [off, off + len) of `bits` as a fresh bitmap starting at bit 0.
function bitmapFrom(bits, off, len) {
  if (!bits || bits.length === 0) return null;
  if (off % 8 === 0) return bits.subarray(off >> 3, (off + len + 7) >> 3);
  const out = new Uint8Array((len + 7) >> 3);
  for (let i = 0; i < len; i++) {
    const j = off + i;
    if (bits[j >> 3] & (1 << (j & 7))) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

// apache-arrow Data (any instance) -> array description. apache-arrow keeps
// fixed-width values and offsets already sliced at `offset` but bitmaps
// whole, so the description uses offset 0 and re-bases the bitmaps.
function dataDesc(data, column) {
  const t = data.type;
  const off = data.offset, len = data.length;
  const desc = {
    length: len,
    nullCount: data.nullCount,
    offset: 0,
    buffers: [],
    children: [],
    dictionary: null,
  };
  const validity = data.nullCount === 0 ? null : bitmapFrom(data.nullBitmap, off, len);
  switch (t.typeId) {
    case Type.Null: break;
    case Type.Bool: desc.buffers = [validity, bitmapFrom(data.values, off, len) || new Uint8Array(0)]; break;
    case Type.Utf8: case Type.LargeUtf8: case Type.Binary: case Type.LargeBinary:
      desc.buffers = [validity, data.valueOffsets, data.values]; break;
    case Type.List: case Type.LargeList:
      desc.buffers = [validity, data.valueOffsets];
      desc.children = [dataDesc(data.children[0], column)];
      break;
    case Type.FixedSizeList:
      desc.buffers = [validity];
      desc.children = [dataDesc(data.children[0], column)];
      break;
    case Type.Struct:
      desc.buffers = [validity];
      desc.children = data.children.map((c) => dataDesc(c, column));
      break;
    case Type.Dictionary: {
      desc.buffers = [validity, data.values];
      const dict = data.dictionary;
      const chunks = dict && dict.data ? dict.data : [];
      if (chunks.length !== 1) {
        throw argError(TypeError, `column '${column}': a dictionary must be one chunk`);
      }
      desc.dictionary = dataDesc(chunks[0], column);
      break;
    }
    default:
      formatOf(t, column); // throws for the unsupported ones
      desc.buffers = [validity, data.values];
  }
  return desc;
}

function isArrowTable(d) {
  return d && typeof d === "object" && Array.isArray(d.batches) && d.schema && Array.isArray(d.schema.fields);
}

function isRecordBatch(d) {
  return d && typeof d === "object" && d.schema && Array.isArray(d.schema.fields) &&
    typeof d.numRows === "number" && d.data && typeof d.data.typeId === "number";
}

/**
 * An apache-arrow Table or RecordBatch -> { schema, batches } descriptions.
 * A nullable column of the table that the data lacks is added as nulls (as
 * upstream, which rebuilds rows under the declared schema, does).
 */
function arrowBatches(d, tableNode) {
  const fields = d.schema.fields;
  const have = new Set(fields.map((f) => f.name));
  const missing = (tableNode.c || []).filter((c) => !have.has(c.n) && (c.fl & 2) !== 0);
  const schema = structDesc(fields.map((f) => fieldDesc(f)).concat(missing.map(toDesc)));
  const batches = (isArrowTable(d) ? d.batches : [d]).map((b) => {
    const root = b.data;
    const nulls = missing.map((c) => buildArray(c, new Array(root.length).fill(null), () => `column '${c.n}'`));
    return {
      length: root.length,
      nullCount: 0,
      offset: 0,
      buffers: [null],
      children: root.children.map((c, j) => dataDesc(c, fields[j].name)).concat(nulls),
      dictionary: null,
    };
  });
  return { schema, batches };
}

// ---- rows in: plain objects -----------------------------------------------

const INT_RANGES = {
  c: [-128n, 127n, Int8Array], s: [-32768n, 32767n, Int16Array], i: [-2147483648n, 2147483647n, Int32Array],
  l: [-(2n ** 63n), 2n ** 63n - 1n, BigInt64Array],
  C: [0n, 255n, Uint8Array], S: [0n, 65535n, Uint16Array], I: [0n, 4294967295n, Uint32Array],
  L: [0n, 2n ** 64n - 1n, BigUint64Array],
};

function kindOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return (v.constructor && v.constructor.name) || "object";
  return typeof v;
}

function valueError(where, msg) {
  return argError(Error, `${where}: ${msg}`);
}

function isListLike(v) {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)) ||
    (v && typeof v === "object" && typeof v.toArray === "function" && typeof v.length === "number");
}

function listItems(v) {
  return Array.isArray(v) || ArrayBuffer.isView(v) ? v : v.toArray();
}

const POW10 = [];
for (let i = 0n, p = 1n; i <= 76n; i++, p *= 10n) POW10.push(p);

// A decimal value -> its unscaled bigint for `scale`, exactly or not at all.
function decimalUnscaled(v, scale, where) {
  if (typeof v === "bigint") return scale >= 0 ? v * POW10[scale] : null;
  if (v instanceof Uint32Array && v.length === 4) return decimalWords(v, 0); // as read back
  let s;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw valueError(where, `${v} is not a decimal`);
    s = String(v);
  } else if (typeof v === "string") {
    s = v.trim();
  } else {
    throw valueError(where, `expected a bigint, number or decimal string, got ${kindOf(v)}`);
  }
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === "" && (m[3] || "") === "")) throw valueError(where, `'${s}' is not a decimal`);
  let digits = m[2] + (m[3] || "");
  let exp = Number(m[4] || 0) - (m[3] || "").length + scale; // value = digits * 10^exp
  if (Math.abs(exp) > 100) {
    if (/^0*$/.test(digits)) return 0n;
    if (exp > 0) throw valueError(where, `${s} is out of range`);
  }
  if (exp < 0) {
    const cut = digits.length + exp;
    const tail = cut > 0 ? digits.slice(cut) : digits;
    if (!/^0*$/.test(tail)) throw valueError(where, `${s} has more than ${scale} decimal places`);
    digits = cut > 0 ? digits.slice(0, cut) : "0";
    exp = 0;
  }
  const u = BigInt(digits || "0") * 10n ** BigInt(exp);
  return m[1] === "-" ? -u : u;
}

// Converts `values` (one per slot) into an array description of schema
// node `node` (the addon's { n, f, fl, c }). `where(i)` names slot i in
// errors.
function buildArray(node, values, where) {
  const n = values.length;
  const f = node.f;
  const nullable = (node.fl & 2) !== 0;
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] == null) {
      if (!nullable) throw argError(Error, `${where(i)} is missing or null, but the column is not nullable`);
      nullCount++;
    }
  }
  let validity = null;
  if (nullCount > 0) {
    validity = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) if (values[i] != null) validity[i >> 3] |= 1 << (i & 7);
  }
  const desc = { length: n, nullCount, offset: 0, buffers: [validity], children: [], dictionary: null };
  const range = INT_RANGES[f];
  let m;
  if (range) {
    const [lo, hi, Ctor] = range;
    const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
    const out = new Ctor(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      if (typeof v === "number") {
        if (!Number.isInteger(v)) throw valueError(where(i), `${v} is not an integer`);
        if (big && !Number.isSafeInteger(v)) throw valueError(where(i), `${v} is beyond 2^53: pass a bigint`);
        if (v < Number(lo) || v > Number(hi)) throw valueError(where(i), `${v} is out of range for the column`);
        out[i] = big ? BigInt(v) : v;
      } else if (typeof v === "bigint") {
        if (v < lo || v > hi) throw valueError(where(i), `${v} is out of range for the column`);
        out[i] = big ? v : Number(v);
      } else {
        throw valueError(where(i), `expected an integer, got ${kindOf(v)}`);
      }
    }
    desc.buffers.push(out);
  } else if (f === "f" || f === "g") {
    const out = f === "f" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      if (typeof v !== "number") throw valueError(where(i), `expected a number, got ${kindOf(v)}`);
      out[i] = v;
    }
    desc.buffers.push(out);
  } else if (f === "b") {
    const out = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      if (typeof v !== "boolean") throw valueError(where(i), `expected a boolean, got ${kindOf(v)}`);
      if (v) out[i >> 3] |= 1 << (i & 7);
    }
    desc.buffers.push(out);
  } else if (f === "u" || f === "U" || f === "z" || f === "Z") {
    const text = f === "u" || f === "U";
    const wide = f === "U" || f === "Z";
    const lens = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      if (text) {
        if (typeof v !== "string") throw valueError(where(i), `expected a string, got ${kindOf(v)}`);
        lens[i] = Buffer.byteLength(v, "utf8");
      } else {
        if (!(v instanceof Uint8Array) && !(v instanceof ArrayBuffer)) {
          throw valueError(where(i), `expected a Uint8Array or Buffer, got ${kindOf(v)}`);
        }
        lens[i] = v.byteLength;
      }
      total += lens[i];
    }
    if (!wide && total > 2147483647) throw valueError(where(0), "more than 2 GiB of data: use a large type");
    const offsets = wide ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
    const data = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v != null) {
        if (text) data.write(v, at, lens[i], "utf8");
        else data.set(v instanceof ArrayBuffer ? new Uint8Array(v) : v, at);
        at += lens[i];
      }
      offsets[i + 1] = wide ? BigInt(at) : at;
    }
    desc.buffers.push(offsets, data);
  } else if (f === "tdD" || f === "tdm") {
    const out = f === "tdD" ? new Int32Array(n) : new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      const ms = v instanceof Date ? v.getTime() : v;
      if (typeof ms !== "number" || !Number.isFinite(ms)) {
        throw valueError(where(i), `expected a Date or milliseconds since the epoch, got ${kindOf(v)}`);
      }
      if (f === "tdD") out[i] = Math.floor(ms / 86400000);
      else out[i] = BigInt(Math.floor(ms));
    }
    desc.buffers.push(out);
  } else if ((m = /^ts([smun]):/.exec(f))) {
    const perMs = [0.001, 1, 1000, 1000000][UNIT.indexOf(m[1])];
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      if (typeof v === "bigint") { out[i] = v; continue; } // in the column's unit
      const ms = v instanceof Date ? v.getTime() : v;
      if (typeof ms !== "number" || !Number.isFinite(ms)) {
        throw valueError(where(i), `expected a Date, milliseconds since the epoch or a bigint, got ${kindOf(v)}`);
      }
      out[i] = perMs >= 1 ? BigInt(Math.round(ms)) * BigInt(perMs) : BigInt(Math.floor(ms * perMs));
    }
    desc.buffers.push(out);
  } else if ((m = /^d:(\d+),(-?\d+)$/.exec(f))) {
    const precision = Number(m[1]), scale = Number(m[2]);
    const out = new Uint32Array(4 * n);
    const limit = POW10[precision];
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) continue;
      const u = decimalUnscaled(v, scale, where(i));
      if (u === null || u >= limit || u <= -limit) {
        throw valueError(where(i), `${v} does not fit decimal(${precision}, ${scale})`);
      }
      let x = BigInt.asUintN(128, u);
      for (let w = 0; w < 4; w++, x >>= 32n) out[4 * i + w] = Number(x & 0xffffffffn);
    }
    desc.buffers.push(out);
  } else if ((m = /^\+w:(\d+)$/.exec(f))) {
    const size = Number(m[1]);
    const child = node.c[0];
    const flat = child.f === "f" ? new Float32Array(n * size) : new Array(n * size);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v == null) { if (child.f !== "f") flat.fill(null, i * size, (i + 1) * size); continue; }
      if (!isListLike(v)) throw valueError(where(i), `expected an array of ${size} values, got ${kindOf(v)}`);
      const items = listItems(v);
      if (items.length !== size) throw valueError(where(i), `expected ${size} values, got ${items.length}`);
      if (child.f === "f") {
        if (items instanceof Float32Array || items instanceof Float64Array) {
          flat.set(items, i * size);
        } else {
          for (let j = 0; j < size; j++) {
            const x = items[j];
            if (typeof x !== "number") {
              throw valueError(where(i), `value ${j}: expected a number, got ${kindOf(x)}`);
            }
            flat[i * size + j] = x;
          }
        }
      } else {
        for (let j = 0; j < size; j++) flat[i * size + j] = items[j];
      }
    }
    if (child.f === "f") {
      desc.children.push({ length: n * size, nullCount: 0, offset: 0, buffers: [null, flat], children: [], dictionary: null });
    } else {
      desc.children.push(buildArray(child, flat, (k) => `${where(Math.floor(k / size))}, value ${k % size}`));
    }
  } else if (f === "+l" || f === "+L") {
    const wide = f === "+L";
    const offsets = wide ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
    const starts = new Float64Array(n + 1);
    const flat = [];
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v != null) {
        if (!isListLike(v)) throw valueError(where(i), `expected an array, got ${kindOf(v)}`);
        const items = listItems(v);
        for (let j = 0; j < items.length; j++) flat.push(items[j]);
      }
      starts[i + 1] = flat.length;
      offsets[i + 1] = wide ? BigInt(flat.length) : flat.length;
    }
    desc.buffers.push(offsets);
    const rowOf = (k) => { let lo = 0, hi = n; while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (starts[mid] <= k) lo = mid; else hi = mid; } return lo; };
    desc.children.push(buildArray(node.c[0], flat, (k) => `${where(rowOf(k))}, value ${k - starts[rowOf(k)]}`));
  } else {
    throw valueError(where(0), `appending rows to a column of Arrow format '${f}' is not supported`);
  }
  return desc;
}

/** An array of row objects -> { schema, batches } under the table's schema node. */
function rowBatches(rows, tableNode) {
  const fields = tableNode.c || [];
  const known = new Set(fields.map((c) => c.n));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r === null || typeof r !== "object" || Array.isArray(r)) {
      throw argError(TypeError, `row ${i} is a ${kindOf(r)}, not an object`);
    }
    for (const k in r) {
      if (!known.has(k)) throw argError(Error, `column '${k}' is not in the table's schema`);
    }
  }
  const children = fields.map((c) => {
    const values = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = rows[i][c.n];
    return buildArray(c, values, (i) => `column '${c.n}': row ${i}`);
  });
  const schema = toDesc(tableNode);
  const batch = { length: rows.length, nullCount: 0, offset: 0, buffers: [null], children, dictionary: null };
  return { schema, batches: [batch] };
}

// The addon's schema JSON node -> a description it reads back.
function toDesc(node) {
  return {
    format: node.f,
    name: node.n,
    flags: node.fl,
    metadata: node.m || null,
    children: (node.c || []).map(toDesc),
    dictionary: node.d ? toDesc(node.d) : null,
  };
}

/**
 * Whatever `append` / `update` accept -> { schema, batches } descriptions,
 * or null for an empty array of rows.
 */
function appendBatches(data, tableNode, method) {
  if (Array.isArray(data)) return rowBatches(data, tableNode);
  if (isBytes(data)) return arrowBatches(arrow.tableFromIPC(data), tableNode);
  if (isArrowTable(data) || isRecordBatch(data)) return arrowBatches(data, tableNode);
  throw argError(TypeError,
    `${method}: expected an array of objects, an apache-arrow Table / RecordBatch, or an Arrow IPC Buffer`);
}

module.exports = {
  argError,
  schemaInfo,
  schemaDesc,
  decodeResult,
  appendBatches,
  decimalToBigInt,
};
