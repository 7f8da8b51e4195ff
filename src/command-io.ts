/**
 * What the offline commands (inject, explain, audit) share: their IO, reading an input file,
 * building the configuration from an optional --config file, and reporting a failure (exit 1).
 */
import { readFile } from "node:fs/promises";
import type { Config } from "./config/config.js";
import { loadConfig, parseConfigText } from "./config/load-config.js";
import { ConfigError, InjectorError, InvalidInputError, NotFoundError } from "./errors.js";

export interface CommandIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readStdin: () => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** A file's text; an unreadable file is invalid input naming the path. */
export async function readInputFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidInputError([`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}

/** The embedded configuration, with the --config file over it when one is given. */
export async function loadCommandConfig(env: CommandIO["env"], configPath: string | undefined): Promise<Config> {
  if (configPath === undefined) return loadConfig({ env });
  const text = await readInputFile(configPath);
  return loadConfig({ env, file: { content: parseConfigText(text, configPath), source: configPath } });
}

/** Print a typed failure with every problem and return exit code 1; anything else is rethrown. */
export function reportFailure(err: unknown, io: CommandIO): number {
  if (!(err instanceof InjectorError)) throw err;
  const what = err instanceof ConfigError ? "invalid configuration" : err instanceof InvalidInputError ? "invalid input" : err instanceof NotFoundError ? "not found" : "failed";
  io.stderr(`sidecar-injector: ${what}:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
  return 1;
}
