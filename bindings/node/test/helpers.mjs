// Shared by the node:test suites: temporary folders, the Python side of the
// interop tests, and small data builders.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

export const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = join(PKG_DIR, "..", "..");

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = "infino-node-test-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A one-hot vector of `dim` floats. */
export function onehot(i, dim = 16) {
  const v = new Array(dim).fill(0);
  v[i % dim] = 1;
  return v;
}

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The Python interpreter and package path for the interop tests: set by
 * `make test-node` (INFINO_TEST_PYTHON, INFINO_TEST_PYTHONPATH), or null.
 */
export function pythonEnv() {
  const py = process.env.INFINO_TEST_PYTHON;
  const path = process.env.INFINO_TEST_PYTHONPATH;
  if (!py || !path) return null;
  return { py, path };
}

/** Runs `code` with the Python package; returns its stdout (throws on failure). */
export function runPython(env, code, args = []) {
  const r = spawnSync(env.py, ["-c", code, ...args], {
    env: { ...process.env, PYTHONPATH: env.path },
    encoding: "utf8",
    timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
