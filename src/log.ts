/**
 * Structured JSON logging (pino). One line per admission review; never the pod spec or env values.
 *
 * The server's logger writes to stdout through a small buffer instead of one write system call
 * per line (on the admission path that is a tenth of the cost of a review). The buffer is bounded
 * by size (4 KiB) and by time (one second), and a warning or an error is written at once with
 * every line before it: a process killed without warning (OOM, node loss) loses at most the last
 * second of info lines, never the line that explains the crash.
 */
import { writeSync } from "node:fs";
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./config/config.js";

export type { Logger };

const FLUSH_INTERVAL_MS = 1000;
const FLUSH_AT_BYTES = 4096;
/** pino's numeric level of "warn": this level and above are written at once. */
const WARN_LEVEL = 40;

function options(level: LogLevel) {
  return {
    level,
    base: { service: "sidecar-injector" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
}

/** A logger with the server's format writing to `destination` (tests capture lines this way). */
export function createLogger(level: LogLevel, destination: DestinationStream): Logger {
  return pino(options(level), destination);
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all of `text` to a file descriptor, synchronously; while a non-blocking pipe is full
 * (EAGAIN) it pauses 10 ms between tries instead of spinning.
 */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(PAUSE, 0, 0, 10);
    }
  }
}

export interface BufferedDestination extends DestinationStream {
  /** Write out what is buffered. */
  flush(): void;
  /** Set by pino before each write (the stream asks for it with the pino.metadata symbol). */
  lastLevel: number;
}

/**
 * A pino destination that buffers lines for `fd` and writes them synchronously, in order: when
 * `flushAtBytes` are pending, when a line of level warn or above arrives, and whenever flush() is
 * called (every second by the server's logger, and at exit).
 */
export function bufferedDestination(fd: number, flushAtBytes = FLUSH_AT_BYTES): BufferedDestination {
  let pending = "";
  const flush = (): void => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    writeAll(fd, text);
  };
  return {
    [Symbol.for("pino.metadata")]: true,
    lastLevel: 0,
    write(line: string) {
      pending += line;
      if (this.lastLevel >= WARN_LEVEL || pending.length >= flushAtBytes) flush();
    },
    flush,
  } as BufferedDestination;
}

/** The server's logger: buffered stdout (see bufferedDestination), flushed every second and when the process exits. */
export function createStdoutLogger(level: LogLevel): Logger {
  const destination = bufferedDestination(1);
  const timer = setInterval(() => destination.flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  process.once("exit", () => {
    try {
      destination.flush();
    } catch {
      // stdout already closed: nothing left to do
    }
  });
  return pino(options(level), destination);
}

/** A logger that discards everything (tests, CLI paths that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
