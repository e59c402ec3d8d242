import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { MediaError } from "./errors.ts";
import { fetchMedia } from "./fetch.ts";
import { cliPolicy, serverPolicy } from "./policy.ts";
import { decodeDataUri, loadSource, sourceKind } from "./source.ts";
import { makeImage, makePdf, tempDir } from "./test-media.ts";

const isMediaError = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof MediaError && e.code === code && (!pattern || pattern.test(e.message));

describe("sourceKind", () => {
  it("classifies strings without I/O", () => {
    assert.equal(sourceKind("data:image/png;base64,AAAA"), "data-uri");
    assert.equal(sourceKind("https://example.com/a.png"), "url");
    assert.equal(sourceKind("HTTP://example.com/a.png"), "url");
    assert.equal(sourceKind("file:///tmp/a.png"), "file-url");
    assert.equal(sourceKind("./a.png"), "path");
    assert.equal(sourceKind("ftp://example.com/a.png"), "other-url");
    assert.equal(sourceKind("C:\\photos\\a.png"), "path");
  });
});

describe("data: URIs and bytes", () => {
  let png: Uint8Array;
  before(async () => {
    png = await makeImage("png", 30, 30);
  });
  it("decodes base64 data: URIs and detects the type from the bytes, not the declared type", async () => {
    const uri = `data:application/octet-stream;base64,${Buffer.from(png).toString("base64")}`;
    const source = await loadSource(uri, serverPolicy());
    assert.equal(source.origin, "data");
    assert.equal(source.type.format, "png");
    assert.deepEqual(await source.read(), png);
  });
  it("refuses malformed data: URIs", () => {
    assert.throws(() => decodeDataUri("data:image/png;base64", 1e6), isMediaError("bad-data-uri", /comma/));
    assert.throws(
      () => decodeDataUri("data:image/png;base64,@@@!", 1e6),
      isMediaError("bad-data-uri", /base64/),
    );
  });
  it("refuses data: URIs over the size limit before decoding", () => {
    assert.throws(
      () => decodeDataUri(`data:image/png;base64,${"A".repeat(4000)}`, 1000),
      isMediaError("too-large"),
    );
  });
  it("refuses percent-encoded text as unsupported", async () => {
    await assert.rejects(
      loadSource("data:text/plain,hello%20world", serverPolicy()),
      isMediaError("unsupported-type"),
    );
  });
  it("accepts Uint8Array, ArrayBuffer and named bytes", async () => {
    assert.equal((await loadSource(png, serverPolicy())).type.format, "png");
    const ab = png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer;
    assert.equal((await loadSource(ab, serverPolicy())).origin, "bytes");
    const named = await loadSource({ data: png, name: "upload.png" }, serverPolicy());
    assert.equal(named.input, "upload.png");
  });
  it("refuses bytes over maxBytes and empty or junk input", async () => {
    await assert.rejects(loadSource(png, serverPolicy({ maxBytes: 10 })), isMediaError("too-large"));
    await assert.rejects(
      loadSource(new Uint8Array(), serverPolicy()),
      isMediaError("unsupported-type", /empty/),
    );
    await assert.rejects(loadSource("", serverPolicy()), isMediaError("invalid-argument"));
  });
});

