import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../../test/support/fake-apiserver.js";
import { ApiRequestError, MAX_LIST_RESTARTS, getJson, listInPages } from "./pager.js";

let fake: FakeApiServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function withPods(n: number, namespaces = 3): Promise<FakeApiServer> {
  fake = await startFakeApiServer();
  for (let i = 0; i < n; i++) {
    fake.put(Kinds.Pod, { metadata: { name: `p-${String(i).padStart(5, "0")}`, namespace: `ns-${i % namespaces}` }, spec: { containers: [{ name: "app" }] } });
  }
  return fake;
}

const names = (items: ReadonlyArray<Record<string, unknown>>) => items.map((o) => (o.metadata as { namespace: string; name: string })).map((m) => `${m.namespace}/${m.name}`);

describe("listInPages (real KubeConfig against the in-process API server)", () => {
  it("reads a list in pages of the asked size, every object once, each page handed over as it comes", async () => {
    const server = await withPods(1234);
    const pages: number[] = [];
    const seen: Array<Record<string, unknown>> = [];
    const result = await listInPages(server.kubeConfig(), "/api/v1/pods", {
      pageSize: 500,
      onPage: (items) => {
        pages.push(items.length);
        seen.push(...items);
      },
    });
    expect(pages).toEqual([500, 500, 234]);
    expect(result).toMatchObject({ pages: 3, restarts: 0 });
    expect(typeof result.resourceVersion).toBe("string");
    expect(new Set(names(seen)).size).toBe(1234);
    expect(server.listCalls.map((c) => [c.limit, c.continued, c.items])).toEqual([
      [500, false, 500],
      [500, true, 500],
      [500, true, 234],
    ]);
  });

  it("asks for kubectl's page size (500) by default", async () => {
    const server = await withPods(501);
    await listInPages(server.kubeConfig(), "/api/v1/pods", { onPage: () => undefined });
    expect(server.listCalls.map((c) => c.limit)).toEqual([500, 500]);
  });

  it("starts again in pages when a continue token expires (410 Expired), and says so to drop what was kept", async () => {
    const server = await withPods(1200);
    let calls = 0;
    const kept: Array<Record<string, unknown>> = [];
    let restarts = 0;
    const result = await listInPages(server.kubeConfig(), "/api/v1/pods", {
      pageSize: 500,
      // The history is compacted after the first page: the second page's token is too old.
      get: async (kc, path, query) => {
        const page = await getJson(kc, path, query);
        if (++calls === 1) {
          server.put(Kinds.Namespace, { metadata: { name: `written-${calls}` } });
          server.compact();
        }
        return page;
      },
      onPage: (items) => void kept.push(...items),
      onRestart: () => {
        restarts++;
        kept.length = 0;
      },
    });
    expect(restarts).toBe(1);
    expect(result.restarts).toBe(1);
    expect(new Set(names(kept)).size).toBe(1200);
    expect(kept).toHaveLength(1200);
    // Never a full list in one request: every request after the expiry is paged too.
    expect(server.listCalls.every((c) => c.limit === 500)).toBe(true);
    expect(server.listCalls.filter((c) => !c.continued)).toHaveLength(2);
  });

  it(`gives up after ${MAX_LIST_RESTARTS} restarts with a sentence that says why`, async () => {
    const server = await withPods(600);
    const err = await listInPages(server.kubeConfig(), "/api/v1/pods", {
      pageSize: 500,
      get: async (kc, path, query) => {
        const page = await getJson(kc, path, query);
        // every token is already too old when it is used
        server.put(Kinds.Namespace, { metadata: { name: `written-${server.requests.length}` } });
        server.compact();
        return page;
      },
      onPage: () => undefined,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect((err as ApiRequestError).httpStatus).toBe(410);
    expect((err as Error).message).toMatch(/continue token expired 4 times/);
  });

  it.each([
    ["a refused list", { code: 403, reason: "Forbidden", message: 'pods is forbidden: User "u" cannot list resource "pods"' }],
    ["an expired first page (not a continue token: not retried)", { code: 410, reason: "Expired", message: "too old resource version" }],
    ["a server error", { code: 500, reason: "InternalError", message: "etcdserver: request timed out" }],
  ])("%s is an ApiRequestError with the API server's status, reason and message", async (_name, answer) => {
    fake = await startFakeApiServer({
      intercept: (req, res) => {
        if (!req.url?.startsWith("/api/v1/pods")) return false;
        res.writeHead(answer.code, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", ...answer }));
        return true;
      },
    });
    let pages = 0;
    const err = await listInPages(fake.kubeConfig(), "/api/v1/pods", { onPage: () => void pages++ }).catch((e: unknown) => e);
    expect(pages).toBe(0);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect(err).toMatchObject({ httpStatus: answer.code, statusReason: answer.reason, detail: answer.message });
    expect(fake.requests.filter((r) => r.startsWith("GET /api/v1/pods"))).toHaveLength(1);
  });

  it("an API server that cannot be reached is an ApiRequestError naming the path", async () => {
    const server = await withPods(1);
    const kc = server.kubeConfig();
    await server.close();
    fake = undefined;
    const err = await listInPages(kc, "/api/v1/pods", { onPage: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect((err as Error).message).toMatch(/^GET \/api\/v1\/pods failed: /);
  });
});

/**
 * The in-process API server's pages and expired tokens, read by kubectl itself (where installed):
 * what listInPages is tested against is what kubectl reads from a real API server.
 */
const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
if (!kubectl) process.stdout.write("src/kube/pager: kubectl is not installed here: the check of the test API server's pages with kubectl is skipped.\n");

describe("the test API server's pages, as kubectl reads them", () => {
  const run = (kubeconfig: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn("kubectl", ["--kubeconfig", kubeconfig, "get", "pods", "-A", "--chunk-size=500", "-o", "name"]);
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("exit", (code) => resolve({ code, out, err }));
    });

  (kubectl ? it : it.skip)("kubectl get --chunk-size=500 reads every pod through the continue tokens; an expired token is kubectl's Expired error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pager-kubectl-"));
    try {
      let pages = 0;
      let expire = false;
      const server = await startFakeApiServer({
        intercept: (req) => {
          if (req.url?.startsWith("/api/v1/pods?") && req.url.includes("limit=") && ++pages === 2 && expire) {
            server.put(Kinds.Namespace, { metadata: { name: "written" } });
            server.compact();
          }
          return false;
        },
      });
      fake = server;
      for (let i = 0; i < 1234; i++) server.put(Kinds.Pod, { metadata: { name: `p-${i}`, namespace: `ns-${i % 3}` }, spec: { containers: [{ name: "app" }] } });
      const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), server.url);
      const whole = await run(kubeconfig);
      expect(whole.code).toBe(0);
      expect(new Set(whole.out.split("\n").filter((l) => l !== "")).size).toBe(1234);
      expect(server.listCalls.map((c) => [c.limit, c.continued, c.items])).toEqual([
        [500, false, 500],
        [500, true, 500],
        [500, true, 234],
      ]);
      // kubectl stops with the API server's Expired error (after printing the first page);
      // listInPages starts again in pages instead (above).
      pages = 0;
      expire = true;
      const expired = await run(kubeconfig);
      expect(expired.code).toBe(1);
      expect(expired.err).toContain("Error from server (Expired): The provided continue parameter is too old");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
