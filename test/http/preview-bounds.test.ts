/**
 * POST /preview's per-request bounds, each a setting: the answer names the limit (413 for what the
 * request holds, 422 for what rendering it would take), and the pool's answers over HTTP: 429 with
 * Retry-After when full, 422 past the worker-time budget.
 */
import { afterAll, describe, expect, it } from "@jest/globals";
import request from "supertest";
import { stringify as toYaml } from "yaml";
import { SEND_SLICE_BYTES } from "../../src/http/preview-route.js";
import { type PreviewRunner, createInlinePreviewRunner, createPreviewPool } from "../../src/preview/preview-pool.js";
import { aPod, testApp, testContext } from "../support/builders.js";

const pods = (n: number) => Array.from({ length: n }, (_, i) => toYaml(aPod({ metadata: { name: `web-${i}` } }))).join("---\n");
const list = (n: number) => JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: n }, (_, i) => aPod({ metadata: { name: `web-${i}` } })) });

const bounds = { maxDocuments: 2, maxObjectsPerDocument: 2, maxRenderedBytes: 20 * 1024 };

describe("POST /preview bounds", () => {
  const ctx = testContext({ preview: bounds });
  const app = testApp({ context: () => ctx });

  it.each([
    { name: "more documents than preview.maxDocuments", body: pods(3), type: "application/yaml", query: "", status: 413, limit: "preview.maxDocuments", sentence: "the request has 3 documents" },
    { name: "more objects in a List than preview.maxObjectsPerDocument", body: list(3), type: "application/json", query: "", status: 413, limit: "preview.maxObjectsPerDocument", sentence: "documents[0] holds 3 objects" },
    { name: "an answer larger than preview.maxRenderedBytes", body: list(2), type: "application/json", query: "?output=json", status: 422, limit: "preview.maxRenderedBytes", sentence: "the answer would be" },
  ])("$name: $status naming $limit", async ({ body, type, query, status, limit, sentence }) => {
    const res = await request(app).post(`/preview${query}`).set("Content-Type", type).send(body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ code: "PREVIEW_LIMIT", limit, message: expect.stringContaining(sentence) });
    expect(res.body.message).toContain(limit);
  });

  it.each([
    { name: "as many documents as allowed", body: pods(2), type: "application/yaml", query: "?output=patch" },
    { name: "as many objects in a List as allowed", body: list(2), type: "application/json", query: "?output=patch" },
  ])("$name: 200", async ({ body, type, query }) => {
    const res = await request(app).post(`/preview${query}`).set("Content-Type", type).send(body);
    expect(res.status).toBe(200);
  });
});

describe("POST /preview through the worker pool", () => {
  const runners: PreviewRunner[] = [];
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });

  it("answers 422 naming preview.maxCpuMs when a preview keeps its worker busy too long", async () => {
    const ctx = testContext({ preview: { maxCpuMs: 20, maxRenderedBytes: 256 * 1024 * 1024 } });
    const previews = createPreviewPool({ context: () => ctx, workers: 1, queue: 1 });
    runners.push(previews);
    const res = await request(testApp({ context: () => ctx, previews })).post("/preview").set("Content-Type", "application/yaml").send(pods(2000));
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ code: "PREVIEW_LIMIT", limit: "preview.maxCpuMs", message: expect.stringContaining("more than 20 ms") });
  });

  it("sends an answer of many slices whole: the bytes the preview wrote, with their length", async () => {
    const ctx = testContext({ preview: { maxRenderedBytes: 256 * 1024 * 1024 } });
    const previews = createPreviewPool({ context: () => ctx, workers: 1, queue: 1 });
    runners.push(previews);
    const body = pods(200);
    const res = await request(testApp({ context: () => ctx, previews })).post("/preview?output=yaml").set("Content-Type", "application/yaml").send(body);
    const inline = await createInlinePreviewRunner(() => ctx).run({ body: Buffer.from(body), format: "yaml", output: "yaml", params: {} });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/yaml; charset=utf-8");
    expect(res.text.length).toBeGreaterThan(3 * SEND_SLICE_BYTES);
    expect(Number(res.headers["content-length"])).toBe(Buffer.byteLength(res.text));
    expect(res.text).toBe(Buffer.from(inline.body).toString("utf8"));
  });

  it("answers 429 with Retry-After and a JSON body once the worker is busy and the queue is full", async () => {
    const ctx = testContext({ preview: { maxCpuMs: 30_000, maxRenderedBytes: 256 * 1024 * 1024 } });
    const previews = createPreviewPool({ context: () => ctx, workers: 1, queue: 0 });
    runners.push(previews);
    const app = testApp({ context: () => ctx, previews });
    const send = () => request(app).post("/preview?output=patch").set("Content-Type", "application/yaml").send(pods(300));
    const answers = await Promise.all([send(), send(), send()]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const busy = answers.find((r) => r.status === 429);
    expect(busy?.headers["retry-after"]).toBe("30");
    expect(busy?.body).toEqual({ code: "PREVIEW_BUSY", message: expect.stringContaining("busy") });
    // Afterwards there is room again.
    expect((await send()).status).toBe(200);
  });
});
