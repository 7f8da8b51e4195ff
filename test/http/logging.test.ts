/**
 * One structured line per review: uid, namespace, pod (name or generateName), operation,
 * decision, reasons, duration — and never the pod spec or env values.
 */
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import { createLogger } from "../../src/log.js";
import { aPod, reviewFor, testApp } from "../support/builders.js";

function appWithLog() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const app = testApp({ logger });
  return { app, lines };
}

const SECRET = "s3cr3t-value-that-must-not-be-logged";

describe("admission log line", () => {
  it("is one line per review with the request's identity and the decision", async () => {
    const { app, lines } = appWithLog();
    const pod = aPod({ metadata: { name: undefined, generateName: "web-7f9-" } });
    pod.spec.containers[0] = { ...pod.spec.containers[0], name: "web", env: [{ name: "PASSWORD", value: SECRET }] };
    await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(pod, { uid: "log-1", namespace: "shop" })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "admission review",
      uid: "log-1",
      namespace: "shop",
      pod: "web-7f9-",
      operation: "CREATE",
      decision: "inject",
      reasons: ["namespace_enabled"],
      decidedBy: "namespace",
    });
    expect(typeof lines[0]?.durationMs).toBe("number");
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    expect(JSON.stringify(lines)).not.toContain("nginx");
  });

  it("logs a denied review with its error code, not its content", async () => {
    const { app, lines } = appWithLog();
    const pod = aPod({ annotations: { "sidecar.istio.io/proxyCPU": "lots" } });
    pod.spec.containers[0] = { name: "web", env: [{ name: "PASSWORD", value: SECRET }] };
    await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(pod, { uid: "log-2" })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ uid: "log-2", decision: "error", code: "INVALID_ANNOTATION", status: 422 });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("logs an unexpected error at error level with its stack", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const app = testApp({
      context: () => {
        throw new Error("template exploded");
      },
      logger,
    });
    await request(app).post("/inject").set("Content-Type", "application/json").send(JSON.stringify(reviewFor(aPod(), { uid: "log-3" })));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", uid: "log-3", decision: "error", code: "INTERNAL", status: 500 });
    expect(String(lines[0]?.stack)).toContain("template exploded");
  });
});
