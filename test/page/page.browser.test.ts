/**
 * The preview page in a real browser: Debian's Chromium (/usr/bin/chromium; .ci/run installs it,
 * best effort, and this suite says it skipped without it), driven by playwright-core, against the
 * built injector started as `sidecar-injector serve` over TLS with its own certificate (which the
 * browser is told to accept). Every case checks that every request went to the injector's origin
 * and that the page logged no error, beyond the failed loads of the refusals the case provokes.
 * UPDATE_SCREENSHOT=1 writes the README's screenshot (docs/images/preview-page.png).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { parse } from "yaml";
import { DEFAULT_PROXY_TAG } from "../../src/config/config.js";
import { previewError } from "../../src/http/preview-route.js";
import { PreviewBusyError } from "../../src/preview/preview-pool.js";
import { type Started, assertBuilt, cleanupInjectors, startInjector } from "../support/injector-process.js";
import { colourStats, decodePng } from "../support/png.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = join(ROOT, "docs", "images", "preview-page.png");
const EXAMPLES = readFileSync(join(ROOT, "examples", "manifests.yaml"), "utf8");
/** The image the injector under test is configured with (not the default one): the page must show it, and inject it. */
const PROXY_IMAGE = `docker.io/istio/proxyv2:${DEFAULT_PROXY_TAG}-distroless`;
const MAX_BODY_BYTES = 64 * 1024;

// The browser's globals the callbacks given to page.evaluate use there (this file is typed for Node).
declare const document: { getElementById(id: string): { value: string } | null; querySelectorAll(selector: string): { length: number }; scrollingElement: { scrollWidth: number } };
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare class DataTransfer {
  readonly items: { add(file: File): void };
}
declare class File {
  constructor(parts: string[], name: string, options: { type: string });
}

const hasChromium = existsSync(CHROMIUM) && spawnSync(CHROMIUM, ["--headless", "--version"], { timeout: 20_000 }).status === 0;
if (!hasChromium) process.stdout.write("test/page/page.browser: SKIPPED — chromium is not installed (/usr/bin/chromium); .ci/run installs Debian's chromium package.\n");
const suite = hasChromium ? describe : describe.skip;

interface Visit {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request the page made (method and URL). */
  readonly requests: string[];
  readonly consoleErrors: Array<{ text: string; url: string }>;
  readonly pageErrors: string[];
}

