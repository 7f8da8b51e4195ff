/**
 * Scripted API server routes for tests driven through the real client-node: each handler answers
 * one path as a test needs it (an odd version, a refusal, a hang), in the API server's format
 * (JSON bodies, Status objects for errors). Objects that are stored, listed and watched are the
 * business of fake-apiserver.ts.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export type FakeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakeKube {
  readonly url: string;
  readonly requests: string[];
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
}

export async function startFakeKube(routes: Record<string, FakeHandler>): Promise<FakeKube> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    requests.push(`${req.method} ${path}`);
    const handler = routes[`${req.method} ${path}`];
    if (handler) handler(req, res);
    else sendStatus(res, 404, "NotFound", `the server could not find the requested resource (${path})`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "fake", token: "test-token" }],
        contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
        currentContext: "fake",
      });
      return kc;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
