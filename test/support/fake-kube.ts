/**
 * A small in-process Kubernetes API server for tests driven through the real client-node.
 * It serves only what the code under test calls; each handler answers like the API server does
 * (JSON bodies, Status objects for errors).
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

/**
 * Namespaces as the API server serves them: a list with a resourceVersion, and a watch that
 * streams ADDED/MODIFIED/DELETED events (one JSON object per line) from a resourceVersion.
 */
export interface FakeNamespaces {
  readonly routes: Record<string, FakeHandler>;
  set(name: string, labels: Record<string, string>): void;
  remove(name: string): void;
  /** How many watch connections are open. */
  watchers(): number;
}

export function fakeNamespaces(initial: Record<string, Record<string, string>>): FakeNamespaces {
  let rv = 100;
  const items = new Map<string, Record<string, unknown>>();
  const watchers = new Set<ServerResponse>();
  const object = (name: string, labels: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels, resourceVersion: String(++rv), uid: `uid-${name}` },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  });
  for (const [name, labels] of Object.entries(initial)) items.set(name, object(name, labels));
  const emit = (type: string, obj: unknown) => {
    for (const w of watchers) w.write(`${JSON.stringify({ type, object: obj })}\n`);
  };
  return {
    routes: {
      "GET /api/v1/namespaces": (req, res) => {
        const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
        if (query.get("watch") === "true") {
          res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
          res.flushHeaders();
          watchers.add(res);
          req.on("close", () => watchers.delete(res));
          return;
        }
        sendJson(res, 200, { apiVersion: "v1", kind: "NamespaceList", metadata: { resourceVersion: String(rv) }, items: [...items.values()] });
      },
    },
    set(name, labels) {
      const type = items.has(name) ? "MODIFIED" : "ADDED";
      const obj = object(name, labels);
      items.set(name, obj);
      emit(type, obj);
    },
    remove(name) {
      const obj = items.get(name);
      if (!obj) return;
      items.delete(name);
      emit("DELETED", { ...obj, metadata: { ...(obj.metadata as object), resourceVersion: String(++rv) } });
    },
    watchers: () => watchers.size,
  };
}

/** Any kind served like the API server: a list with a resourceVersion, and a watch stream. */
export interface FakeCollection {
  readonly routes: Record<string, FakeHandler>;
  add(object: Record<string, unknown>): void;
}

export function fakeCollection(kind: string, path: string, initial: Array<Record<string, unknown>>): FakeCollection {
  let rv = 500;
  const items = [...initial];
  const watchers = new Set<ServerResponse>();
  return {
    routes: {
      [`GET ${path}`]: (req, res) => {
        const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
        if (query.get("watch") === "true") {
          res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
          res.flushHeaders();
          watchers.add(res);
          req.on("close", () => watchers.delete(res));
          return;
        }
        sendJson(res, 200, { apiVersion: "v1", kind: `${kind}List`, metadata: { resourceVersion: String(rv) }, items });
      },
    },
    add(object) {
      const withRv = { ...object, metadata: { ...(object.metadata as object), resourceVersion: String(++rv) } };
      items.push(withRv);
      for (const w of watchers) w.write(`${JSON.stringify({ type: "ADDED", object: withRv })}\n`);
    },
  };
}