suite("the preview page in Chromium", () => {
  let injector: Started;
  let browser: Browser;
  let origin: string;
  const visits: Visit[] = [];

  beforeAll(async () => {
    assertBuilt();
    injector = await startInjector({ server: { maxBodyBytes: MAX_BODY_BYTES }, nativeSidecars: "false", sidecar: { image: PROXY_IMAGE } });
    origin = `https://localhost:${injector.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    cleanupInjectors();
  });

  afterEach(async () => {
    for (const s of visits.splice(0)) await s.context.close();
  });

  async function open(viewport = { width: 1280, height: 900 }): Promise<Visit> {
    // The injector's certificate is its own (a local CA): the browser is told to accept it.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport, colorScheme: "light", acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    const page = await context.newPage();
    const visit: Visit = { context, page, requests: [], consoleErrors: [], pageErrors: [] };
    page.on("request", (r) => visit.requests.push(`${r.method()} ${r.url()}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") visit.consoleErrors.push({ text: m.text(), url: m.location().url });
    });
    page.on("pageerror", (e) => visit.pageErrors.push(e.message));
    visits.push(visit);
    await page.goto(`${origin}/`);
    await page.locator("#config dl").waitFor();
    return visit;
  }

  /**
   * Every request went to the injector's origin; no page error; no console error but the failed
   * loads of the refusals the case provoked (Chromium logs a 4xx answer to fetch as one), by status.
   */
  function expectClean(s: Visit, refusals: number[] = []): void {
    expect(s.requests.length).toBeGreaterThan(0);
    expect(s.requests.filter((r) => new URL(r.split(" ")[1] as string).origin !== origin)).toEqual([]);
    expect(s.pageErrors).toEqual([]);
    const failedLoads = s.consoleErrors.map((e) => {
      const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(e.text)?.[1];
      return status !== undefined && e.url.startsWith(`${origin}/preview?`) ? Number(status) : e.text;
    });
    expect(failedLoads).toEqual(refusals);
  }

  /** Paste, press Preview, and wait for the answer (the page is busy from the click until it has shown it). */
  async function run(s: Visit, text: string): Promise<void> {
    await s.page.fill("#manifests", text);
    await s.page.click("#run");
    await s.page.locator("#status:not(.busy)").waitFor();
  }

  const card = (s: Visit, title: string) => s.page.locator("article.object", { has: s.page.locator("h2", { hasText: title }) });

  it("examples/manifests.yaml: the Deployment injected (istio-proxy in the diff), the opted-out CronJob skipped with its reason, the ConfigMap left alone", async () => {
    const s = await open();
    await run(s, EXAMPLES);
    expect(await s.page.locator("#status").textContent()).toBe("3 objects: 1 not_applicable, 1 inject, 1 skip (read as YAML).");

    const web = card(s, "Deployment/web");
    expect(await web.getAttribute("data-decision")).toBe("inject");
    expect(await web.locator(".decision").textContent()).toBe("inject");
    expect(await web.locator(".reasons li").allTextContents()).toEqual(["namespace_enabled: Namespace shop is enabled for injection and the pod does not opt out."]);
    const added = await web.locator(".diff .added").allTextContents();
    expect(added).toContain("+        - name: istio-proxy");
    expect(added).toContain(`+          image: ${PROXY_IMAGE}`);
    expect(await web.locator(".diff .removed").count()).toBe(0);
    expect(await web.locator(".diff .context").count()).toBeGreaterThan(0);

    const report = card(s, "CronJob/report");
    expect(await report.getAttribute("data-decision")).toBe("skip");
    expect(await report.locator(".reasons li").allTextContents()).toEqual(["pod_label_disabled: The pod opts out with the label sidecar.istio.io/inject=false."]);
    expect(await report.locator(".diff").count()).toBe(0);
    expect(await report.locator(".manifest").count()).toBe(0);

    expect(await card(s, "ConfigMap/web-config").getAttribute("data-decision")).toBe("not_applicable");
    expectClean(s);
  });

  it("the injected manifest: Copy puts it on the clipboard, Download saves it; it is the injector's own, with the image its configuration corner shows", async () => {
    const s = await open();
    await run(s, EXAMPLES);
    const web = card(s, "Deployment/web");
    const shown = (await web.locator("pre.manifest").textContent()) ?? "";
    await web.getByRole("button", { name: "Copy" }).click();
    await web.getByRole("button", { name: "Copied" }).waitFor();
    expect(await s.page.evaluate(() => navigator.clipboard.readText())).toBe(shown);

    const [download] = await Promise.all([s.page.waitForEvent("download"), web.getByRole("button", { name: "Download" }).click()]);
    expect(download.suggestedFilename()).toBe("deployment-web.injected.yaml");
    const saved = readFileSync(await download.path(), "utf8");
    expect(saved).toBe(shown);
    const object = parse(saved) as { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };
    expect(object.spec.template.spec.containers.map((c) => c.name)).toEqual(["web", "istio-proxy"]);

    // The corner tells the truth: the image it names is the one the previews inject.
    const corner = Object.fromEntries(
      await s.page.locator("#config dt").evaluateAll((dts) => dts.map((dt) => [dt.textContent ?? "", dt.nextElementSibling?.textContent ?? ""])),
    ) as Record<string, string>;
    expect(corner).toMatchObject({ "proxy image": PROXY_IMAGE, revision: "default", "native sidecars": "off", "namespace label": "istio-injection=enabled" });
    expect(object.spec.template.spec.containers[1]?.image).toBe(corner["proxy image"]);
    expectClean(s);
  });

  it("Ctrl+Enter (and Cmd+Enter) runs the preview", async () => {
    const s = await open();
    await s.page.fill("#manifests", EXAMPLES);
    await s.page.keyboard.press("Control+Enter");
    await s.page.locator("article.object").first().waitFor();
    expect(await s.page.locator("article.object").count()).toBe(3);
    await s.page.fill("#manifests", EXAMPLES.split("---\n")[1] as string);
    await s.page.keyboard.press("Meta+Enter");
    await s.page.waitForFunction(() => document.querySelectorAll("article.object").length === 1);
    expect(s.requests.filter((r) => r.startsWith("POST ")).map((r) => new URL(r.slice(5)).pathname)).toEqual(["/preview", "/preview"]);
    expectClean(s);
  });

  it("invalid YAML: the document and the parser's line, and a button that shows that line", async () => {
    const text = `${EXAMPLES.split("---\n")[0]}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations: [x\nspec: {}\n`;
    // The parser stops at the line after the unclosed list: the line of `spec: {}` in the whole text.
    const line = text.split("\n").indexOf("spec: {}") + 1;
    const s = await open();
    await run(s, text);
    const failure = s.page.locator(".failure");
    expect(await failure.locator("h2").textContent()).toBe("The manifests could not be read:");
    const problem = failure.locator(".problems li");
    expect(await problem.locator(".where").textContent()).toBe("documents[1]");
    expect(await problem.locator(".at").textContent()).toBe(`line ${line}, column 1`);
    expect(await problem.textContent()).toContain("not valid YAML:");
    await problem.getByRole("button", { name: `Show line ${line}` }).click();
    const selected = await s.page.locator("#manifests").evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
    expect(selected).toBe("spec: {}");
    expectClean(s, [400]);
  });

  it("an invalid annotation: the pod denied, the problem naming its document and the annotation", async () => {
    const deployment = (EXAMPLES.split("---\n")[1] as string).replace("      labels:\n        app: web\n", "      labels:\n        app: web\n      annotations:\n        sidecar.istio.io/proxyCPU: lots\n");
    const s = await open();
    await run(s, deployment);
    const web = card(s, "Deployment/web");
    expect(await web.getAttribute("data-decision")).toBe("deny");
    const failure = web.locator(".failure");
    expect(await failure.locator("h3").textContent()).toBe("The webhook would refuse this pod:");
    expect(await failure.locator("code").textContent()).toBe("INVALID_ANNOTATION");
    expect(await failure.locator(".where").textContent()).toBe("documents[0]");
    expect(await failure.locator(".problems li").textContent()).toContain('sidecar.istio.io/proxyCPU="lots" is not valid: expected a Kubernetes quantity');
    expect(await web.locator(".manifest").count()).toBe(0);
    expectClean(s);
  });

  it("413 and 429 are sentences, never a blank result", async () => {
    const s = await open();
    // A file larger than the injector takes (chosen: typing thousands of lines into a text area is slow in any browser).
    const big = `${EXAMPLES}${"# padding\n".repeat(MAX_BODY_BYTES / 10)}`;
    await s.page.setInputFiles("#file", { name: "big.yaml", mimeType: "application/yaml", buffer: Buffer.from(big) });
    await s.page.locator("#status", { hasText: "Read big.yaml" }).waitFor();
    await s.page.click("#run");
    await s.page.locator("#status:not(.busy)").waitFor();
    expect(await s.page.locator(".failure h2").textContent()).toBe(`The manifests are too large for this injector: the request is larger than ${MAX_BODY_BYTES} bytes (server.maxBodyBytes).`);

    // Every worker busy: the injector's own 429 answer, given by the browser's network layer for it.
    const busy = previewError(new PreviewBusyError("every preview worker is busy and the queue is full: try again later", 2));
    await s.page.route("**/preview?*", (route) =>
      route.fulfill({ status: busy?.status, headers: { "Content-Type": "application/json", ...busy?.headers }, body: JSON.stringify(busy?.body) }),
    );
    await run(s, EXAMPLES);
    await s.page.locator(".failure h2", { hasText: "busy" }).waitFor();
    expect(await s.page.locator(".failure h2").textContent()).toBe("This injector is busy with other previews (admission comes first): try again in 2 seconds.");
    expect(await s.page.locator("#status").textContent()).toBe("The preview was refused (HTTP 429).");
    expectClean(s, [413, 429]);
  });

  it("reads a chosen file and a dropped file (JSON too); an empty text asks for manifests and sends nothing", async () => {
    const s = await open();
    await s.page.click("#run");
    expect(await s.page.locator("#status").textContent()).toBe("Paste, choose or drop one or more manifests first.");
    expect(s.requests.some((r) => r.startsWith("POST "))).toBe(false);

    await s.page.setInputFiles("#file", join(ROOT, "examples", "manifests.yaml"));
    await s.page.waitForFunction((expected) => document.getElementById("manifests")?.value === expected, EXAMPLES);
    await s.page.click("#run");
    await s.page.locator("article.object").nth(2).waitFor();

    const pod = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "dropped" }, spec: { containers: [{ name: "app", image: "nginx" }] } }, null, 2);
    const transfer = await s.page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], "pod.json", { type: "application/json" }));
      return dt;
    }, pod);
    await s.page.dispatchEvent("#manifests", "drop", { dataTransfer: transfer });
    await s.page.waitForFunction((expected) => document.getElementById("manifests")?.value === expected, pod);
    await s.page.keyboard.press("Control+Enter");
    await s.page.locator("#status", { hasText: "(read as JSON)" }).waitFor();
    expect(await card(s, "Pod/dropped").getAttribute("data-decision")).toBe("inject");
    expectClean(s);
  });

  it("at 375 px wide nothing scrolls sideways, before and after a preview", async () => {
    const s = await open({ width: 375, height: 800 });
    const overflow = () => s.page.evaluate(() => document.scrollingElement.scrollWidth);
    expect(await overflow()).toBeLessThanOrEqual(375);
    await run(s, EXAMPLES);
    await card(s, "Deployment/web").locator(".diff").waitFor();
    expect(await overflow()).toBeLessThanOrEqual(375);
    await run(s, "a: [\n");
    expect(await overflow()).toBeLessThanOrEqual(375);
    expectClean(s, [400]);
  });

  it("a screenshot of the results is a real picture, not a blank page", async () => {
    const s = await open({ width: 1100, height: 1100 });
    await s.page.setContent("<html><body></body></html>");
    const blank = colourStats(decodePng(await s.page.screenshot()));
    expect(blank.distinctColours).toBe(1);

    await s.page.goto(`${origin}/`);
    await s.page.locator("#config dl").waitFor();
    await run(s, EXAMPLES);
    // The Deployment's card in view, below the form.
    await s.page.locator("textarea").evaluate((t) => {
      t.rows = 8;
      t.scrollTop = 0;
    });
    const shot = await s.page.screenshot();
    const png = decodePng(shot);
    expect({ width: png.width, height: png.height }).toEqual({ width: 1100, height: 1100 });
    const stats = colourStats(png);
    expect(stats.distinctColours).toBeGreaterThan(50);
    expect(stats.brightnessStdDev).toBeGreaterThan(10);
    if (process.env.UPDATE_SCREENSHOT === "1") writeFileSync(SCREENSHOT, shot);
    expectClean(s);
  });
});
