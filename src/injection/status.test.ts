import { describe, expect, it } from "@jest/globals";
import { formatStatus, parseStatus, readStatus } from "./status.js";

describe("status annotation", () => {
  it("round-trips with exactly Istio's keys, in its order; the template hash is not in the record", () => {
    const s = { initContainers: ["istio-init"], containers: ["istio-proxy"], volumes: ["v"], imagePullSecrets: null, revision: "default", templateHash: "abc" };
    const text = formatStatus(s);
    expect(text).toBe('{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["v"],"imagePullSecrets":null,"revision":"default"}');
    const { templateHash: _hash, ...withoutHash } = s;
    expect(parseStatus(text)).toEqual(withoutHash);
  });
  it("writes an empty list as null, as Go does (native mode: no containers)", () => {
    const text = formatStatus({ initContainers: ["istio-init", "istio-proxy"], containers: [], volumes: ["v"], imagePullSecrets: [], revision: "default" });
    expect(text).toBe('{"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["v"],"imagePullSecrets":null,"revision":"default"}');
    expect(parseStatus(text)).toMatchObject({ containers: [] });
  });
  const ours = '{"containers":["istio-proxy"],"revision":"default"}';
  const older = '{"containers":["istio-proxy"],"revision":"default","templateHash":"old"}';
  it.each([
    ["the template hash annotation", ours, { "sidecar-injector.io/template-hash": "new" }, "new"],
    ["a record written by an older version, hash inside", older, {}, "old"],
    ["the annotation wins over the record", older, { "sidecar-injector.io/template-hash": "new" }, "new"],
    ["neither: unknown", ours, {}, undefined],
  ])("readStatus: %s", (_name, record, extra, hash) => {
    expect(readStatus({ "sidecar.istio.io/status": record, ...extra })?.templateHash).toBe(hash);
  });
  it("reads Istio's own record (no template hash)", () => {
    expect(parseStatus('{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],"imagePullSecrets":null,"revision":"default"}')).toMatchObject({
      containers: ["istio-proxy"],
      revision: "default",
    });
  });
  it.each([["not json", "{"], ["an array", "[]"], ["containers not strings", '{"containers":[1]}'], ["empty", ""], ["secrets wrong", '{"imagePullSecrets":"x"}']])(
    "returns null for %s",
    (_name, text) => {
      expect(parseStatus(text)).toBeNull();
    },
  );
});
