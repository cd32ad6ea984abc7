import type { Logger } from 'pino';

export interface LogLimiterOptions {
  /** Lines let through per key and window. Default 5. */
  perWindow?: number;
  /** Window length, ms. Default 60 000. */
  windowMs?: number;
  /** Keys tracked at most; past it, everything tracked is summarised and forgotten. Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

interface Window {
  start: number;
  lines: number;
  suppressed: number;
}

/**
 * Rate limit for log lines that repeat: a few per (subject, code) and window, then one
 * summary line saying how many were held back. Subjects are remote addresses (without
 * it one client sending hellos writes megabytes of log per second) and files (an rrd
 * that fails every update).
 */
export class LogLimiter {
  readonly #logger: Logger;
  readonly #o: Required<Omit<LogLimiterOptions, 'now'>>;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(logger: Logger, options: LogLimiterOptions = {}) {
    this.#logger = logger;
    this.#o = { perWindow: options.perWindow ?? 5, windowMs: options.windowMs ?? 60_000, maxKeys: options.maxKeys ?? 10_000 };
    this.#now = options.now ?? Date.now;
  }

  /** Whether a line about this subject (a remote address, a file) and code may be logged now. */
  allow(subject: string, code: string): boolean {
    const key = `${subject}\0${code}`;
    const now = this.#now();
    let w = this.#windows.get(key);
    if (w && now - w.start >= this.#o.windowMs) {
      this.#summarise(key, w);
      w = undefined;
    }
    if (!w) {
      if (this.#windows.size >= this.#o.maxKeys) this.flush();
      w = { start: now, lines: 0, suppressed: 0 };
      this.#windows.set(key, w);
      this.#arm();
    }
    if (w.lines < this.#o.perWindow) {
      w.lines++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  /** Writes the summaries of every open window and forgets them (at a stop, or when full). */
  flush(): void {
    for (const [key, w] of this.#windows) this.#summarise(key, w);
    this.#windows.clear();
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.flush();
  }

  #summarise(key: string, w: Window): void {
    this.#windows.delete(key);
    if (w.suppressed === 0) return;
    const [subject, code] = key.split('\0');
    this.#logger.warn(
      { subject, code, suppressed: w.suppressed, windowS: Math.round(this.#o.windowMs / 1000) },
      `held back ${w.suppressed} more log lines of ${code} about ${subject}`,
    );
  }

  /** Closes windows nobody touches any more, so their summaries are not held back forever. */
  #arm(): void {
    if (this.#sweep) return;
    this.#sweep = setInterval(() => {
      const now = this.#now();
      for (const [key, w] of this.#windows) if (now - w.start >= this.#o.windowMs) this.#summarise(key, w);
      if (this.#windows.size === 0) {
        clearInterval(this.#sweep);
        this.#sweep = undefined;
      }
    }, this.#o.windowMs);
    this.#sweep.unref();
  }
}

/** The address part of `ip:port` / `[v6]:port`, so all connections of one host share a window. */
export function hostOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(remote.slice(i + 1)) ? remote.slice(0, i) : remote;
}

/**
 * "At most once every `intervalMs`" for one log line that repeats (a drop, a cap): the
 * returned function answers true the first time and then once the interval has passed.
 */
export function logThrottle(intervalMs: number, now: () => number = Date.now): () => boolean {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}