describe("local files under the policy", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let allowed: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    allowed = join(dir, "allowed");
    await mkdir(join(allowed, "sub"), { recursive: true });
    await mkdir(join(dir, "outside"));
    const png = await makeImage("png", 30, 30);
    await writeFile(join(allowed, "sub", "ok.png"), png);
    await writeFile(join(dir, "outside", "secret.png"), png);
    await symlink(join(dir, "outside", "secret.png"), join(allowed, "escape.png"));
    await symlink(join(dir, "outside"), join(allowed, "escape-dir"));
    await symlink(join(allowed, "sub", "ok.png"), join(allowed, "inside-link.png"));
    await writeFile(join(dir, "outside", "doc.pdf"), await makePdf(1));
  });
  after(() => cleanup());

  it("reads files inside the allowed folder, by path and file: URL", async () => {
    const policy = serverPolicy({ localFiles: [allowed] });
    const a = await loadSource(join(allowed, "sub", "ok.png"), policy);
    assert.equal(a.type.format, "png");
    assert.equal(a.origin, "path");
    const b = await loadSource(pathToFileURL(join(allowed, "sub", "ok.png")).href, policy);
    assert.equal(b.type.format, "png");
    const c = await loadSource(join(allowed, "inside-link.png"), policy);
    assert.equal(c.path, a.path);
  });
  it("refuses '..' traversal out of the allowed folder", async () => {
    await assert.rejects(
      loadSource(join(allowed, "..", "outside", "secret.png"), serverPolicy({ localFiles: [allowed] })),
      isMediaError("not-allowed", /outside the allowed media folder/),
    );
  });
  it("does not reveal whether a file outside the allowed folder exists", async () => {
    const policy = serverPolicy({ localFiles: [allowed] });
    await assert.rejects(loadSource(join(dir, "outside", "nope.png"), policy), isMediaError("not-allowed"));
    await assert.rejects(loadSource(join(dir, "outside", "secret.png"), policy), isMediaError("not-allowed"));
    await assert.rejects(loadSource(join(allowed, "nope.png"), policy), isMediaError("not-found"));
  });
  it("refuses symlink escapes (file and folder links)", async () => {
    const policy = serverPolicy({ localFiles: [allowed] });
    await assert.rejects(loadSource(join(allowed, "escape.png"), policy), isMediaError("not-allowed"));
    await assert.rejects(
      loadSource(join(allowed, "escape-dir", "secret.png"), policy),
      isMediaError("not-allowed"),
    );
  });
  it("allows no local file at all by default in server mode", async () => {
    await assert.rejects(
      loadSource(join(allowed, "sub", "ok.png"), serverPolicy()),
      isMediaError("not-allowed", /not allowed here.*data: URI/),
    );
  });
  it("allows any local file in CLI mode, and reports missing files and folders", async () => {
    assert.equal((await loadSource(join(dir, "outside", "doc.pdf"), cliPolicy())).type.kind, "pdf");
    await assert.rejects(
      loadSource(join(dir, "nope.png"), cliPolicy()),
      isMediaError("not-found", /no such file/),
    );
    await assert.rejects(loadSource(allowed, cliPolicy()), isMediaError("not-found", /not a regular file/));
  });
  it("applies maxBytes when a large local file is read into memory", async () => {
    const source = await loadSource(join(allowed, "sub", "ok.png"), cliPolicy({ maxBytes: 10 }));
    assert.ok(source.bytes, "small files are read with the header");
  });
});

