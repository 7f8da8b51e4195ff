/**
 * The preview page over HTTP (supertest): GET / and its Content-Security-Policy, every file the
 * page loads (from memory, with an ETag, nothing from another origin, no inline script or style),
 * GET /config/summary (the live configuration, and nothing secret), where they are served (with
 * /preview), and admission answered as before beside them. The browser suite
 * (test/page/page.browser.test.ts) drives the same page in Chromium.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import request from "supertest";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { PAGE_CSP, type PageAssets, loadPageAssets } from "../../src/http/page-route.js";
import { type ConfigSummary, summarizeConfig } from "../../src/preview/config-summary.js";
import { packageVersion } from "../../src/version.js";
import { testApp, testContext } from "../support/builders.js";
import { assertBuilt } from "../support/injector-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
const PAGE_DIR = join(ROOT, "dist", "page");
assertBuilt();
const page: PageAssets = loadPageAssets(PAGE_DIR);
const app = testApp({ page });

/** The files the page loads: the document's script and style sheet, then every module they import, followed. */
async function loadedFiles(): Promise<Map<string, request.Response>> {
  const seen = new Map<string, request.Response>();
  const queue = ["/"];
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (seen.has(path)) continue;
    const res = await request(app).get(path);
    seen.set(path, res);
    const text = res.text ?? "";
    const refs = path === "/" ? [...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string) : [...text.matchAll(/\bfrom "([^"]+)"/g)].map((m) => new URL(m[1] as string, `https://page${path}`).pathname);
    queue.push(...refs.filter((r) => r.startsWith("/")));
  }
  return seen;
}

