/**
 * Admission first, through the built server over real TLS: while eight connections post a
 * 3,000-document manifest to /preview back to back, admission reviews sent at a steady rate all get
 * an AdmissionReview, none times out, and their p99 stays under a generous guard (the benchmark,
 * `npm run bench:flood`, carries the real figure). The flood is shed with 429 and Retry-After once
 * the worker and its queue are full.
 */
import { Agent, request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { aPod, reviewFor } from "../support/builders.js";
import { type Started, assertBuilt, cleanupInjectors, startInjector } from "../support/injector-process.js";

beforeAll(assertBuilt);
afterAll(cleanupInjectors);

const FLOOD_CONNECTIONS = 8;
const FLOOD_SECONDS = 6;
const REVIEWS_PER_SECOND = 25;
/** The API server's webhook timeout: a review not answered by then has failed. */
const TIMEOUT_MS = 10_000;
/** A guard against starvation, far above the real figure (BENCHMARKS.md). */
const P99_GUARD_MS = 2_000;

function manifest(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) text += `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-${i}\nspec:\n  containers:\n  - name: web\n    image: nginx\n---\n`;
  return text;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly ms: number;
}

function send(s: Started, agent: Agent, path: string, type: string, body: string): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port: s.port, path, method: "POST", ca: s.ca, servername: "localhost", agent, timeout: TIMEOUT_MS, headers: { "Content-Type": type, "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - start }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("admission first: a /preview flood does not starve /inject", () => {
  it(
    `${FLOOD_CONNECTIONS} connections posting 3,000 documents to /preview; reviews at ${REVIEWS_PER_SECOND}/s all answered, p99 under ${P99_GUARD_MS} ms; the flood shed with 429`,
    async () => {
      const s = await startInjector({ preview: { workers: 1, queue: 2 } });
      const text = manifest(3000);
      const until = performance.now() + FLOOD_SECONDS * 1000;

      // The flood: each connection posts again as soon as it has its answer.
      const floodAgent = new Agent({ keepAlive: true, maxSockets: FLOOD_CONNECTIONS, ca: s.ca });
      const floodAnswers: Answer[] = [];
      const floodErrors: string[] = [];
      const flood = Array.from({ length: FLOOD_CONNECTIONS }, async () => {
        while (performance.now() < until) {
          try {
            floodAnswers.push(await send(s, floodAgent, "/preview?output=patch", "application/yaml", text));
          } catch (err) {
            floodErrors.push((err as Error).message);
          }
        }
      });

      // Admission at a steady rate, each review on its own schedule (not waiting for the last).
      const reviewAgent = new Agent({ keepAlive: true, maxSockets: 4, ca: s.ca });
      const reviews: Array<Promise<Answer | Error>> = [];
      await sleep(500); // let the flood fill the worker and its queue
      const first = performance.now();
      for (let i = 0; performance.now() < until; i++) {
        const review = JSON.stringify(reviewFor(aPod({ annotations: { "example.com/n": String(i) } })));
        reviews.push(send(s, reviewAgent, "/inject", "application/json", review).catch((e: unknown) => e as Error));
        await sleep(Math.max(0, first + ((i + 1) * 1000) / REVIEWS_PER_SECOND - performance.now()));
      }
      const answers = await Promise.all(reviews);
      await Promise.all(flood);
      floodAgent.destroy();
      reviewAgent.destroy();

      const failed = answers.filter((a): a is Error => a instanceof Error).map((e) => e.message);
      expect({ failed }).toEqual({ failed: [] });
      const ok = answers as Answer[];
      // This process also drives the flood, so its own pace may lag; half the planned reviews is plenty.
      expect(ok.length).toBeGreaterThanOrEqual((REVIEWS_PER_SECOND * FLOOD_SECONDS) / 2);
      for (const a of ok) {
        expect(a.status).toBe(200);
        expect(JSON.parse(a.body)).toMatchObject({ kind: "AdmissionReview", response: { allowed: true, patchType: "JSONPatch" } });
      }
      const sorted = ok.map((a) => a.ms).sort((x, y) => x - y);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? Infinity;
      process.stdout.write(`admission under a preview flood: ${ok.length} reviews, p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; flood answers ${floodAnswers.length}\n`);
      expect(p99).toBeLessThanOrEqual(P99_GUARD_MS);

      // The flood: shed with 429 and Retry-After once full, never a 5xx, never a dropped connection.
      expect({ floodErrors }).toEqual({ floodErrors: [] });
      const statuses = new Set(floodAnswers.map((a) => a.status));
      expect(statuses.has(429)).toBe(true);
      expect([...statuses].filter((st) => st >= 500)).toEqual([]);
      const shed = floodAnswers.find((a) => a.status === 429) as Answer;
      expect(Number(shed.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(shed.body)).toMatchObject({ code: "PREVIEW_BUSY" });
      // Every accepted preview was rendered or refused by a bound, in a worker.
      for (const a of floodAnswers.filter((x) => x.status !== 429)) expect([200, 413, 422]).toContain(a.status);
      s.stop();
    },
    60_000,
  );
});
