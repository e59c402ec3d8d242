/**
 * What the media pipeline may read: local folders, remote URLs, network address classes and size/time limits.
 * The CLI trusts its user; the server trusts nobody by default.
 */

/** An address as a resolver returns it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Rules applied to every source before any byte is decoded. */
export interface MediaPolicy {
  /** Local files: `"any"` (CLI), or the folders files must lie under after resolving symlinks (`[]`: none). */
  localFiles: "any" | readonly string[];
  /** Whether http(s) URLs may be fetched at all. */
  remote: boolean;
  /** Allow loopback addresses (127.0.0.0/8, ::1, 0.0.0.0) in URL fetches. */
  allowLoopback: boolean;
  /** Allow private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, ...). */
  allowPrivateNetwork: boolean;
  /** Allow link-local addresses (169.254/16, fe80::/10; cloud metadata lives here). */
  allowLinkLocal: boolean;
  /** Largest input in bytes: fetched bodies, data: URIs, bytes, local files read into memory. */
  maxBytes: number;
  /** Whole-fetch time limit in ms (connect, redirects and body together). */
  timeoutMs: number;
  /** Most redirects a fetch follows. */
  maxRedirects: number;
  /** Decompression-bomb guard: the most pixels a source image may have. */
  maxInputPixels: number;
  /** DNS override (tests, custom resolvers). Default: the system resolver (`dns.lookup`). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

const MiB = 1024 * 1024;

/** The server's default: no local files unless folders are named, public URLs only, 100 MiB, 30 s, 5 redirects. */
export function serverPolicy(overrides: Partial<MediaPolicy> = {}): MediaPolicy {
  return {
    localFiles: [],
    remote: true,
    allowLoopback: false,
    allowPrivateNetwork: false,
    allowLinkLocal: false,
    maxBytes: 100 * MiB,
    timeoutMs: 30_000,
    maxRedirects: 5,
    maxInputPixels: 100_000_000,
    ...overrides,
  };
}

/**
 * The CLI's default: the user's own files and network. Local files anywhere, any address, 2 GiB, 120 s.
 * (Local videos are streamed to ffmpeg, not read into memory.)
 */
export function cliPolicy(overrides: Partial<MediaPolicy> = {}): MediaPolicy {
  return {
    localFiles: "any",
    remote: true,
    allowLoopback: true,
    allowPrivateNetwork: true,
    allowLinkLocal: true,
    maxBytes: 2048 * MiB,
    timeoutMs: 120_000,
    maxRedirects: 10,
    maxInputPixels: 100_000_000,
    ...overrides,
  };
}
