import { describe, expect, it } from "@jest/globals";
import { InvalidPodError } from "../errors.js";
import { assertPodShape } from "./pod.js";

const pod = (annotations: Record<string, string>, labels: Record<string, string> = { app: "web" }) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", labels, annotations },
  spec: { containers: [{ name: "app", image: "app:1" }] },
});

const problemsOf = (value: unknown): readonly string[] => {
  try {
    assertPodShape(value);
    return [];
  } catch (err) {
    if (err instanceof InvalidPodError) return err.problems;
    throw err;
  }
};

describe("assertPodShape: label and annotation keys (valid keys are kept between reviews)", () => {
  it.each([
    ["a key with a prefix", { "team.example/owner": "x" }, []],
    ["a key with a space", { "my key": "x" }, ['metadata.annotations["my key"]: the key must be']],
    ["a key with an empty prefix", { "/name": "x" }, ['metadata.annotations["/name"]: the key must be']],
    ["a key of 64 characters after the prefix", { [`a/${"k".repeat(64)}`]: "x" }, ["the key must be"]],
  ])("%s", (_name, annotations, expected) => {
    const problems = problemsOf(pod(annotations));
    expect(problems).toHaveLength(expected.length);
    expected.forEach((text, i) => expect(problems[i]).toContain(text));
  });

  it("still refuses an invalid key after many valid ones, past the bound of kept keys", () => {
    for (let i = 0; i < 5000; i++) expect(problemsOf(pod({ [`team.example/key-${i}`]: "x" }))).toEqual([]);
    expect(problemsOf(pod({ "team.example/key-4999": "x", "bad key": "x" }))).toHaveLength(1);
    expect(problemsOf(pod({}, { "bad label": "x" }))).toHaveLength(1);
  });
});
