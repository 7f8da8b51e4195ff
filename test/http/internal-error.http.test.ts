/** A 500 is a bug of ours: its body carries an id, and the log line with the same id says so. */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { createLogger } from "../../src/log.js";
import type { Metrics } from "../../src/metrics.js";
import { testApp } from "../support/builders.js";

describe("the last resort", () => {
  it("answers 500 INTERNAL with a request id that its log line carries, naming it a bug", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    // A dependency that fails where nothing a client sent could make it fail.
    const metrics = { registry: { contentType: "text/plain", metrics: async () => Promise.reject(new Error("registry broke")) } } as unknown as Metrics;
    const res = await request(testApp({ logger, metrics })).get("/metrics");
    expect(res.status).toBe(500);
    expect(res.body.code).toBe("INTERNAL");
    const id = /request id ([0-9a-f-]{36})/.exec(res.body.message)?.[1];
    expect(id).toBeDefined();
    expect(res.body.message).not.toContain("registry broke");
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === id);
    expect(logged).toMatchObject({ level: "error", path: "/metrics", method: "GET" });
    expect(String(logged?.msg)).toMatch(/a bug in the injector/);
    expect(JSON.stringify(logged?.err)).toContain("registry broke");
  });
});
