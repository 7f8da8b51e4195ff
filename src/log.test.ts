import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { bufferedDestination, createBufferedLogger, logInfoLine, silentLogger } from "./log.js";

describe("the server's log lines", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function fileLogger() {
    dir = mkdtempSync(join(tmpdir(), "log-"));
    const path = join(dir, "out.log");
    const fd = openSync(path, "w");
    const destination = bufferedDestination(fd);
    const logger = createBufferedLogger("info", destination);
    const lines = () => {
      destination.flush();
      return readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    return { logger, destination, lines, close: () => closeSync(fd) };
  }

  it("writes a review line directly exactly as pino writes it (same keys, same order, same values)", () => {
    const { logger, lines, close } = fileLogger();
    const fields = { uid: "u-1", namespace: "shop", pod: 'we"b-\\0', operation: "CREATE", dryRun: false, decision: "inject", reasons: ["namespace_enabled"], patchOps: 34, durationMs: 0.292, note: "é\u2028\u0001" };
    logger.info(fields, "admission review");
    logInfoLine(logger, fields, "admission review");
    const [viaPino, direct] = lines().map(({ time, ...rest }) => {
      expect(typeof time).toBe("string");
      return rest;
    });
    expect(direct).toEqual(viaPino);
    expect(Object.keys(direct ?? {})).toEqual(Object.keys(viaPino ?? {}));
    close();
  });

  it("gives each direct line its own message and the time as pino's isoTime writes it", () => {
    const { logger, lines, close } = fileLogger();
    const before = Date.now();
    for (const msg of ["admission review", "admission review", 'a "quoted" message', "admission review"]) logInfoLine(logger, { uid: "u-1" }, msg);
    const after = Date.now();
    const written = lines();
    expect(written.map((l) => l.msg)).toEqual(["admission review", "admission review", 'a "quoted" message', "admission review"]);
    for (const line of written) {
      expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const ms = Date.parse(line.time as string);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
    }
    close();
  });

  it("buffers info lines and writes them, in order, when a warning comes", () => {
    const { logger, destination, close } = fileLogger();
    const path = join(dir as string, "out.log");
    logInfoLine(logger, { n: 1 }, "admission review");
    logger.info({ n: 2 }, "admission review");
    expect(readFileSync(path, "utf8")).toBe("");
    logger.warn({ n: 3 }, "something to see");
    expect(readFileSync(path, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([1, 2, 3]);
    destination.flush();
    close();
  });

  it("leaves other loggers to pino (tests capture their calls) and respects the level", () => {
    const calls: unknown[] = [];
    const logger = silentLogger();
    logger.info = ((fields: unknown) => void calls.push(fields)) as never;
    logInfoLine(logger, { uid: "u-2" }, "admission review");
    expect(calls).toEqual([{ uid: "u-2" }]);
    const quiet = fileLogger();
    quiet.logger.level = "warn";
    logInfoLine(quiet.logger, { uid: "u-3" }, "admission review");
    expect(quiet.lines()).toEqual([]);
    quiet.close();
  });
});
