/**
 * Guarded URL fetches for media: size, time and redirect limits, a content-type check, and an address policy
 * checked on the resolved IPs. DNS is resolved once per connection by our own lookup, and the socket connects
 * to exactly the address that was checked (no second lookup, so no DNS-rebinding window).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { refusedAddressClass } from "./address.ts";
import { describeInput, MediaError } from "./errors.ts";
import type { MediaPolicy, ResolvedAddress } from "./policy.ts";

/** A fetched body. */
export interface FetchedMedia {
  bytes: Uint8Array;
  /** The response's Content-Type without parameters ("" when absent). */
  contentType: string;
  /** The URL after redirects. */
  finalUrl: string;
}

const ACCEPTED_TYPES = [
  /^image\//,
  /^video\//,
  /^application\/pdf$/,
  /^application\/(octet-stream|x-pdf|binary|mp4|ogg|x-matroska)$/,
  /^binary\/octet-stream$/,
  /^application\/vnd\.openxmlformats-officedocument\.(presentationml|wordprocessingml)\./,
  /^application\/vnd\.ms-powerpoint$/,
  /^application\/msword$/,
  /^application\/vnd\.oasis\.opendocument\.(presentation|text)/,
];

/** Whether a response Content-Type can carry media ("" counts: the bytes are sniffed anyway). */
export function isAcceptedContentType(contentType: string): boolean {
  return contentType === "" || ACCEPTED_TYPES.some((re) => re.test(contentType));
}

function blocked(input: string, host: string, address: string, cls: string): MediaError {
  return new MediaError(
    "blocked-address",
    input,
    `${host} resolves to ${address}, a ${cls} address, which this server does not fetch from`,
    "Use a public URL, or send the file as a data: URI. (Operators: allow the address class in the media policy.)",
  );
}

async function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** A `lookup` for http.request that resolves once, refuses the whole answer if any address is refused. */
function checkedLookup(policy: MediaPolicy, input: string): LookupFunction {
  const resolve = policy.resolve ?? systemResolve;
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 4);
          return;
        }
        for (const a of addresses) {
          const cls = refusedAddressClass(a.address, policy);
          if (cls) {
            callback(blocked(input, hostname, a.address, cls) as NodeJS.ErrnoException, "", 4);
            return;
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        if (options.all) callback(null, usable as never);
        else callback(null, usable[0]?.address ?? "", usable[0]?.family ?? 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 4),
    );
  };
}

interface Hop {
  response: IncomingMessage;
}

function request(url: URL, policy: MediaPolicy, input: string, signal: AbortSignal): Promise<Hop> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host)) {
      const cls = refusedAddressClass(host, policy);
      if (cls) return reject(blocked(input, host, host, cls));
    }
    const client = url.protocol === "https:" ? https : http;
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: {
          "user-agent": "glmv-media/0.1",
          accept: "image/*, video/*, application/pdf, application/octet-stream;q=0.5, */*;q=0.1",
          "accept-encoding": "identity",
        },
        agent: false,
        lookup: isIP(host) ? undefined : checkedLookup(policy, input),
        signal,
      },
      (response) => resolve({ response }),
    );
    req.on("error", reject);
    req.end();
  });
}

function readBody(response: IncomingMessage, maxBytes: number, input: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    response.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        reject(tooLarge(input, `more than ${maxBytes} bytes`, maxBytes));
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () => {
      const body = Buffer.concat(chunks, total);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    });
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("connection closed before the body ended")));
  });
}

function tooLarge(input: string, size: string, maxBytes: number): MediaError {
  return new MediaError(
    "too-large",
    input,
    `the response is ${size}, over the limit of ${maxBytes} bytes`,
    "Use a smaller file, or raise maxBytes in the media policy.",
  );
}

/**
 * Fetches an http(s) URL under the policy's limits. Redirects are followed by hand (each hop re-checked);
 * every failure is a MediaError naming the URL.
 */
export async function fetchMedia(
  url: string,
  policy: MediaPolicy,
  signal?: AbortSignal,
): Promise<FetchedMedia> {
  const input = describeInput(url);
  if (!policy.remote) {
    throw new MediaError(
      "not-allowed",
      input,
      "fetching URLs is turned off",
      "Send the file itself (bytes or a data: URI), or enable remote media in the policy.",
    );
  }
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, policy.timeoutMs);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    throw new MediaError("invalid-argument", input, "this is not a valid URL", "Check the address.");
  }
  try {
    for (let redirects = 0; ; redirects++) {
      if (current.protocol !== "http:" && current.protocol !== "https:") {
        throw new MediaError(
          "not-allowed",
          input,
          `${current.protocol} URLs cannot be fetched${redirects > 0 ? " (reached by a redirect)" : ""}`,
          "Use an http or https URL.",
        );
      }
      const { response } = await request(current, policy, input, controller.signal);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.destroy();
        if (redirects >= policy.maxRedirects) {
          throw new MediaError(
            "too-many-redirects",
            input,
            `more than ${policy.maxRedirects} redirects`,
            "Use the final URL of the file directly.",
          );
        }
        current = new URL(response.headers.location, current);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw new MediaError(
          "fetch-failed",
          input,
          `the server answered HTTP ${status}`,
          "Check that the URL is right and publicly reachable.",
        );
      }
      const contentType = (response.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (!isAcceptedContentType(contentType)) {
        response.destroy();
        throw new MediaError(
          "bad-content-type",
          input,
          `the server sent ${contentType}, not an image, video or document`,
          "Link to the media file itself, not to a web page about it.",
        );
      }
      const length = Number(response.headers["content-length"]);
      if (Number.isFinite(length) && length > policy.maxBytes) {
        response.destroy();
        throw tooLarge(input, `${length} bytes`, policy.maxBytes);
      }
      const bytes = await readBody(response, policy.maxBytes, input);
      return { bytes, contentType, finalUrl: current.href };
    }
  } catch (error) {
    if (error instanceof MediaError) throw error;
    if (signal?.aborted) throw signal.reason;
    if (timedOut) {
      throw new MediaError(
        "timeout",
        input,
        `the download did not finish within ${policy.timeoutMs} ms`,
        "Try again, use a faster host, or raise timeoutMs in the media policy.",
        { cause: error },
      );
    }
    const text = error instanceof Error ? error.message : String(error);
    throw new MediaError(
      "fetch-failed",
      input,
      `the download failed (${text})`,
      "Check the URL and network.",
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Checks a URL that glmv will not fetch itself (pass-through to a remote engine): http(s) only, remote media
 * allowed, and its host resolving to allowed addresses only, so the server cannot be used to point an upstream
 * at internal services. (The upstream resolves again when it fetches; this is a best-effort gate.)
 */
export async function checkUrlTarget(url: string, policy: MediaPolicy): Promise<URL> {
  const input = describeInput(url);
  if (!policy.remote) {
    throw new MediaError(
      "not-allowed",
      input,
      "URLs are turned off",
      "Send the file itself (bytes or a data: URI), or enable remote media in the policy.",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MediaError("invalid-argument", input, "this is not a valid URL", "Check the address.");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new MediaError(
      "not-allowed",
      input,
      `${parsed.protocol} URLs cannot be used`,
      "Use an http or https URL.",
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolve)(host);
    } catch (cause) {
      throw new MediaError("fetch-failed", input, `${host} does not resolve`, "Check the host name.", {
        cause,
      });
    }
  }
  for (const a of addresses) {
    const cls = refusedAddressClass(a.address, policy);
    if (cls) throw blocked(input, host, a.address, cls);
  }
  return parsed;
}
