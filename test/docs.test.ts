/**
 * The documentation (README.md and docs/) documents every stable code a user can meet: reason
 * codes (logs, warnings, audit annotations), error codes, annotations and the HTTP error codes of
 * the admission route; and every relative link in it, to a file or to a heading, resolves.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { Annotation } from "../src/config/config.js";
import { ErrorCode } from "../src/errors.js";
import { ANNOTATION_VALIDATORS } from "../src/injection/annotations.js";
import { ReasonCode } from "../src/injection/reasons.js";
import { API_CALLS, NON_RESOURCE_CALLS } from "../src/kube/api-calls.js";
import { DEFAULT_CONFIG } from "../src/config/config.js";
import { CertificateEvents } from "../src/metrics.js";
import { RestartOutcome } from "../src/rollout/execute.js";
import { UntouchedReason } from "../src/rollout/plan.js";

const ROOT = join(import.meta.dirname, "..");
/** The pages people read: the front page, the task pages, the benchmarks. */
const PAGES = ["README.md", "BENCHMARKS.md", ...readdirSync(join(ROOT, "docs")).filter((n) => n.endsWith(".md")).map((n) => `docs/${n}`)];
const text = (page: string) => readFileSync(join(ROOT, page), "utf8");
/** README.md and docs/ together: a fact may live on whichever page its task belongs to. */
const readme = ["README.md", ...PAGES.filter((p) => p.startsWith("docs/"))].map(text).join("\n");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function anchorsOf(page: string): Set<string> {
  const body = text(page).replace(/```[\s\S]*?```/g, "");
  return new Set([...body.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

/** Every relative link of a page (code blocks and inline code aside), as [target file, anchor]. */
function linksOf(page: string): Array<{ link: string; file: string; anchor: string | undefined }> {
  const body = text(page).replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...body.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((l) => !/^[a-z]+:/.test(l))
    .map((link) => {
      const [path = "", anchor] = link.split("#");
      const file = path === "" ? page : relative(ROOT, resolve(dirname(join(ROOT, page)), path));
      return { link, file, anchor };
    });
}

function httpCodesInSource(): string[] {
  const dir = join(ROOT, "src", "http");
  const codes = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/"([A-Z][A-Z_]{3,})"/g)) if (m[1]) codes.add(m[1]);
  }
  return [...codes];
}

/** How the table names the objects a name-restricted row may touch. */
const CALL_NAMES: Readonly<Record<NonNullable<(typeof API_CALLS)[number]["name"]>, string>> = {
  secret: "`tls.secretName`",
  webhookConfig: "`tls.webhookConfigName`",
  istioConfigMaps: "`injectorConfigMap`, `meshConfigMap`",
};

