/**
 * An unexpected failure (a bug of ours) is one line on the CLI, with a hint; its stack trace only
 * with --debug or DEBUG=1. The failure is made by a preloaded module that breaks standard output.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { CLI, assertBuilt } from "../support/injector-process.js";

beforeAll(assertBuilt);

const BREAK_STDOUT = `data:text/javascript,process.stdout.write=()=>{throw new TypeError("stdout is broken")}`;
const example = join(import.meta.dirname, "..", "..", "examples", "manifests.yaml");

function inject(extra: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ["--import", BREAK_STDOUT, CLI, "inject", "-f", example, ...extra], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
}

describe("an unexpected failure on the CLI", () => {
  it("is one line and a hint, exit 1, no stack trace", () => {
    const r = inject([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("sidecar-injector: internal error: stdout is broken\n(run again with --debug or DEBUG=1 for the stack trace)\n");
  });

  it.each([
    ["--debug", ["--debug"], {}],
    ["DEBUG=1", [], { DEBUG: "1" }],
  ])("prints the stack trace with %s", (_name, extra, env) => {
    const r = inject(extra, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^sidecar-injector: internal error: TypeError: stdout is broken\n\s+at /);
  });
});
