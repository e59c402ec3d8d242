/**
 * The request queue in front of a backend: at most `slots` generations run at once, at most `maxWaiting`
 * requests wait (FIFO), and the rest are refused with 429 and a Retry-After estimated from recent holds.
 */
import { QueueFullError } from "./errors.ts";

/** Releases a slot; idempotent. */
export type Release = () => void;

interface Waiter {
  resolve: (release: Release) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

/** A FIFO slot limiter with a bounded wait list. */
export class SlotQueue {
  readonly slots: number;
  readonly maxWaiting: number;
  private running = 0;
  private waiters: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Exponential moving average of how long a slot is held, ms. */
  private meanHoldMs = 1000;

  constructor(slots: number, maxWaiting: number) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`slots must be an integer >= 1 (got ${slots})`);
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) {
      throw new RangeError(`queue size must be an integer >= 0 (got ${maxWaiting})`);
    }
    this.slots = slots;
    this.maxWaiting = maxWaiting;
  }

  /** Generations holding a slot now. */
  get inFlight(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Seconds a refused client should wait before retrying (1–60). */
  retryAfterSeconds(): number {
    const perSlot = this.meanHoldMs / 1000;
    const estimate = Math.ceil((perSlot * (this.waiters.length + 1)) / this.slots);
    return Math.min(60, Math.max(1, estimate));
  }

  /**
   * Waits for a slot. Throws QueueFullError when the wait list is full, or the signal's reason when it
   * aborts while waiting (the waiter is removed at once).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.slots && this.waiters.length === 0) return Promise.resolve(this.grant());
    if (this.waiters.length >= this.maxWaiting)
      return Promise.reject(new QueueFullError(this.retryAfterSeconds()));
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
        this.checkIdle();
      };
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses every waiter with `error` (used when shutting down). */
  rejectWaiting(error: unknown): void {
    const list = this.waiters;
    this.waiters = [];
    for (const w of list) {
      w.cleanup();
      w.reject(error);
    }
    this.checkIdle();
  }

  private grant(): Release {
    this.running++;
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.meanHoldMs = 0.8 * this.meanHoldMs + 0.2 * (performance.now() - started);
      this.running--;
      const next = this.waiters.shift();
      if (next) {
        next.cleanup();
        next.resolve(this.grant());
      } else {
        this.checkIdle();
      }
    };
  }

  private checkIdle(): void {
    if (this.running !== 0 || this.waiters.length !== 0) return;
    const list = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of list) resolve();
  }
}
