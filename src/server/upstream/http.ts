/**
 * A lean HTTP client for upstream calls: node:http/https with keep-alive agents. It costs a fraction of
 * `fetch` per request and per chunk (no WHATWG streams in between), which keeps the gateway's added latency
 * small. Aborting the signal destroys the socket at once, so the upstream sees the cancellation.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const httpAgent = new HttpAgent({
  keepAlive: true,
  maxSockets: Number.POSITIVE_INFINITY,
  maxFreeSockets: 256,
});
const httpsAgent = new HttpsAgent({
  keepAlive: true,
  maxSockets: Number.POSITIVE_INFINITY,
  maxFreeSockets: 256,
});

/** An upstream response whose body is read as a stream of bytes. */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: IncomingMessage["headers"];
  body: AsyncIterable<Uint8Array>;
  /** Reads the whole body as text. */
  text(): Promise<string>;
  /** Discards the body. */
  discard(): void;
}

/** The request could not be sent or its headers did not arrive. */
export class HttpConnectError extends Error {
  override name = "HttpConnectError";
}

/**
 * Sends one request. Rejects with HttpConnectError on connection failure or when no headers arrive within
 * `headersTimeoutMs`, and with the signal's reason when aborted.
 */
export function sendRequest(
  url: string,
  init: {
    method: "GET" | "POST";
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    headersTimeoutMs?: number;
    /** Most ms between two pieces of the body before the response counts as stalled (default: no limit). */
    idleTimeoutMs?: number;
  },
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = init;
    if (signal?.aborted) return reject(signal.reason);
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const headers = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = (secure ? httpsRequest : httpRequest)(target, {
      method: init.method,
      headers,
      agent: secure ? httpsAgent : httpAgent,
    });
    let settled = false;
    const timer =
      init.headersTimeoutMs !== undefined
        ? setTimeout(() => {
            if (settled) return;
            settled = true;
            req.destroy();
            reject(new HttpConnectError(`no response headers within ${init.headersTimeoutMs} ms`));
          }, init.headersTimeoutMs)
        : undefined;
    const onAbort = () => {
      req.destroy();
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(signal?.reason);
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    req.once("error", (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(signal?.aborted ? signal.reason : new HttpConnectError(error.message));
    });
    req.once("response", (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      res.once("close", () => signal?.removeEventListener("abort", onAbort));
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        headers: res.headers,
        body: init.idleTimeoutMs === undefined ? res : withIdleTimeout(res, init.idleTimeoutMs),
        async text() {
          const parts: Buffer[] = [];
          for await (const c of res) parts.push(c as Buffer);
          return Buffer.concat(parts).toString("utf8");
        },
        discard() {
          res.resume();
        },
      });
    });
    req.end(init.body);
  });
}

/** The upstream sent nothing for too long in the middle of a response. */
export class UpstreamStalledError extends Error {
  override name = "UpstreamStalledError";
}

/** Iterates a response body, destroying it when no chunk arrives within `ms`. */
async function* withIdleTimeout(res: IncomingMessage, ms: number): AsyncGenerator<Uint8Array> {
  const iterator = res[Symbol.asyncIterator]();
  try {
    for (;;) {
      const timer = setTimeout(
        () =>
          res.destroy(new UpstreamStalledError(`the upstream sent nothing for ${Math.round(ms / 1000)} s`)),
        ms,
      );
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
