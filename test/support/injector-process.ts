/**
 * Run the built `sidecar-injector` binary as a child process for tests: start it on a free port
 * with its own folder (certs, config), call it over HTTPS with the CA pinned, and clean up.
 */
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { ClientRequest, IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "..", "..", "dist", "cli.js");

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
}

export interface Started {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly port: number;
  readonly ca: string;
  readonly exit: Promise<number | null>;
  logs(): string;
  stop(): void;
}

const running: Started[] = [];

/** Kill every child still running and remove its folder (call from afterEach). */
export function cleanupInjectors(): void {
  for (const s of running.splice(0)) s.stop();
}

export async function startInjector(config: unknown, env: Record<string, string> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "injector-"));
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--cert-dir", join(dir, "certs"), "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = out.split("\n").find((l) => l.includes('"sidecar-injector listening"'));
      if (line) {
        clearInterval(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`server exited early:\n${out}`));
      }
    }, 20);
  });
  const started: Started = { child, dir, port, ca: existsSync(join(dir, "certs", "ca.crt")) ? readFileSync(join(dir, "certs", "ca.crt"), "utf8") : "", exit, logs: () => out, stop };
  running.push(started);
  return started;
}

export interface Call {
  readonly req: ClientRequest;
  readonly done: Promise<Answer>;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

/** An HTTPS request to the injector with its CA pinned; `req` is left open for the caller to end. */
export function call(s: Started, method: string, path: string, body?: string, ca = s.ca, headers: Record<string, string> = {}): Call {
  let req!: ClientRequest;
  const done = new Promise<Answer>((resolve, reject) => {
    req = httpsRequest(
      {
        host: "127.0.0.1",
        port: s.port,
        path,
        method,
        ca,
        servername: "localhost",
        agent: false,
        headers: { ...headers, ...(body !== undefined && { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on("error", reject);
  });
  return { req, done };
}

export function get(s: Started, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const c = call(s, "GET", path, undefined, s.ca, headers);
  c.req.end();
  return c.done;
}

export async function postReview(s: Started, review: unknown): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(review);
  const c = call(s, "POST", "/inject", body);
  c.req.end(body);
  return c.done;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` is true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms; t += 50) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/** A TCP port free on loopback right now (for servers that must be told their port in advance). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
    probe.on("error", reject);
  });
}
