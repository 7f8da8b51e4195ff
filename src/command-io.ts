/**
 * What the offline commands (inject, explain, audit) share: their IO, reading an input file,
 * building the configuration from an optional --config file, and reporting a failure (exit 1).
 */
import { readFile } from "node:fs/promises";
import type { Config } from "./config/config.js";
import { type LoadConfigInput, loadConfig, parseConfigText } from "./config/load-config.js";
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

/** Istio's install settings from files of their own (--istio-values, --mesh-config). */
export interface IstioFiles {
  readonly valuesPath?: string | undefined;
  readonly meshConfigPath?: string | undefined;
}

/** The parsed --istio-values / --mesh-config files, as loadConfig takes them (read once, at startup). */
export async function readIstioFiles(files: IstioFiles | undefined): Promise<LoadConfigInput["istio"]> {
  const read = async (path: string | undefined) => (path === undefined ? undefined : { content: parseConfigText(await readInputFile(path), path), source: path });
  const values = await read(files?.valuesPath);
  const meshConfig = await read(files?.meshConfigPath);
  return { ...(values && { values }), ...(meshConfig && { meshConfig }) };
}

/**
 * The embedded configuration, with the --config file over it when one is given, and Istio's
 * settings from --istio-values / --mesh-config. Where ours and Istio's disagree (ours win) a line
 * goes to standard error, and so does a warning for each value accepted that cannot do what it says.
 */
export async function loadCommandConfig(env: CommandIO["env"], configPath: string | undefined, istioFiles?: IstioFiles, stderr?: (text: string) => void): Promise<Config> {
  const istio = await readIstioFiles(istioFiles);
  const notices: string[] = [];
  const warnings: string[] = [];
  const file = configPath === undefined ? undefined : { content: parseConfigText(await readInputFile(configPath), configPath), source: configPath };
  const config = loadConfig({ env, notices, warnings, ...(istio && { istio }), ...(file && { file }) });
  for (const n of notices) stderr?.(`note: ${n}\n`);
  for (const w of warnings) stderr?.(`warning: ${w}\n`);
  return config;
}

/** Print a typed failure with every problem and return exit code 1; anything else is rethrown. */
export function reportFailure(err: unknown, io: CommandIO): number {
  if (!(err instanceof InjectorError)) throw err;
  const what = err instanceof ConfigError ? "invalid configuration" : err instanceof InvalidInputError ? "invalid input" : err instanceof NotFoundError ? "not found" : "failed";
  io.stderr(`sidecar-injector: ${what}:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
  return 1;
}
