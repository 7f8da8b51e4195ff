/**
 * Structured JSON logging (pino). One line per admission review; never the pod spec or env values.
 */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config/config.js";

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "sidecar-injector" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that discards everything (tests, CLI paths that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