describe("URL fetches against a loopback server", () => {
  let server: Server;
  let base: string;
  let png: Uint8Array;
  const loopback = () => serverPolicy({ allowLoopback: true, timeoutMs: 2000 });

  before(async () => {
    png = await makeImage("png", 30, 30);
    server = createServer((req, res) => {
      const url = req.url ?? "/";
      if (url === "/good.png") {
        res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
        res.end(png);
      } else if (url === "/untyped") {
        res.writeHead(200);
        res.end(png);
      } else if (url === "/big") {
        res.writeHead(200, { "content-type": "image/png", "content-length": 5000 });
        res.end(Buffer.alloc(5000));
      } else if (url === "/big-chunked") {
        res.writeHead(200, { "content-type": "image/png" });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
        res.end();
      } else if (url === "/slow") {
        res.writeHead(200, { "content-type": "image/png" });
        res.write(png.subarray(0, 10)); // and never finish
      } else if (url === "/redirect") {
        res.writeHead(302, { location: "/good.png" });
        res.end();
      } else if (url.startsWith("/chain/")) {
        const n = Number(url.slice(7));
        res.writeHead(302, { location: n > 0 ? `/chain/${n - 1}` : "/good.png" });
        res.end();
      } else if (url === "/to-file") {
        res.writeHead(302, { location: "file:///etc/passwd" });
        res.end();
      } else if (url === "/to-private") {
        res.writeHead(302, { location: "http://10.255.255.1/x.png" });
        res.end();
      } else if (url === "/page") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<html></html>");
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("fetches a good image when loopback is explicitly allowed", async () => {
    const source = await loadSource(`${base}/good.png`, loopback());
    assert.equal(source.origin, "url");
    assert.equal(source.url, `${base}/good.png`);
    assert.equal(source.type.format, "png");
    assert.deepEqual(await source.read(), png);
  });
  it("accepts a response without a content type (the bytes are sniffed)", async () => {
    assert.equal((await fetchMedia(`${base}/untyped`, loopback())).bytes.length, png.length);
  });
  it("refuses loopback by default", async () => {
    await assert.rejects(
      fetchMedia(`${base}/good.png`, serverPolicy()),
      isMediaError("blocked-address", /127\.0\.0\.1, a loopback address/),
    );
  });
  it("refuses an oversized body from its Content-Length and while streaming", async () => {
    const policy = serverPolicy({ allowLoopback: true, maxBytes: 2000 });
    await assert.rejects(fetchMedia(`${base}/big`, policy), isMediaError("too-large", /5000 bytes/));
    await assert.rejects(
      fetchMedia(`${base}/big-chunked`, policy),
      isMediaError("too-large", /more than 2000/),
    );
  });
  it("gives up on a slow server at the time limit", async () => {
    await assert.rejects(
      fetchMedia(`${base}/slow`, serverPolicy({ allowLoopback: true, timeoutMs: 150 })),
      isMediaError("timeout", /150 ms/),
    );
  });
  it("follows redirects up to the limit, and no further", async () => {
    assert.equal((await fetchMedia(`${base}/redirect`, loopback())).finalUrl, `${base}/good.png`);
    assert.equal((await fetchMedia(`${base}/chain/2`, loopback())).bytes.length, png.length);
    await assert.rejects(
      fetchMedia(`${base}/chain/5`, serverPolicy({ allowLoopback: true, maxRedirects: 3 })),
      isMediaError("too-many-redirects", /more than 3/),
    );
  });
  it("re-checks every redirect hop: no file: URLs, no private addresses", async () => {
    await assert.rejects(
      fetchMedia(`${base}/to-file`, loopback()),
      isMediaError("not-allowed", /file: URLs/),
    );
    await assert.rejects(
      fetchMedia(`${base}/to-private`, loopback()),
      isMediaError("blocked-address", /10\.255\.255\.1, a private address/),
    );
  });
  it("refuses web pages by content type and reports HTTP errors", async () => {
    await assert.rejects(
      fetchMedia(`${base}/page`, loopback()),
      isMediaError("bad-content-type", /text\/html/),
    );
    await assert.rejects(fetchMedia(`${base}/missing`, loopback()), isMediaError("fetch-failed", /HTTP 404/));
  });
  it("resolves a host name once and connects to the checked address", async () => {
    const port = (server.address() as AddressInfo).port;
    let lookups = 0;
    const resolve = async (host: string) => {
      lookups++;
      assert.equal(host, "media.test");
      return [{ address: "127.0.0.1", family: 4 as const }];
    };
    const ok = await fetchMedia(
      `http://media.test:${port}/good.png`,
      serverPolicy({ allowLoopback: true, resolve }),
    );
    assert.equal(ok.bytes.length, png.length);
    assert.equal(lookups, 1);
    await assert.rejects(
      fetchMedia(`http://media.test:${port}/good.png`, serverPolicy({ resolve })),
      isMediaError("blocked-address", /media\.test resolves to 127\.0\.0\.1/),
    );
  });
  it("refuses a host whose answer mixes public and private addresses", async () => {
    const resolve = async () => [
      { address: "93.184.216.34", family: 4 as const },
      { address: "169.254.169.254", family: 4 as const },
    ];
    await assert.rejects(
      fetchMedia("http://mixed.test/a.png", serverPolicy({ resolve })),
      isMediaError("blocked-address", /link-local/),
    );
  });
  it("stops a fetch when the caller aborts", async () => {
    const controller = new AbortController();
    const pending = fetchMedia(
      `${base}/slow`,
      serverPolicy({ allowLoopback: true, timeoutMs: 5000 }),
      controller.signal,
    );
    setImmediate(() => controller.abort(new Error("cancelled by client")));
    await assert.rejects(pending, /cancelled by client/);
  });
  it("refuses URLs when remote media is off", async () => {
    await assert.rejects(
      fetchMedia(`${base}/good.png`, serverPolicy({ remote: false })),
      isMediaError("not-allowed"),
    );
  });
});
