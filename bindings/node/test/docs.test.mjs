// The TypeScript examples of docs/node.md: type-checked with tsc --noEmit
// --strict against the package's index.d.ts, then compiled and run, each in
// a fresh folder (they write ./data).
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

import { createRequire } from "node:module";

import { PKG_DIR, REPO_DIR, tempDir } from "./helpers.mjs";

const ts = createRequire(import.meta.url)(join(PKG_DIR, "node_modules", "typescript"));

const TSC = join(PKG_DIR, "node_modules", "typescript", "bin", "tsc");

function examples() {
  const md = readFileSync(join(REPO_DIR, "docs", "node.md"), "utf8");
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function setup() {
  const dir = tempDir("infino-node-docs-");
  mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
  symlinkSync(PKG_DIR, join(dir, "node_modules", "infino"));
  symlinkSync(join(PKG_DIR, "node_modules", "apache-arrow"), join(dir, "node_modules", "apache-arrow"));
  symlinkSync(join(PKG_DIR, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
  const files = examples().map((src, i) => {
    const name = `example${i + 1}.mts`;
    writeFileSync(join(dir, name), src);
    return name;
  });
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true,
      types: ["node"], outDir: "out", skipLibCheck: false,
    },
    files,
  }));
  return { dir, files };
}

function tsc(dir, args) {
  return spawnSync(process.execPath, [TSC, "-p", "tsconfig.json", ...args], { cwd: dir, encoding: "utf8" });
}

test("docs/node.md has TypeScript examples", () => {
  assert.ok(examples().length >= 4);
});

test("docs/node.md examples type-check (tsc --noEmit --strict)", () => {
  const { dir } = setup();
  const r = tsc(dir, ["--noEmit"]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("docs/node.md examples run", () => {
  const { dir, files } = setup();
  for (const f of files) {
    const runDir = join(dir, "run-" + f);
    mkdirSync(runDir);
    // types stripped by TypeScript itself (checked by the test above)
    const out = ts.transpileModule(readFileSync(join(dir, f), "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    const js = join(dir, f.replace(/\.mts$/, ".mjs"));
    writeFileSync(js, out.outputText);
    const p = spawnSync(process.execPath, [js], { cwd: runDir, encoding: "utf8", timeout: 120000 });
    assert.equal(p.status, 0, `${f} failed:\n${p.stderr}\n${p.stdout}`);
    assert.equal(p.stderr, "", `${f} wrote to stderr`);
  }
});