/** The README's table of Kubernetes API calls, rendered from the one table in the code. */
export function apiCallsTable(): string {
  const scope = (c: (typeof API_CALLS)[number]) =>
    `${c.scope === "cluster" ? "cluster-wide" : c.scope === "istio-namespace" ? "`istio.fromCluster.namespace`" : "own namespace"}${c.name ? `, only ${CALL_NAMES[c.name]}` : ""}`;
  const rows = [
    "| resource | verbs | scope | needed for | why |",
    "|---|---|---|---|---|",
    ...API_CALLS.map(
      (c) => `| \`${c.resource}${c.group ? `.${c.group}` : ""}\` | ${c.verbs.map((v) => `\`${v}\``).join(", ")} | ${scope(c)} | ${c.feature} | ${c.why} |`,
    ),
    ...NON_RESOURCE_CALLS.map((c) => `| \`${c.path}\` (non-resource) | ${c.verbs.map((v) => `\`${v}\``).join(", ")} | cluster-wide | always | ${c.why} |`),
  ];
  return rows.join("\n");
}

describe("links", () => {
  it.each(PAGES)("every relative link of %s resolves (file and heading)", (page) => {
    const broken = linksOf(page).filter(({ file, anchor }) => !existsSync(join(ROOT, file)) || (anchor !== undefined && file.endsWith(".md") && !anchorsOf(file).has(anchor)));
    expect(broken.map((b) => b.link)).toEqual([]);
  });

  it("the check does catch a broken link and a missing heading", () => {
    expect(anchorOf("Certificates (`tls.mode`)")).toBe("certificates-tlsmode");
    expect(anchorsOf("README.md").has("no-such-heading")).toBe(false);
    expect(existsSync(join(ROOT, "docs", "no-such-page.md"))).toBe(false);
  });
});

/**
 * The `sidecar-injector` command lines of the fenced blocks, as argument lists: a `$ ` prompt,
 * `npx`, comments, and what follows a pipe, a redirection or `&` dropped; `$(...)` kept as one word.
 */
export function documentedCommands(page: string): string[][] {
  const blocks = [...text(page).matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks.flatMap((block) =>
    block
      .split("\n")
      .map((line) => line.replace(/^\$ /, "").replace(/^npx /, "").trim())
      .filter((line) => /^sidecar-injector( |$)/.test(line))
      .map((line) => {
        const words = line.replace(/\s+#.*$/, "").match(/"[^"]*"|'[^']*'|\$\([^)]*\)|[^\s]+/g) ?? [];
        const end = words.findIndex((w) => ["|", ">", ">>", "&", "&&", ";", "2>&1"].includes(w));
        return (end < 0 ? words : words.slice(0, end)).slice(1).map((w) => w.replace(/^(["'])(.*)\1$/, "$2"));
      }),
  );
}

/** The settings docs/configuration.md's table names, its first column read as people read it. */
export function documentedSettings(): Set<string> {
  const page = text("docs/configuration.md");
  const table = page.slice(page.indexOf("| setting | default | env / flag |"));
  const lines = table.split("\n").slice(2);
  const end = lines.findIndex((l) => !l.startsWith("|"));
  const out = new Set<string>();
  for (const row of end < 0 ? lines : lines.slice(0, end)) {
    let prefix = "";
    for (const m of (row.split("|")[1] ?? "").matchAll(/`([A-Za-z.]+)`/g)) {
      const name = m[1] as string;
      if (name.includes(".")) {
        prefix = name.slice(0, name.lastIndexOf(".") + 1);
        out.add(name);
      } else out.add(`${prefix}${name}`);
    }
  }
  return out;
}

/** Every setting of the configuration: the sections' fields, and the top-level settings. */
function configSettings(): string[] {
  return Object.entries(DEFAULT_CONFIG).flatMap(([key, value]) =>
    ["server", "tls", "service", "sidecar", "preview"].includes(key) ? Object.keys(value as object).map((k) => `${key}.${k}`) : [key],
  );
}

describe("docs/configuration.md's table of settings", () => {
  it("names every setting of the configuration", () => {
    const documented = documentedSettings();
    expect(configSettings().filter((k) => !documented.has(k))).toEqual([]);
  });

  it("names no setting the configuration does not have (the istio block is read apart)", () => {
    const known = new Set(configSettings());
    expect([...documentedSettings()].filter((k) => !known.has(k) && !k.startsWith("istio."))).toEqual([]);
  });
});

describe("commands in fenced blocks", () => {
  const commands = PAGES.flatMap((page) => documentedCommands(page).map((args) => [page, args.join(" "), args] as const));

  it("the pages show commands", () => {
    expect(commands.length).toBeGreaterThan(0);
  });

  // The built CLI reads each command's flags as it would run them, then prints that command's help
  // instead of running: an unknown flag, a flag without its value or a missing command exits 2.
  it.each(commands)("%s: `sidecar-injector %s` is a command line the CLI accepts", (_page, _line, args) => {
    const r = spawnSync(process.execPath, [join(ROOT, "dist", "cli.js"), ...args, "--help"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  });

  it("the check does catch a command line the CLI refuses", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "dist", "cli.js"), "explain", "--no-such-flag", "--help"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    expect(r.status).toBe(2);
  });
});

describe("README", () => {
  it("lists every Kubernetes API call the code makes, from src/kube/api-calls.ts", () => {
    expect(readme).toContain(apiCallsTable());
  });
  it.each(Object.keys(DEFAULT_CONFIG.tls))("documents tls.%s", (key) => {
    expect(readme).toContain(`tls.${key}`);
  });
  it.each(CertificateEvents)("documents the certificate event %s", (event) => {
    expect(readme).toContain(`\`${event}\``);
  });
  it.each(Object.values(ReasonCode))("documents reason code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(Object.values(ErrorCode))("documents error code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each([...Object.values(UntouchedReason), ...Object.values(RestartOutcome)])("documents the rollout code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
  it.each(httpCodesInSource())("documents HTTP error code %s", (code) => {
    expect(readme).toContain(code);
  });
  it.each(Object.keys(ANNOTATION_VALIDATORS).map((k) => k.split("/")[1] ?? k))("documents annotation %s", (name) => {
    expect(readme).toContain(name);
  });
  it("walks through an explain answer that the explain golden output holds line for line", () => {
    const section = readme.slice(readme.indexOf("## Why is my pod not injected?"));
    const block = /```\n\$ sidecar-injector explain deployment\/web -n shop\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const golden = new Set(readFileSync(join(ROOT, "test", "explain", "testdata", "shop.table.txt"), "utf8").split("\n"));
    const lines = (block ?? "").split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => !golden.has(l))).toEqual([]);
  });
  it("documents the opt-in annotation and label", () => {
    expect(readme).toContain(`\`${Annotation.Inject}\``);
  });
});

describe("examples/", () => {
  it("review.json is an AdmissionReview the webhook injects", async () => {
    const { default: request } = await import("supertest");
    const { testApp } = await import("./support/builders.js");
    const body = readFileSync(join(ROOT, "examples", "review.json"), "utf8");
    const res = await request(testApp()).post("/inject").set("Content-Type", "application/json").send(body);
    expect(res.status).toBe(200);
    expect(res.body.response).toMatchObject({ allowed: true, patchType: "JSONPatch", auditAnnotations: { decision: "inject" } });
  });

  it("manifests.yaml reads as manifests with pod templates", async () => {
    const { readDocuments } = await import("../src/preview/documents.js");
    const docs = readDocuments(readFileSync(join(ROOT, "examples", "manifests.yaml"), "utf8"), "yaml");
    expect(docs.flatMap((d) => d.objects).filter((o) => o.templatePath !== null).length).toBeGreaterThan(0);
  });
});
