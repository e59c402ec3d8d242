/**
 * A tiny Hugging Face hub on 127.0.0.1 for tests: the API subset the store uses (model info with LFS sha256,
 * `resolve` redirecting to a "CDN" path, Range and If-Range), a gated repository, and faults on demand
 * (a corrupted body, a connection dropped mid-file, an error status). Test support only.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file the fake hub serves. */
export interface FakeFile {
  path: string;
  data: Uint8Array;
  /** Stored in LFS (listed with `lfs.sha256`, served through the CDN redirect). Default true. */
  lfs?: boolean;
}

/** A repository on the fake hub. */
export interface FakeRepo {
  id: string;
  commit?: string;
  files: FakeFile[];
  /** Downloads need `Authorization: Bearer <FakeHub.token>` (the listing stays public, as on the hub). */
  gated?: boolean;
  /** Invisible without the token: the hub then answers 401 RepoNotFound, as for a repository that does not exist. */
  private?: boolean;
  /** Overrides the sizes the listing reports (to fake huge files). */
  listedSizes?: Record<string, number>;
}

/** One request the fake hub received. */
export interface FakeRequest {
  method: string;
  url: string;
  range?: string;
  ifRange?: string;
  authorization?: string;
}

/** sha256 hex of bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Deterministic pseudo-random bytes (so fixtures need no files). */
export function fixtureBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The loopback hub. `start()` it, point HF_ENDPOINT at `url`, `close()` it after. */
export class FakeHub {
  readonly token = "hf_test_token";
  readonly requests: FakeRequest[] = [];
  /** Paths whose CDN body is served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Path → byte count: the next download of that path sends this many bytes, then drops the connection. */
  readonly dropAfter = new Map<string, number>();
  /** Path → byte count: the next download of that path sends this many bytes, then stalls (sends nothing). */
  readonly stallAfter = new Map<string, number>();
  /** Path → status the CDN answers instead of the file. */
  readonly failWith = new Map<string, number>();
  /** When set, the CDN ignores Range headers (answers 200 with the whole file). */
  ignoreRange = false;
  /** Base URL of another FakeHub serving the CDN paths (a different origin); default: this hub. */
  cdnBase = "";
  private readonly repos = new Map<string, FakeRepo>();
  private server?: Server;
  url = "";

  /** Adds (or replaces) a repository. */
  addRepo(repo: FakeRepo): void {
    this.repos.set(repo.id.toLowerCase(), { commit: "0123456789abcdef0123456789abcdef01234567", ...repo });
  }

  /** Starts listening on 127.0.0.1 (a free port); resolves to the base URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Stops the server and drops open connections. */
  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Requests to the CDN path (actual file bodies), for assertions. */
  cdnRequests(): FakeRequest[] {
    return this.requests.filter((r) => r.url.startsWith("/cdn/"));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push({
      method: req.method ?? "GET",
      url: url.pathname + url.search,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers["if-range"] ? { ifRange: String(req.headers["if-range"]) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] === "api" && parts[1] === "models" && parts[4] === "revision") {
      this.info(req, res, `${parts[2]}/${parts[3]}`, parts.slice(5).join("/"));
      return;
    }
    if (parts[0] === "cdn") {
      this.cdn(req, res, parts[1], url.searchParams.get("path") ?? "");
      return;
    }
    if (parts[2] === "resolve") {
      this.resolve(req, res, `${parts[0]}/${parts[1]}`, parts.slice(4).join("/"));
      return;
    }
    res.writeHead(404).end();
  }

  private authorised(req: IncomingMessage, repo: FakeRepo, res: ServerResponse): boolean {
    if (!repo.gated) return true;
    const auth = req.headers.authorization;
    if (auth === `Bearer ${this.token}`) return true;
    res.writeHead(401, {
      "X-Error-Code": "GatedRepo",
      "X-Error-Message": `Access to model ${repo.id} is restricted.`,
    });
    res.end(JSON.stringify({ error: `Access to model ${repo.id} is restricted.` }));
    return false;
  }

  private info(req: IncomingMessage, res: ServerResponse, id: string, revision: string): void {
    const repo = this.repos.get(id.toLowerCase());
    if (!repo) {
      res.writeHead(404, { "X-Error-Code": "RepoNotFound", "Content-Type": "application/json" });
      return void res.end(JSON.stringify({ error: "Repository not found" }));
    }
    if (repo.private && req.headers.authorization !== `Bearer ${this.token}`) {
      res.writeHead(401, { "X-Error-Code": "RepoNotFound", "Content-Type": "application/json" });
      return void res.end(JSON.stringify({ error: "Repository not found" }));
    }
    // Like the real hub, a gated repository's listing is public; its files need the token.
    if (revision !== "main" && revision !== repo.commit) {
      res.writeHead(404, { "X-Error-Code": "RevisionNotFound" });
      return void res.end(JSON.stringify({ error: "Invalid rev id" }));
    }
    const siblings = repo.files.map((f) => {
      const size = repo.listedSizes?.[f.path] ?? f.data.byteLength;
      return f.lfs === false
        ? { rfilename: f.path, size, blobId: sha256Hex(f.data).slice(0, 40) }
        : {
            rfilename: f.path,
            size,
            blobId: sha256Hex(f.data).slice(0, 40),
            lfs: { sha256: sha256Hex(f.data), size, pointerSize: 134 },
          };
    });
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({ id: repo.id, sha: repo.commit, gated: repo.gated ? "manual" : false, siblings }),
    );
  }

