/** Builders for tests: pods, reviews, injection contexts and the app. */
import type { RequestListener } from "node:http";
import type { Config } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load-config.js";
import { ConfigError } from "../../src/errors.js";
import { type AppDeps, createApp } from "../../src/http/app.js";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { silentLogger } from "../../src/log.js";
import type { Pod } from "../../src/injection/pod.js";
import { compileTemplate } from "../../src/injection/template.js";
import { createInlinePreviewRunner } from "../../src/preview/preview-pool.js";

export function aPod(patch: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Partial<Pod["spec"]>; metadata?: Record<string, unknown> } = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-0",
      namespace: "default",
      labels: { app: "web", ...patch.labels },
      ...(patch.annotations && { annotations: patch.annotations }),
      ...patch.metadata,
    },
    spec: {
      containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 8080, name: "http", protocol: "TCP" }] }],
      ...patch.spec,
    },
  };
}

export interface ReviewOptions {
  apiVersion?: string;
  uid?: string;
  namespace?: string;
  operation?: string;
  kind?: { group: string; version: string; kind: string };
  subResource?: string;
  dryRun?: boolean;
}

export function reviewFor(object: unknown, o: ReviewOptions = {}): Record<string, unknown> {
  return {
    apiVersion: o.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: o.uid ?? "3f1c1e4a-0000-4000-8000-000000000001",
      kind: o.kind ?? { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      ...(o.subResource && { subResource: o.subResource }),
      namespace: o.namespace ?? "default",
      operation: o.operation ?? "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object,
      dryRun: o.dryRun ?? false,
    },
  };
}

export function testConfig(file?: unknown): Config {
  return loadConfig({ env: {}, ...(file !== undefined && { file: { content: file, source: "test" } }) });
}

export function testContext(file?: unknown, clusterSupportsNativeSidecars?: boolean): InjectionContext {
  return { template: compileTemplate(testConfig(file)), clusterSupportsNativeSidecars };
}

/** The app under test with defaults for every dependency (override what a test is about). */
export function testApp(overrides: Partial<AppDeps> = {}): RequestListener {
  const ctx = testContext();
  const context = overrides.context ?? (() => ctx);
  return createApp({
    context,
    previews: createInlinePreviewRunner(context),
    logger: silentLogger(),
    now: () => 0,
    health: { ready: () => true, draining: () => false },
    maxBodyBytes: () => 6 * 1024 * 1024,
    ...overrides,
  });
}

/** The problems of the ConfigError that `fn` throws (anything else thrown, or nothing, fails the test). */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("expected a ConfigError");
}
