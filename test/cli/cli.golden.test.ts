/**
 * The CLI as a real child process: each case in cases.json runs `sidecar-injector ARGS` in
 * testdata/ and is compared with testdata/golden/<case>.txt (exit code, stdout, stderr).
 * UPDATE_GOLDEN=1 rewrites the goldens; a golden without a case fails the run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { CLI, assertBuilt } from "../support/injector-process.js";

const DIR = join(import.meta.dirname, "testdata");
const GOLDEN = join(DIR, "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const cases = JSON.parse(readFileSync(join(import.meta.dirname, "cases.json"), "utf8")) as Record<string, { args: string[]; stdin?: string }>;

beforeAll(assertBuilt);

function run(name: string): string {
  const c = cases[name] as { args: string[]; stdin?: string };
  const result = spawnSync(process.execPath, [CLI, ...c.args], {
    cwd: DIR,
    input: c.stdin === undefined ? "" : readFileSync(join(DIR, c.stdin)),
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
  });
  return `exit: ${result.status}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

describe("CLI goldens", () => {
  it("has no stale goldens", () => {
    if (!existsSync(GOLDEN)) mkdirSync(GOLDEN);
    const stale = readdirSync(GOLDEN).filter((f) => !Object.hasOwn(cases, f.replace(/\.txt$/, "")));
    expect(stale).toEqual([]);
  });

  it.each(Object.keys(cases))("%s", (name) => {
    const actual = run(name);
    const path = join(GOLDEN, `${name}.txt`);
    if (UPDATE) writeFileSync(path, actual);
    else if (!existsSync(path)) throw new Error(`missing golden ${path}; run UPDATE_GOLDEN=1 npm run test:golden`);
    expect(actual).toBe(readFileSync(path, "utf8"));
  });

  it("inject output is a fixed point: injecting it again changes nothing", () => {
    const first = spawnSync(process.execPath, [CLI, "inject", "-f", "mixed.yaml"], { cwd: DIR, encoding: "utf8" });
    const second = spawnSync(process.execPath, [CLI, "inject", "-f", "-"], { cwd: DIR, input: first.stdout, encoding: "utf8" });
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });
});
