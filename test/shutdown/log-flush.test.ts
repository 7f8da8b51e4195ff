/**
 * Logs of a process killed without warning (SIGKILL: OOM, node loss): the server's logger
 * (createStdoutLogger, from the built dist/) writes a warning or an error at once, with every line
 * before it, and holds info lines at most a second or 4 KiB. Each case runs in its own child
 * process that logs and then kills itself.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "@jest/globals";
import { assertBuilt } from "../support/injector-process.js";

beforeAll(assertBuilt);

const LOG = join(import.meta.dirname, "..", "..", "dist", "log.js");

/** Run `script` (with `logger` in scope) in a child that SIGKILLs itself at the end; its stdout lines. */
function runAndKill(script: string): Promise<{ lines: Array<{ level: string; msg: string }>; signal: string | null }> {
  const source = `
    const { createStdoutLogger } = await import(${JSON.stringify(LOG)});
    const logger = createStdoutLogger("info");
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    ${script}
    process.kill(process.pid, "SIGKILL");
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      if (err.trim() !== "") reject(new Error(err));
      const lines = out
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as { level: string; msg: string });
      resolve({ lines, signal });
    });
  });
}

describe("the server's log lines survive SIGKILL", () => {
  it.each([
    ["a warning", `logger.info("one"); logger.info("two"); logger.warn("the reason");`, ["one", "two", "the reason"]],
    ["an error", `logger.info("one"); logger.error("the crash");`, ["one", "the crash"]],
    ["a fatal line", `logger.fatal("out of memory");`, ["out of memory"]],
    ["info lines older than the flush interval", `logger.info("one"); await sleep(1500);`, ["one"]],
  ])("%s is written before the kill", async (_name, script, expected) => {
    const { lines, signal } = await runAndKill(script);
    expect(signal).toBe("SIGKILL");
    expect(lines.map((l) => l.msg)).toEqual(expected);
  });

  it("info lines are written once 4 KiB are pending, in order", async () => {
    const { lines } = await runAndKill(`for (let i = 0; i < 100; i++) logger.info({ i, pad: "x".repeat(100) }, "line");`);
    // 100 lines of about 200 bytes: at least the first 4 KiB worth are out, in order, none torn.
    expect(lines.length).toBeGreaterThanOrEqual(19);
    expect(lines.map((l) => (l as unknown as { i: number }).i)).toEqual([...Array(lines.length).keys()]);
  });
});