  private resolve(req: IncomingMessage, res: ServerResponse, id: string, path: string): void {
    const repo = this.repos.get(id.toLowerCase());
    if (!repo) {
      res.writeHead(404, { "X-Error-Code": "RepoNotFound" });
      return void res.end();
    }
    if (!this.authorised(req, repo, res)) return;
    const file = repo.files.find((f) => f.path === path);
    if (!file) {
      res.writeHead(404, { "X-Error-Code": "EntryNotFound" });
      return void res.end();
    }
    const sha = sha256Hex(file.data);
    if (file.lfs === false) {
      this.send(req, res, file, sha);
      return;
    }
    res.writeHead(302, {
      Location: `${this.cdnBase}/cdn/${sha}?path=${encodeURIComponent(`${repo.id.toLowerCase()}/${path}`)}`,
      "X-Repo-Commit": repo.commit ?? "",
      "X-Linked-Etag": `"${sha}"`,
      "X-Linked-Size": String(file.data.byteLength),
    });
    res.end();
  }

  private cdn(req: IncomingMessage, res: ServerResponse, sha: string, key: string): void {
    const [owner, name, ...rest] = key.split("/");
    const repo = this.repos.get(`${owner}/${name}`);
    const file = repo?.files.find((f) => f.path === rest.join("/") && sha256Hex(f.data) === sha);
    if (!file) return void res.writeHead(404).end();
    this.send(req, res, file, sha);
  }

  private send(req: IncomingMessage, res: ServerResponse, file: FakeFile, sha: string): void {
    const status = this.failWith.get(file.path);
    if (status !== undefined) return void res.writeHead(status).end("fault injected");
    let body = Buffer.from(file.data);
    if (this.corrupt.has(file.path) && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const etag = `"${sha}"`;
    const headers: Record<string, string> = { ETag: etag, "Accept-Ranges": "bytes" };
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    if (range && !this.ignoreRange && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { "Content-Range": `bytes */${body.length}` });
        return void res.end();
      }
      headers["Content-Range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    headers["Content-Length"] = String(slice.length);
    res.writeHead(headers["Content-Range"] ? 206 : 200, headers);
    const stall = this.stallAfter.get(file.path);
    if (stall !== undefined) {
      this.stallAfter.delete(file.path);
      res.write(slice.subarray(0, stall));
      return;
    }
    const drop = this.dropAfter.get(file.path);
    if (drop !== undefined) {
      this.dropAfter.delete(file.path);
      res.write(slice.subarray(0, drop), () => setImmediate(() => res.socket?.destroy()));
      return;
    }
    res.end(slice);
  }
}
