import { describe, expect, it } from "@jest/globals";
import { formatStatus, parseStatus } from "./status.js";

describe("status annotation", () => {
  it("round-trips in Istio's field order", () => {
    const s = { initContainers: ["istio-init"], containers: ["istio-proxy"], volumes: ["v"], imagePullSecrets: null, revision: "default", templateHash: "abc" };
    const text = formatStatus(s);
    expect(text).toBe('{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["v"],"imagePullSecrets":null,"revision":"default","templateHash":"abc"}');
    expect(parseStatus(text)).toEqual(s);
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
