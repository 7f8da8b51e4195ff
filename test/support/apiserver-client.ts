/**
 * Drives test/support/apiserver-client/main.go: a long-running Go process that reads caBundles
 * with x509.CertPool.AppendCertsFromPEM and calls webhooks over HTTPS verified against them, as
 * kube-apiserver does. Requests are answered concurrently and matched by id.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type GoBuild, buildGoProgram } from "./go.js";

export interface GoAnswer {
  /** SHA-256 fingerprints ("AB:CD:…") of the certificates Go reads from the bundle, in order. */
  readonly certs: string[];
  readonly status?: number;
  /** The uid of the AdmissionReview response, when the call got one. */
  readonly uid?: string;
  readonly error?: string;
}

export interface ApiServerClient {
  /** What Go reads from a base64 caBundle. */
  readBundle(caBundle: string): Promise<GoAnswer>;
  /** POST `body` to `url` trusting exactly `caBundle`, verifying the certificate for `serverName`. */
  call(opts: { caBundle: string; url: string; serverName: string; body: string }): Promise<GoAnswer>;
  close(): Promise<void>;
}

export function startApiServerClient(): ApiServerClient {
  const build: GoBuild = buildGoProgram("apiserver-client");
  const child: ChildProcessWithoutNullStreams = spawn(build.binary, [], { stdio: "pipe" });
  const pending = new Map<number, (a: GoAnswer) => void>();
  let nextId = 1;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const a = JSON.parse(line) as GoAnswer & { id: number };
    pending.get(a.id)?.(a);
    pending.delete(a.id);
  });
  child.on("exit", (code) => {
    for (const resolve of pending.values()) resolve({ certs: [], error: `the Go client exited (${code}): ${stderr.trim()}` });
    pending.clear();
  });
  const send = (req: Record<string, unknown>): Promise<GoAnswer> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  return {
    readBundle: (caBundle) => send({ caBundle }),
    call: (opts) => send(opts),
    async close() {
      child.stdin.end();
      await exited;
      build.cleanup();
    },
  };
}
