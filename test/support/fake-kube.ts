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
 * Any kind as the API server serves it: a list with a resourceVersion, and a watch that streams
 * ADDED/MODIFIED/DELETED events (one JSON object per line), replayed from the resourceVersion the
 * watch asks for.
 */
export interface FakeCollection {
  readonly routes: Record<string, FakeHandler>;
  add(object: Record<string, unknown>): void;
  /** Add or replace the object with this name (ADDED or MODIFIED). */
  set(name: string, object: Record<string, unknown>): void;
  remove(name: string): void;
  /** How many watch connections are open. */
  watchers(): number;
}

export function fakeCollection(kind: string, path: string, initial: Array<Record<string, unknown>>): FakeCollection {
  let rv = 500;
  const items = new Map<string, Record<string, unknown>>();
  const watchers = new Set<ServerResponse>();
  const nameOf = (o: Record<string, unknown>) => String((o.metadata as { name?: string } | undefined)?.name ?? `#${items.size}`);
  const stamp = (o: Record<string, unknown>) => ({ ...o, metadata: { ...(o.metadata as object), resourceVersion: String(++rv) } });
  // Every change since the start, so a watch from a list's resourceVersion misses nothing that
  // happened between the list and the watch (the API server replays from its watch cache).
  const history: Array<{ rv: number; line: string }> = [];
  const emit = (type: string, object: Record<string, unknown>) => {
    const line = `${JSON.stringify({ type, object })}\n`;
    history.push({ rv, line });
    for (const w of watchers) w.write(line);
  };
  for (const o of initial) items.set(nameOf(o), stamp(o));
  const collection: FakeCollection = {
    routes: {
      [`GET ${path}`]: (req, res) => {
        const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
        if (query.get("watch") === "true") {
          res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
          res.flushHeaders();
          const from = query.get("resourceVersion");
          if (from === null || from === "" || from === "0") {
            // No starting point: the current state as synthetic ADDED events, then changes.
            for (const o of items.values()) res.write(`${JSON.stringify({ type: "ADDED", object: o })}\n`);
          } else {
            for (const e of history) if (e.rv > Number(from)) res.write(e.line);
          }
          watchers.add(res);
          req.on("close", () => watchers.delete(res));
          return;
        }
        sendJson(res, 200, { apiVersion: "v1", kind: `${kind}List`, metadata: { resourceVersion: String(rv) }, items: [...items.values()] });
      },
    },
    add: (object) => collection.set(nameOf(object), object),
    set(name, object) {
      const type = items.has(name) ? "MODIFIED" : "ADDED";
      const stamped = stamp(object);
      items.set(name, stamped);
      emit(type, stamped);
    },
    remove(name) {
      const obj = items.get(name);
      if (!obj) return;
      items.delete(name);
      emit("DELETED", stamp(obj));
    },
    watchers: () => watchers.size,
  };
  return collection;
}

/** Namespaces (with labels) served by fakeCollection. */
export function fakeNamespaces(initial: Record<string, Record<string, string>>): Omit<FakeCollection, "set" | "add"> & {
  set(name: string, labels: Record<string, string>): void;
} {
  const ns = (name: string, labels: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels, uid: `uid-${name}` },
    status: { phase: "Active" },
  });
  const c = fakeCollection("Namespace", "/api/v1/namespaces", Object.entries(initial).map(([n, l]) => ns(n, l)));
  return { routes: c.routes, remove: c.remove, watchers: c.watchers, set: (name, labels) => c.set(name, ns(name, labels)) };
}
