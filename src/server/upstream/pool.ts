/**
 * A pool of upstream endpoints: least-in-flight choice among the healthy ones, periodic health checks,
 * taking a failed endpoint out at once and bringing it back when its health check passes again.
 */

/** One upstream server as the pool tracks it. */
export interface Endpoint {
  /** Base URL including the API prefix, e.g. http://gpu1:8000/v1 */
  readonly baseUrl: string;
  /** Root URL of the server (for /health, /version), e.g. http://gpu1:8000 */
  readonly rootUrl: string;
  healthy: boolean;
  inFlight: number;
  /** Last failure, for /health and logs. */
  lastError: string | null;
  /** Requests sent, for tests and metrics. */
  served: number;
}

/** Probes one endpoint; resolves true when it is healthy. Must not throw. */
export type HealthProbe = (endpoint: Endpoint, signal: AbortSignal) => Promise<boolean>;

/** Pool options. */
export interface PoolOptions {
  /** Milliseconds between health checks of every endpoint (default 5000; 0 disables the timer). */
  healthIntervalMs?: number;
  /** Milliseconds before a health probe counts as failed (default 2000). */
  healthTimeoutMs?: number;
  probe: HealthProbe;
  /** Called when an endpoint goes down or comes back. */
  onChange?: (endpoint: Endpoint, healthy: boolean) => void;
}

/** Splits an upstream URL into its API base (ending in /v1 or Z.ai's /v4) and its server root. */
export function endpointUrls(url: string): { baseUrl: string; rootUrl: string } {
  const u = new URL(url);
  let path = u.pathname.replace(/\/+$/, "");
  if (path.endsWith("/chat/completions")) path = path.slice(0, -"/chat/completions".length);
  if (!/\/v\d+$/.test(path)) path = `${path}/v1`;
  const root = `${u.protocol}//${u.host}`;
  return { baseUrl: `${root}${path}`, rootUrl: root };
}

/** Least-in-flight load spreading with health tracking. */
export class UpstreamPool {
  readonly endpoints: Endpoint[];
  private readonly options: PoolOptions;
  private timer: NodeJS.Timeout | undefined;
  private cursor = 0;
  private checking: Promise<void> | undefined;

  constructor(urls: string[], options: PoolOptions) {
    if (urls.length === 0) throw new RangeError("an upstream pool needs at least one URL");
    this.endpoints = urls.map((url) => ({
      ...endpointUrls(url),
      healthy: true,
      inFlight: 0,
      lastError: null,
      served: 0,
    }));
    this.options = options;
    const interval = options.healthIntervalMs ?? 5000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.checkAll(), interval);
      this.timer.unref();
    }
  }

  /** The healthy endpoint with the fewest requests in flight (ties rotate); undefined when all are down. */
  pick(
    exclude: ReadonlySet<Endpoint> = new Set(),
    accept: (e: Endpoint) => boolean = () => true,
  ): Endpoint | undefined {
    let best: Endpoint | undefined;
    const n = this.endpoints.length;
    for (let k = 0; k < n; k++) {
      const e = this.endpoints[(this.cursor + k) % n];
      if (!e.healthy || exclude.has(e) || !accept(e)) continue;
      if (!best || e.inFlight < best.inFlight) best = e;
    }
    if (best) this.cursor = (this.endpoints.indexOf(best) + 1) % n;
    return best;
  }

  /** Takes an endpoint out after a connection failure; the health check brings it back. */
  markDown(endpoint: Endpoint, reason: string): void {
    endpoint.lastError = reason;
    if (!endpoint.healthy) return;
    endpoint.healthy = false;
    this.options.onChange?.(endpoint, false);
  }

  /** Probes every endpoint once, updating health (joins a round already running). */
  checkAll(): Promise<void> {
    this.checking ??= Promise.all(this.endpoints.map((e) => this.check(e))).then(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(endpoint: Endpoint): Promise<void> {
    const signal = AbortSignal.timeout(this.options.healthTimeoutMs ?? 2000);
    let ok = false;
    try {
      ok = await this.options.probe(endpoint, signal);
    } catch {
      ok = false;
    }
    if (ok && !endpoint.healthy) {
      endpoint.healthy = true;
      endpoint.lastError = null;
      this.options.onChange?.(endpoint, true);
    } else if (!ok && endpoint.healthy) {
      this.markDown(endpoint, "health check failed");
    }
  }

  /** Stops the health-check timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
