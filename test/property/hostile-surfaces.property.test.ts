/**
 * Hostile documents on every surface a person or another program hands YAML to: POST /preview
 * (the app as served, and a real server with its worker pool), `inject -f`, `explain -f` and
 * `audit --from-file`. The properties: the answer is 2xx with results or 4xx with a message naming
 * a document or a setting, and the CLI exits 0, 1 (or 3, the audit's findings) with a message and
 * no stack trace; the server stays ready; nothing global changes. Plus memory under 50 concurrent
 * alias bombs, bounded with a wide margin.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import request from "supertest";
import { testApp } from "../support/builders.js";
import { aliasBomb, hostileYaml, mergeChain } from "../support/hostile-yaml.js";
import { CLI, type Started, assertBuilt, call, cleanupInjectors, get, startInjector } from "../support/injector-process.js";

const run = promisify(execFile);
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
/** A refusal names where: a document (`documents[2]…`), or the bound it hit (`preview.maxDocuments`). */
const NAMES_WHERE = /documents(\[\d+\])?|preview\.[a-zA-Z]+|no documents in the input|content type|body/;

function expectAnswer(status: number, body: { code?: unknown; message?: unknown }): void {
  if (status >= 200 && status < 300) return;
  expect({ status, fourXX: status >= 400 && status < 500 }).toEqual({ status, fourXX: true });
  expect(typeof body.code).toBe("string");
  expect(String(body.message)).toMatch(NAMES_WHERE);
}

/** Nine levels of nine aliases beside a pod. */
const BOMB = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\nspec:\n  containers: [{name: a, image: a}]\nx:\n${aliasBomb().replace(/^/gm, "  ")}\n`;

describe("POST /preview under hostile documents", () => {
  const app = testApp();

  it("answers 2xx, or 4xx naming where; never a 500; Object.prototype untouched", async () => {
    await fc.assert(
      fc.asyncProperty(hostileYaml, async (text) => {
        const res = await request(app).post("/preview").set("Content-Type", "application/yaml").send(text);
        expectAnswer(res.status, res.body as { code?: unknown; message?: unknown });
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      }),
      { numRuns: 60 },
    );
  }, 180_000);

  it.each([
    ["the alias bomb", BOMB, /documents\[0\]: YAML aliases expand too far \(limit 100 per alias\)/],
    ["a merge-key chain", `${mergeChain()}\n`, /documents\[0\]: too many YAML aliases: 200 \(limit 100\)/],
  ])("%s: 400 INVALID_INPUT naming the document and the limit", async (_name, text, message) => {
    const res = await request(app).post("/preview").set("Content-Type", "application/yaml").send(text);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("INVALID_INPUT");
    expect(res.body.message).toMatch(message);
  });
});

describe("a real server with its preview workers, under hostile documents and alias bombs", () => {
  let s: Started;
  beforeAll(async () => {
    assertBuilt();
    s = await startInjector({});
  });
  afterAll(() => cleanupInjectors());

  const post = async (text: string) => {
    const c = call(s, "POST", "/preview", text);
    c.req.setHeader("Content-Type", "application/yaml");
    c.req.setHeader("Content-Length", Buffer.byteLength(text));
    c.req.end(text);
    const res = await c.done;
    let body: { code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      // a YAML or diff answer
    }
    return { status: res.status, body };
  };

  it("answers every hostile document, 2xx or 4xx naming where (429 when its workers are busy), and stays ready", async () => {
    await fc.assert(
      fc.asyncProperty(hostileYaml, async (text) => {
        const res = await post(text);
        if (res.status !== 429) expectAnswer(res.status, res.body);
        expect((await get(s, "/readyz")).status).toBe(200);
      }),
      { numRuns: 20 },
    );
  }, 180_000);

  it("50 concurrent alias bombs: each refused (or shed with 429), the server ready, its memory bounded", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(BOMB)));
    for (const a of answers) expect([400, 429]).toContain(a.status);
    expect(answers.some((a) => a.status === 400)).toBe(true);
    expect((await get(s, "/readyz")).status).toBe(200);
    const peakKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${s.child.pid}/status`, "utf8"))?.[1] ?? 0);
    // One expanded bomb would be 9^9 values; refused before expansion, the server stays near its
    // usual size (about 100-200 MiB). A wide margin, not a measurement.
    expect(peakKiB / 1024).toBeLessThan(600);
  }, 120_000);
});

describe("the CLI under hostile documents", () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), "hostile-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const surfaces: Array<[string, (file: string) => string[]]> = [
    ["inject -f", (f) => ["inject", "-f", f]],
    ["explain -f", (f) => ["explain", "-f", f]],
    ["audit --from-file", (f) => ["audit", "--from-file", f]],
  ];

  it.each(surfaces)("%s exits 0, 1 or 3 with a message, never a stack trace or an internal error", async (_name, argv) => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(hostileYaml, async (text) => {
        const file = join(dir, `input-${n++}.yaml`);
        writeFileSync(file, text);
        const r = await run(process.execPath, [CLI, ...argv(file)], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, maxBuffer: 512 * 1024 * 1024 }).then(
          (ok) => ({ code: 0, stderr: ok.stderr }),
          (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? "" }),
        );
        expect([0, 1, 3]).toContain(r.code);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
        if (r.code === 1) expect(r.stderr).toMatch(/^sidecar-injector: (invalid input|not found|failed|invalid configuration)/);
      }),
      { numRuns: 10 },
    );
  }, 180_000);

  it("the alias bomb: inject -f exits 1 naming the document and the limit", async () => {
    const file = join(dir, "bomb.yaml");
    writeFileSync(file, BOMB);
    const r = await run(process.execPath, [CLI, "inject", "-f", file], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } }).catch((err: { code?: number; stderr?: string }) => err);
    expect((r as { code?: number }).code).toBe(1);
    expect((r as { stderr?: string }).stderr).toBe("sidecar-injector: invalid input:\n  - documents[0]: YAML aliases expand too far (limit 100 per alias)\n");
  });
});
