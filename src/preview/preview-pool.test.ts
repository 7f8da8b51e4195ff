/**
 * The preview pool with real worker threads (they run the build in dist/, which `npm test` makes
 * first): the same answer as inline, the live configuration after a reload, the queue bound, the
 * worker-time bound with the worker replaced, and close.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "@jest/globals";
import { loadConfig } from "../config/load-config.js";
import { PreviewLimit, PreviewLimitError } from "../errors.js";
import type { InjectionContext } from "../injection/pipeline.js";
import { compileTemplate } from "../injection/template.js";
import type { PreviewJob } from "./preview-job.js";
import { PreviewBusyError, type PreviewRunner, createInlinePreviewRunner, createPreviewPool } from "./preview-pool.js";

function contextWith(file: unknown): InjectionContext {
  return { template: compileTemplate(loadConfig({ env: {}, file: { content: file, source: "test" } })), clusterSupportsNativeSidecars: undefined };
}

/** n small Pods as YAML documents. */
function manifest(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) text += `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-${i}\n  namespace: shop\nspec:\n  containers:\n  - name: web\n    image: nginx\n---\n`;
  return text;
}

const job = (text: string, output: PreviewJob["output"] = "json"): PreviewJob => ({ body: Buffer.from(text), format: "yaml", output, params: {} });
const text = (body: Uint8Array | string): string => (typeof body === "string" ? body : Buffer.from(body).toString("utf8"));

const pools: PreviewRunner[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
function pool(context: () => InjectionContext, workers = 1, queue = 4): PreviewRunner {
  const p = createPreviewPool({ context, workers, queue });
  pools.push(p);
  return p;
}

describe("createPreviewPool", () => {
  it.each(["json", "yaml", "diff", "patch"] as const)("answers output=%s byte for byte as the inline runner does", async (output) => {
    const ctx = contextWith({});
    const fromWorker = await pool(() => ctx).run(job(manifest(3), output));
    const inline = await createInlinePreviewRunner(() => ctx).run(job(manifest(3), output));
    expect({ status: fromWorker.status, type: fromWorker.contentType, body: text(fromWorker.body) }).toEqual({ status: inline.status, type: inline.contentType, body: text(inline.body) });
    expect(text(fromWorker.body)).toContain("istio-proxy");
  });

  it("renders with the live configuration: a reloaded sidecar image reaches the worker", async () => {
    let ctx = contextWith({ sidecar: { image: "registry.example/proxy:1" } });
    const p = pool(() => ctx);
    expect(text((await p.run(job(manifest(1), "yaml"))).body)).toContain("registry.example/proxy:1");
    ctx = contextWith({ sidecar: { image: "registry.example/proxy:2" } });
    const after = text((await p.run(job(manifest(1), "yaml"))).body);
    expect(after).toContain("registry.example/proxy:2");
    expect(after).not.toContain("registry.example/proxy:1");
  });

  it("refuses with PreviewBusyError (Retry-After from preview.maxCpuMs) once the worker is busy and the queue is full", async () => {
    const ctx = contextWith({ preview: { maxCpuMs: 60_000, maxRenderedBytes: 512 * 1024 * 1024 } });
    const p = pool(() => ctx, 1, 1);
    const big = job(manifest(400));
    const first = p.run(big);
    const second = p.run(big);
    expect(p.hasRoom()).toBe(false);
    const third = await p.run(big).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(PreviewBusyError);
    expect((third as PreviewBusyError).retryAfterSeconds).toBe(60);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(p.hasRoom()).toBe(true);
  });

  it("answers 422 naming preview.maxCpuMs when a job keeps its worker busy too long, and serves the next job on a new worker", async () => {
    let ctx = contextWith({ preview: { maxCpuMs: 50, maxRenderedBytes: 512 * 1024 * 1024 } });
    const p = pool(() => ctx);
    const err = await p.run(job(manifest(3000))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreviewLimitError);
    expect({ status: (err as PreviewLimitError).status, limit: (err as PreviewLimitError).limit }).toEqual({ status: 422, limit: PreviewLimit.CpuMs });
    expect((err as Error).message).toContain("preview.maxCpuMs");
    // The next job, on the replacement worker, with a budget a cold worker on a busy machine stays
    // within (its first job can itself keep it busy for more than 50 ms).
    ctx = contextWith({ preview: { maxCpuMs: 60_000, maxRenderedBytes: 512 * 1024 * 1024 } });
    const next = await p.run(job(manifest(1)));
    expect(next.status).toBe(200);
  });

  (process.platform === "linux" ? it : it.skip)("runs its workers at a lower priority than the thread that answers admission (Linux)", async () => {
    const ctx = contextWith({});
    const p = pool(() => ctx);
    await p.run(job(manifest(1)));
    const niceOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    };
    const nices = readdirSync("/proc/self/task").map(niceOf);
    expect(niceOf(String(process.pid))).toBe(0);
    expect(nices).toContain(10);
  });

  it("passes the caller's problems on as the errors the route maps (invalid input: 400)", async () => {
    const ctx = contextWith({});
    const err = await pool(() => ctx).run(job("kind: [")).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: "INVALID_INPUT" });
  });

  it("a worker that cannot start fails the waiting jobs and is restarted after a pause, not in a loop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "preview-worker-"));
    try {
      const script = join(dir, "broken-worker.mjs");
      writeFileSync(script, 'throw new Error("cannot start");\n');
      const failures: string[] = [];
      const ctx = contextWith({});
      const p = createPreviewPool({ context: () => ctx, workers: 1, queue: 1, workerUrl: pathToFileURL(script), onWorkerError: (e) => failures.push(e.message) });
      pools.push(p);
      const err = await p.run(job(manifest(1))).catch((e: unknown) => e);
      expect((err as Error).message).toContain("cannot start");
      await new Promise((r) => setTimeout(r, 300));
      expect(failures).toEqual(["cannot start"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("close() refuses waiting jobs and later ones", async () => {
    const ctx = contextWith({ preview: { maxCpuMs: 60_000, maxRenderedBytes: 512 * 1024 * 1024 } });
    const p = createPreviewPool({ context: () => ctx, workers: 1, queue: 2 });
    const running = p.run(job(manifest(300))).catch((e: unknown) => e);
    const waiting = p.run(job(manifest(1))).catch((e: unknown) => e);
    await p.close();
    expect(await waiting).toBeInstanceOf(PreviewBusyError);
    expect(await running).toBeInstanceOf(PreviewBusyError);
    expect(await p.run(job(manifest(1))).catch((e: unknown) => e)).toBeInstanceOf(PreviewBusyError);
  });
});
