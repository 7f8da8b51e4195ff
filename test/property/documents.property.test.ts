/**
 * Hostile documents on the surfaces that read YAML without a server: the one reader
 * (src/validation/yaml-documents.ts) and the configuration loader. Each answer is a result or a
 * typed refusal whose every problem names where; nothing global changes.
 */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { loadConfig, parseConfigText } from "../../src/config/load-config.js";
import { ConfigError, InvalidInputError } from "../../src/errors.js";
import { readYamlDocuments } from "../../src/validation/yaml-documents.js";
import { hostileYaml } from "../support/hostile-yaml.js";

const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
const untouched = () => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
};

describe("hostile documents", () => {
  it("the reader returns documents or an InvalidInputError whose problems each name a document", () => {
    fc.assert(
      fc.property(hostileYaml, (text) => {
        try {
          const docs = readYamlDocuments(text);
          expect(Array.isArray(docs)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidInputError);
          for (const p of (err as InvalidInputError).problems) expect(p).toMatch(/^documents(\[\d+\])?: /);
        }
        untouched();
      }),
      { numRuns: 150 },
    );
  });

  it("the configuration loader gives a frozen Config or a ConfigError whose problems each name a path", () => {
    fc.assert(
      fc.property(hostileYaml, (text) => {
        try {
          const config = loadConfig({ env: {}, file: { content: parseConfigText(text, "config.yaml"), source: "config.yaml" } });
          expect(Object.isFrozen(config)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          for (const p of (err as ConfigError).problems) expect(p).toMatch(/^config\.yaml( |:)/);
        }
        untouched();
      }),
      { numRuns: 150 },
    );
  });
});
