/**
 * SIGTERM, for real: the built binary runs as a child process; we hold a review in flight, send
 * SIGTERM, and check that /readyz turns 503, the in-flight review is answered, and the process
 * exits 0 — or 1 when the deadline forces a stuck connection closed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { aPod, reviewFor } from "../support/builders.js";
import { CLI, assertBuilt, call, cleanupInjectors, get, sleep, startInjector as start } from "../support/injector-process.js";

beforeAll(assertBuilt);

let dir: string | undefined;
const children: ChildProcess[] = [];
afterEach(() => {
  cleanupInjectors();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("graceful shutdown", () => {
  it("drains: /readyz 503, the in-flight review is answered, exit 0", async () => {
    const s = await start({ server: { shutdownDeadlineMs: 5000, shutdownDrainDelayMs: 500 } });
    expect((await get(s, "/readyz")).status).toBe(200);

    const body = JSON.stringify(reviewFor(aPod(), { uid: "in-flight" }));
    const inflight = call(s, "POST", "/inject", body);
    inflight.req.write(body.slice(0, 100)); // headers and part of the body are in
    await sleep(100);

    s.child.kill("SIGTERM");
    await sleep(150);
    expect((await get(s, "/readyz")).status).toBe(503); // still accepting during the drain delay

    inflight.req.end(body.slice(100));
    const answered = await inflight.done;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body).response).toMatchObject({ uid: "in-flight", allowed: true });

    expect(await s.exit).toBe(0);
    expect(s.logs()).toContain('"shutdown complete"');
  });

  it("exits 1 when a connection is still busy at the deadline", async () => {
    const s = await start({ server: { shutdownDeadlineMs: 600, shutdownDrainDelayMs: 0 } });
    const stuck = call(s, "POST", "/inject", JSON.stringify(reviewFor(aPod())));
    stuck.req.write("{");
    stuck.done.catch(() => undefined); // the server cuts it
    await sleep(100);
    const t0 = Date.now();
    s.child.kill("SIGTERM");
    expect(await s.exit).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.logs()).toContain("shutdown deadline passed");
  });

  it("exits 1 with every problem listed when the configuration is invalid", async () => {
    dir = mkdtempSync(join(tmpdir(), "injector-badconfig-"));
    const configPath = join(dir, "bad.yaml");
    writeFileSync(configPath, "server:\n  port: 70000\nsidecar:\n  image: 'has space'\n  bogus: 1\n");
    const child = spawn(process.execPath, [CLI, "--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(1);
    expect(err).toContain("server.port must be an integer from 0 to 65535");
    expect(err).toContain("sidecar.image must be a container image reference");
    expect(err).toContain("sidecar.bogus is not a known setting");
  });

  it("exits 2 on a usage error", async () => {
    const child = spawn(process.execPath, [CLI, "serve", "--no-such-flag"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    expect(await new Promise((r) => child.on("exit", r))).toBe(2);
  });
});
