// The documentation page's lifecycle (create, append, open, update, delete,
// optimize with options, list, drop with purge) in JavaScript, on a local
// folder, with 384-dimensional vectors as on the page.
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

import { connect, IndexSpec } from "../index.js";
import { Schema, Field, LargeUtf8, FixedSizeList, Float32 } from "apache-arrow";
import { tempDir } from "./helpers.mjs";

function embed(text) {
  const v = new Array(384).fill(0);
  for (let i = 0; i < text.length; i++) v[(text.charCodeAt(i) * 7 + i) % 384] += 1;
  return v;
}

const schema = () => new Schema([
  new Field("doc_id", new LargeUtf8(), false),
  new Field("body", new LargeUtf8(), false),
  new Field("embedding", new FixedSizeList(384, new Field("item", new Float32(), true)), false),
]);

test("the seed lifecycle, as the documentation page runs it", () => {
  const dir = tempDir();
  const db = connect(join(dir, "data"));
  const docs = db.createTable("docs", schema(),
    new IndexSpec().fts("body").vector("embedding", 384, 64, "cosine"));

  docs.append([
    { doc_id: "1", body: "To cancel, open Settings then Billing.", embedding: embed("cancel billing") },
  ]);
  assert.equal(docs.tokenMatch("body", "billing").length, 1);

  // A table persists: open it later, also from a new connection.
  const reopened = connect(join(dir, "data")).openTable("docs");
  assert.equal(reopened.count("body", "settings"), 1);
  assert.deepEqual(reopened.schema().fields.map((f) => f.name), ["doc_id", "body", "embedding"]);

  const before = docs.tokenMatch("body", "billing", { projection: ["_id"] })[0]._id;
  const upd = docs.update("doc_id = '1'", [
    { doc_id: "1", body: "Refunds go to the original payment method.", embedding: embed("refunds") },
  ]);
  assert.deepEqual(upd, { matched: 1, nTombstoned: 1, nNotFound: 0 });
  assert.equal(docs.tokenMatch("body", "billing").length, 0);
  const after = docs.tokenMatch("body", "refunds", { projection: ["_id", "doc_id"] });
  assert.equal(after.length, 1);
  assert.equal(after[0].doc_id, "1");
  assert.ok(after[0]._id > before, "replacement rows get new, larger _ids");

  const stats = docs.delete("doc_id = '1'");
  assert.equal(stats.matched, 1);
  assert.equal(stats.nTombstoned, 1);
  assert.equal(stats.nNotFound, 0);
  assert.equal(docs.countRows(), 0);

  docs.append([
    { doc_id: "2", body: "Enable dark mode under Settings then Appearance.", embedding: embed("dark") },
    { doc_id: "3", body: "Export your data from Settings.", embedding: embed("export") },
  ]);
  docs.append([{ doc_id: "4", body: "Invite teammates from Settings.", embedding: embed("invite") }]);
  docs.optimize();
  docs.optimize({ maxMemoryMb: 512, minFillPercent: 50, targetSuperfileSizeMb: 256 });
  assert.equal(docs.count("body", "settings"), 3);
  assert.equal(docs.vectorSearch("embedding", embed("export"), 1, { projection: ["doc_id"] })[0].doc_id, "3");

  assert.deepEqual(db.listTables(), ["docs"]);
  const tablesDir = join(dir, "data", "tables");
  assert.ok(readdirSync(tablesDir).some((n) => n.startsWith("docs-")));
  db.dropTable("docs", true);
  assert.deepEqual(db.listTables(), []);
  assert.ok(!existsSync(tablesDir) || !readdirSync(tablesDir).some((n) => n.startsWith("docs-")),
    "purge deletes the table's storage");
});

test("update and delete need durable storage; update is 1:1", () => {
  const mem = connect("memory://").createTable("docs", schema(), new IndexSpec().fts("body"));
  mem.append([{ doc_id: "1", body: "alpha", embedding: embed("a") }]);
  assert.throws(() => mem.delete("doc_id = '1'"), { code: "GenericFailure", message: /durable storage/ });
  assert.throws(() => mem.update("doc_id = '1'", []), { code: "GenericFailure", message: /durable storage/ });

  const docs = connect(tempDir()).createTable("docs", schema(), new IndexSpec().fts("body"));
  docs.append([
    { doc_id: "1", body: "alpha", embedding: embed("a") },
    { doc_id: "2", body: "beta", embedding: embed("b") },
  ]);
  assert.throws(() => docs.update("doc_id = '1'", [
    { doc_id: "1", body: "x", embedding: embed("x") },
    { doc_id: "1", body: "y", embedding: embed("y") },
  ]), { code: "InvalidArg" });
  assert.throws(() => docs.update("doc_id = '1'", []), { code: "InvalidArg" });
  assert.equal(docs.countRows(), 2, "a refused update changes nothing");
  assert.deepEqual(docs.delete("doc_id = 'nope'"), { matched: 0, nTombstoned: 0, nNotFound: 0 });
});