describe("GET /", () => {
  it("serves the page with a strict Content-Security-Policy", async () => {
    const res = await request(app).get("/");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toBe(PAGE_CSP);
    const directives = new Map(PAGE_CSP.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1).join(" ")]));
    expect(Object.fromEntries(directives)).toEqual({
      "default-src": "'none'",
      "script-src": "'self'",
      "style-src": "'self'",
      "connect-src": "'self'",
      "img-src": "'self' data:",
      "form-action": "'none'",
      "frame-ancestors": "'none'",
      "base-uri": "'none'",
    });
    expect(res.headers).toMatchObject({ "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-cache" });
    for (const id of ["manifests", "file", "namespace", "labels", "run", "results", "config"]) expect(res.text).toContain(`id="${id}"`);
    expect(res.text).toContain('value="istio-injection=enabled"');
  });

  it("docs/endpoints.md states the policy the page is served with", () => {
    const docs = readFileSync(join(ROOT, "docs", "endpoints.md"), "utf8").replace(/\s+/g, " ");
    expect(docs).toContain(`Content-Security-Policy that holds them to it: \`${PAGE_CSP}\``);
  });

  it("every file the page loads is served, with its type, the same policy and an ETag", async () => {
    const files = await loadedFiles();
    expect([...files.keys()].sort()).toEqual(["/", "/page/answers.js", "/page/main.js", "/page/page.css", "/page/to-yaml.js", "/page/unified-diff.js"]);
    for (const [path, res] of files) {
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers["content-type"]).toBe(path === "/" ? "text/html; charset=utf-8" : path.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
      expect(res.headers["content-security-policy"]).toBe(PAGE_CSP);
      expect(res.headers.etag).toMatch(/^"[\w-]{22}"$/);
    }
  });

  it("every compiled module of src/page/ is one the page loads (none missing, none left over)", async () => {
    const files = await loadedFiles();
    const compiled = readdirSync(PAGE_DIR).filter((n) => n.endsWith(".js")).map((n) => `/page/${n}`);
    const sources = readdirSync(join(ROOT, "src", "page")).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts")).map((n) => `/page/${n.replace(/\.ts$/, ".js")}`);
    expect(compiled.sort()).toEqual(sources.sort());
    expect([...files.keys()].filter((p) => p.endsWith(".js")).sort()).toEqual(sources.sort());
  });

  it("nothing the page loads names another origin, and nothing is inline", async () => {
    const files = await loadedFiles();
    for (const [path, res] of files) {
      const text = res.text;
      expect({ path, urls: text.match(/\b(?:https?:|wss?:|ftp:)\/\/[^\s"'`)]*/g) ?? [] }).toEqual({ path, urls: [] });
      expect({ path, protocolRelative: text.match(/(?:src|href|url)\s*[=(]\s*["']?\/\/[^\s"')]*/g) ?? [] }).toEqual({ path, protocolRelative: [] });
      expect({ path, imports: text.match(/@import|importScripts|new Worker|eval\(|new Function/g) ?? [] }).toEqual({ path, imports: [] });
    }
    const html = files.get("/")?.text ?? "";
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).toEqual([]);
    expect(html.match(/<style|\sstyle=|\son[a-z]+=/g) ?? []).toEqual([]);
  });

  it("the browser code imports only its own modules (it runs in the browser, not in Node)", () => {
    const dir = join(ROOT, "src", "page");
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const specs = [...readFileSync(join(dir, name), "utf8").matchAll(/\bfrom "([^"]+)"/g)].map((m) => m[1] as string);
      expect({ name, outside: specs.filter((s) => !/^\.\/[a-z-]+\.js$/.test(s)) }).toEqual({ name, outside: [] });
    }
  });

  it("answers 304 to a matching If-None-Match, and HEAD with headers only", async () => {
    for (const path of ["/", "/page/main.js", "/page/page.css"]) {
      const first = await request(app).get(path);
      const again = await request(app).get(path).set("If-None-Match", `"other", ${first.headers.etag as string}`);
      expect(again.status).toBe(304);
      expect(again.text ?? "").toBe("");
      const head = await request(app).head(path);
      expect(head.status).toBe(200);
      expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(first.text)));
      expect(head.text ?? "").toBe("");
    }
  });

  it("an unknown page file is a 404 with a JSON body", async () => {
    const res = await request(app).get("/page/nothing.js");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: "NOT_FOUND", message: "no page file /page/nothing.js" });
  });

  it("the files are read once, when loaded: a missing build says how to make it", () => {
    expect(() => loadPageAssets(join(ROOT, "src"))).toThrow(/main\.js.*npm run build compiles src\/page\/ into dist\/page\//);
    expect(() => loadPageAssets(join(ROOT, "no-such-dir"))).toThrow(/npm run build/);
  });
});

describe("GET /config/summary", () => {
  it("is the configuration the previews render with", async () => {
    const ctx = testContext({ revision: "canary", nativeSidecars: "true", sidecar: { image: "proxy.example/istio/proxyv2:1.30.3-page" }, templates: { extra: { metadata: { labels: { team: "a" } } } } });
    const res = await request(testApp({ page, context: () => ctx })).get("/config/summary");
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toEqual(summarizeConfig(ctx, packageVersion()));
    expect(res.body).toMatchObject({
      revision: "canary",
      proxyImage: "proxy.example/istio/proxyv2:1.30.3-page",
      nativeSidecars: { setting: "true", on: true },
      templates: { default: ["sidecar"], available: ["sidecar", "gateway", "grpc-agent", "grpc-simple", "extra"] },
    });
  });

  it("follows a reloaded configuration, as the previews do", async () => {
    let ctx = testContext();
    const live = testApp({ page, context: () => ctx });
    expect(((await request(live).get("/config/summary")).body as ConfigSummary).proxyImage).toBe(ctx.template.config.sidecar.image);
    ctx = testContext({ sidecar: { image: "proxy.example/reloaded:2" } });
    expect(((await request(live).get("/config/summary")).body as ConfigSummary).proxyImage).toBe("proxy.example/reloaded:2");
    const preview = await request(live).post("/preview").set("Content-Type", "application/yaml").send("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: nginx}]\n");
    expect(JSON.stringify(preview.body)).toContain('"image":"proxy.example/reloaded:2"');
  });

  it("holds no secret and nothing of the cluster: settings people need, nothing else", async () => {
    const secrets = {
      tls: { mode: "files", certFile: "/secret/tls.crt", keyFile: "/secret/tls.key", caFile: "/secret/ca.crt", secretName: "hidden-certs" },
      service: { name: "hidden-svc", namespace: "hidden-ns" },
      server: { certDir: "/hidden/certs" },
      ignoredNamespaces: ["hidden-ignored"],
      sidecar: { imagePullSecrets: ["hidden-pull-secret"], discoveryAddress: "istiod.hidden-mesh.svc:15012", clusterId: "hidden-cluster", trustDomain: "hidden.domain", proxyConfig: { proxyMetadata: { TOKEN: "hidden-value" } } },
    };
    const ctx: InjectionContext = { ...testContext(secrets), namespaceLabels: () => ({ "hidden-label": "hidden" }) };
    const res = await request(testApp({ page, context: () => ctx })).get("/config/summary");
    expect(res.status).toBe(200);
    expect(res.text).not.toMatch(/hidden|secret|BEGIN|\.crt|\.key/i);
    expect(Object.keys(res.body as object).sort()).toEqual(["cni", "initImage", "namespaceLabel", "nativeSidecars", "policy", "proxyImage", "revision", "templateHash", "templates", "version"]);
  });
});

describe("where the page is served", () => {
  it("with /preview: a replica of the reports role serves neither", async () => {
    const reports = testApp({ page, admission: false, previews: undefined });
    for (const path of ["/", "/config/summary"]) {
      const res = await request(reports).get(path);
      expect(res.status).toBe(404);
      expect((res.body as { message: string }).message).toContain("served by the webhook's replicas");
    }
    expect((await request(reports).get("/page/main.js")).status).toBe(404);
  });

  it("not without its files", async () => {
    const bare = testApp();
    expect((await request(bare).get("/")).status).toBe(404);
    expect((await request(bare).get("/config/summary")).status).toBe(404);
  });

  it("admission is answered as before, the page beside it", async () => {
    const review = readFileSync(join(ROOT, "examples", "review.json"), "utf8");
    const [inject, home] = await Promise.all([request(app).post("/inject").set("Content-Type", "application/json").send(review), request(app).get("/")]);
    expect(inject.status).toBe(200);
    expect(inject.body.response).toMatchObject({ allowed: true, patchType: "JSONPatch", auditAnnotations: { decision: "inject" } });
    expect(inject.headers["content-security-policy"]).toBeUndefined();
    expect(home.status).toBe(200);
    const post = await request(app).post("/").send("x");
    expect(post.status).toBe(404);
  });
});
