import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { metaString, readGguf, readTensorF32 } from "../gguf/reader.ts";
import { gv } from "../gguf/types.ts";
import { encodeGguf } from "../gguf/writer.ts";
import {
  ChecksumMismatchError,
  DiskFullError,
  HubAuthError,
  HubNotFoundError,
  ModelNotCachedError,
  ModelNotFoundError,
  ModelRefError,
  NetworkError,
  OfflineError,
  QuantNotFoundError,
} from "./errors.ts";
import { FakeHub, fixtureBytes, sha256Hex } from "./fake-hub.ts";
import type { DownloadProgress } from "./progress.ts";
import { listModels, type PullPlan, planPull, pullModel, removeModel, resolveModel } from "./store.ts";

// Big enough that a connection drop mid-file leaves bytes to resume from (the client reads under backpressure).
const Q4 = fixtureBytes(2_000_000, 1);
const Q8 = fixtureBytes(500_000, 2);
const MMPROJ_F16 = fixtureBytes(120_000, 3);
const MMPROJ_Q8 = fixtureBytes(60_000, 4);
const README = new TextEncoder().encode("# tiny\n");
const OCR = fixtureBytes(50_000, 5);
const OCR_MMPROJ = fixtureBytes(20_000, 6);

const hub = new FakeHub();
let root: string;
let home: string;

/** Options every call uses: the temp cache, the loopback hub, no token from the user's machine, fast retries. */
function opts(extraEnv: Record<string, string> = {}) {
  return {
    env: { GLMV_HOME: home, HF_ENDPOINT: hub.url, HF_HOME: join(root, "hf"), ...extraEnv },
    retryDelayMs: 0,
    idleTimeoutMs: 5000,
  };
}

/** A fetch that fails the test if called: proves a code path stays offline. */
const noNetwork: typeof fetch = async () => {
  throw new Error("network used");
};

before(async () => {
  await hub.start();
  root = await mkdtemp(join(tmpdir(), "glmv-store-"));
});

after(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  home = await mkdtemp(join(root, "home-"));
  hub.requests.length = 0;
  hub.corrupt.clear();
  hub.dropAfter.clear();
  hub.failWith.clear();
  hub.stallAfter.clear();
  hub.ignoreRange = false;
  hub.addRepo({
    id: "test-org/Tiny-GLM-4.6V-Flash-GGUF",
    files: [
      { path: ".gitattributes", data: README, lfs: false },
      { path: "README.md", data: README, lfs: false },
      { path: "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf", data: Q4 },
      { path: "Tiny-GLM-4.6V-Flash-Q8_0.gguf", data: Q8 },
      { path: "mmproj-Tiny-GLM-4.6V-Flash-Q8_0.gguf", data: MMPROJ_Q8 },
      { path: "mmproj-Tiny-GLM-4.6V-Flash-F16.gguf", data: MMPROJ_F16 },
    ],
  });
  hub.addRepo({
    id: "test-org/Gated-OCR-GGUF",
    gated: true,
    files: [
      { path: "GLM-OCR-Q8_0.gguf", data: OCR },
      { path: "mmproj-GLM-OCR-Q8_0.gguf", data: OCR_MMPROJ },
    ],
  });
});

describe("pull", () => {
  test("downloads model + preferred mmproj through the CDN redirect, verifies, writes the manifest", async () => {
    const plans: PullPlan[] = [];
    const progress: DownloadProgress[] = [];
    const result = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", {
      ...opts(),
      onPlan: (p) => void plans.push(p),
      onProgress: (p) => progress.push(p),
    });
    // Default quant Q4_K_M; F16 mmproj preferred over Q8_0.
    assert.equal(result.manifest.quant, "Q4_K_M");
    assert.deepEqual(await readFile(result.modelPath), Buffer.from(Q4));
    assert.deepEqual(await readFile(result.mmprojPath!), Buffer.from(MMPROJ_F16));
    assert.equal(
      result.modelPath,
      join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF", "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf"),
    );
    assert.equal(result.downloadedBytes, Q4.length + MMPROJ_F16.length);
    assert.equal(result.upToDate, false);

    // The size notice comes before any byte.
    assert.equal(plans.length, 1);
    assert.equal(plans[0].downloadBytes, Q4.length + MMPROJ_F16.length);
    assert.equal(plans[0].family, "glm-4.6v-flash");

    // Files came through resolve → 302 → /cdn/.
    assert.ok(hub.requests.some((r) => r.url.includes("/resolve/")));
    assert.equal(hub.cdnRequests().length, 2);

    // Progress: per file, ending in done with full size.
    const done = progress.filter((p) => p.done);
    assert.deepEqual(
      done.map((p) => [p.file, p.received, p.total, p.fileIndex, p.fileCount]),
      [
        ["Tiny-GLM-4.6V-Flash-Q4_K_M.gguf", Q4.length, Q4.length, 1, 2],
        ["mmproj-Tiny-GLM-4.6V-Flash-F16.gguf", MMPROJ_F16.length, MMPROJ_F16.length, 2, 2],
      ],
    );

    const manifest = JSON.parse(
      await readFile(join(home, "manifests", "test-org", "Tiny-GLM-4.6V-Flash-GGUF", "Q4_K_M.json"), "utf8"),
    );
    assert.equal(manifest.ref, "test-org/Tiny-GLM-4.6V-Flash-GGUF:Q4_K_M");
    assert.equal(manifest.commit, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(manifest.revision, "main");
    assert.equal(manifest.family, "glm-4.6v-flash");
    assert.ok(!Number.isNaN(Date.parse(manifest.pulledAt)));
    assert.deepEqual(manifest.files, [
      { role: "model", path: "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf", size: Q4.length, sha256: sha256Hex(Q4) },
      {
        role: "mmproj",
        path: "mmproj-Tiny-GLM-4.6V-Flash-F16.gguf",
        size: MMPROJ_F16.length,
        sha256: sha256Hex(MMPROJ_F16),
      },
    ]);
    // No leftovers.
    const dir = join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF");
    assert.equal(existsSync(join(dir, "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf.part")), false);
    assert.equal(existsSync(join(dir, "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf.lock")), false);
  });

  test("a second pull is up to date and downloads nothing; another quant reuses the shared mmproj", async () => {
    await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    hub.requests.length = 0;
    const again = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:q4_k_m", opts());
    assert.equal(again.upToDate, true);
    assert.equal(hub.cdnRequests().length, 0);

    const q8 = await pullModel("test-org/tiny-glm-4.6v-flash-gguf:Q8_0", opts());
    assert.equal(q8.manifest.quant, "Q8_0");
    assert.equal(q8.manifest.repo, "test-org/Tiny-GLM-4.6V-Flash-GGUF"); // the hub's spelling
    assert.deepEqual(
      hub.cdnRequests().map((r) => r.url.split("path=")[1]),
      [encodeURIComponent("test-org/tiny-glm-4.6v-flash-gguf/Tiny-GLM-4.6V-Flash-Q8_0.gguf")],
    );
  });

  test("resolving a pulled model never touches the network", async () => {
    const pulled = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    for (const ref of ["test-org/Tiny-GLM-4.6V-Flash-GGUF", "test-org/TINY-GLM-4.6V-FLASH-GGUF:Q4_K_M"]) {
      const r = await resolveModel(ref, { ...opts(), fetch: noNetwork, pull: true });
      assert.equal(r.modelPath, pulled.modelPath);
      assert.equal(r.mmprojPath, pulled.mmprojPath);
      assert.equal(r.manifest.commit, pulled.manifest.commit);
    }
    // Offline mode also serves it.
    const offline = await resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", {
      ...opts({ HF_HUB_OFFLINE: "1" }),
      fetch: noNetwork,
    });
    assert.equal(offline.modelPath, pulled.modelPath);
    const offlinePull = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", {
      ...opts({ GLMV_OFFLINE: "1" }),
      fetch: noNetwork,
    });
    assert.equal(offlinePull.checkedHub, false);
  });

  test("resolveModel downloads on first use only when pull is true", async () => {
    await assert.rejects(resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts()), (e: Error) => {
      assert.ok(e instanceof ModelNotCachedError);
      assert.match(e.message, /glmv pull test-org\/Tiny-GLM-4.6V-Flash-GGUF/);
      return true;
    });
    const r = await resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q8_0", { ...opts(), pull: true });
    assert.deepEqual(await readFile(r.modelPath), Buffer.from(Q8));
  });

  test("offline mode forbids downloading with a clear error", async () => {
    const envs: Record<string, string>[] = [{ GLMV_OFFLINE: "1" }, { HF_HUB_OFFLINE: "true" }];
    for (const env of envs) {
      await assert.rejects(
        resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(env), pull: true, fetch: noNetwork }),
        (e: Error) => e instanceof OfflineError && /GLMV_OFFLINE/.test(e.message),
      );
    }
  });

  test("a missing cached file makes resolve pull again", async () => {
    const pulled = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    await rm(pulled.mmprojPath!);
    await assert.rejects(
      resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), fetch: noNetwork }),
      (e: Error) => e instanceof ModelNotCachedError && /incomplete/.test(e.message),
    );
    hub.requests.length = 0;
    const r = await resolveModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), pull: true });
    assert.deepEqual(await readFile(r.mmprojPath!), Buffer.from(MMPROJ_F16));
    assert.equal(hub.cdnRequests().length, 1, "only the missing file is fetched");
  });
});

describe("errors", () => {
  test("gated repo: 401 without a token names HF_TOKEN; with HF_TOKEN the pull works and sends Bearer", async () => {
    await assert.rejects(pullModel("test-org/Gated-OCR-GGUF", opts()), (e: Error) => {
      assert.ok(e instanceof HubAuthError);
      assert.equal(e.status, 401);
      assert.match(e.message, /HF_TOKEN/);
      assert.match(e.message, /gated/);
      return true;
    });
    // The refused download leaves nothing behind.
    assert.equal(
      existsSync(join(home, "models", "test-org", "Gated-OCR-GGUF", "GLM-OCR-Q8_0.gguf.part")),
      false,
    );
    const ok = await pullModel("test-org/Gated-OCR-GGUF", opts({ HF_TOKEN: hub.token }));
    assert.equal(ok.manifest.quant, "Q8_0"); // no Q4_K_M: the second default
    assert.equal(ok.manifest.family, "glm-ocr");
    assert.ok(
      hub.requests.some((r) => r.url.includes("/resolve/") && r.authorization === `Bearer ${hub.token}`),
    );
  });

  test("the token is not sent to a CDN on another origin", async () => {
    const cdn = new FakeHub();
    await cdn.start();
    try {
      cdn.addRepo({
        id: "test-org/Gated-OCR-GGUF",
        files: [
          { path: "GLM-OCR-Q8_0.gguf", data: OCR },
          { path: "mmproj-GLM-OCR-Q8_0.gguf", data: OCR_MMPROJ },
        ],
      });
      hub.cdnBase = cdn.url;
      const ok = await pullModel("test-org/Gated-OCR-GGUF", opts({ HF_TOKEN: hub.token }));
      assert.deepEqual(await readFile(ok.modelPath), Buffer.from(OCR));
      assert.equal(cdn.cdnRequests().length, 2);
      assert.ok(cdn.requests.every((r) => r.authorization === undefined));
      assert.equal(hub.cdnRequests().length, 0);
    } finally {
      hub.cdnBase = "";
      await cdn.close();
    }
  });

  test("a private repository looks missing without a token; the error suggests HF_TOKEN", async () => {
    hub.addRepo({ id: "test-org/Private-GGUF", private: true, files: [{ path: "P-Q8_0.gguf", data: OCR }] });
    await assert.rejects(
      pullModel("test-org/Private-GGUF", opts()),
      (e: Error) => e instanceof HubNotFoundError && /if it is private, set HF_TOKEN/.test(e.message),
    );
    const ok = await pullModel("test-org/Private-GGUF", opts({ HF_TOKEN: hub.token }));
    assert.equal(ok.manifest.quant, "Q8_0");
  });

  test("a wrong token is reported as rejected", async () => {
    await assert.rejects(
      pullModel("test-org/Gated-OCR-GGUF", opts({ HF_TOKEN: "bad" })),
      (e: Error) => e instanceof HubAuthError && /rejected HF_TOKEN/.test(e.message),
    );
  });

  test("404 repository, missing quantisation listing what exists, bad revision", async () => {
    await assert.rejects(
      pullModel("test-org/Nope-GGUF", opts()),
      (e: Error) => e instanceof HubNotFoundError && /Nope-GGUF not found/.test(e.message),
    );
    await assert.rejects(pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q5_K_M", opts()), (e: Error) => {
      assert.ok(e instanceof QuantNotFoundError);
      assert.deepEqual(e.available, ["Q4_K_M", "Q8_0"]);
      assert.match(e.message, /Available quantisations: Q4_K_M \(2\.00 MB\), Q8_0 \(500 kB\)/);
      return true;
    });
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF@v9", opts()),
      (e: Error) => e instanceof HubNotFoundError && /Revision "v9"/.test(e.message),
    );
  });

  test("unreachable hub is a NetworkError with the fix", async () => {
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts({ HF_ENDPOINT: "http://127.0.0.1:9/" })),
      (e: Error) => e instanceof NetworkError && /Could not reach 127\.0\.0\.1:9/.test(e.message),
    );
  });

  test("checksum mismatch deletes the bad file and says retry; the retry succeeds", async () => {
    hub.corrupt.add("Tiny-GLM-4.6V-Flash-Q4_K_M.gguf");
    await assert.rejects(pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts()), (e: Error) => {
      assert.ok(e instanceof ChecksumMismatchError);
      assert.match(e.message, /deleted; run the pull again/);
      return true;
    });
    const dir = join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF");
    assert.equal(existsSync(join(dir, "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf")), false);
    assert.equal(existsSync(join(dir, "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf.part")), false);
    assert.equal(
      existsSync(join(home, "manifests", "test-org", "Tiny-GLM-4.6V-Flash-GGUF", "Q4_K_M.json")),
      false,
    );
    hub.corrupt.clear();
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
  });

  test("not enough disk space is refused before downloading", async () => {
    hub.addRepo({
      id: "test-org/Huge-GGUF",
      files: [{ path: "Huge-Q4_K_M.gguf", data: Q4 }],
      listedSizes: { "Huge-Q4_K_M.gguf": 4e15 },
    });
    await assert.rejects(
      pullModel("test-org/Huge-GGUF", opts()),
      (e: Error) =>
        e instanceof DiskFullError && /needs 4000 TB/.test(e.message) && /GLMV_HOME/.test(e.message),
    );
    assert.equal(hub.cdnRequests().length, 0);
  });

  test("the disk filling up while writing is a DiskFullError that keeps the partial file for a resume", {
    skip: !existsSync("/dev/full") && "needs /dev/full (Linux)",
  }, async () => {
    // Make the .part file /dev/full, where every write fails with ENOSPC.
    const dir = join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF");
    const part = join(dir, "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf.part");
    await mkdir(dir, { recursive: true });
    await symlink("/dev/full", part);
    await writeFile(`${part}.json`, JSON.stringify({ url: "x", size: Q4.length, sha256: sha256Hex(Q4) }));
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts()),
      (e: Error) => e instanceof DiskFullError && /disk is full/.test(e.message) && /resumes/.test(e.message),
    );
  });

  test("a server error status is retried, then reported", async () => {
    hub.failWith.set("Tiny-GLM-4.6V-Flash-Q4_K_M.gguf", 503);
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), retries: 1 }),
      (e: Error) => /503/.test(e.message),
    );
    assert.equal(hub.cdnRequests().length, 2);
  });
});

describe("resume", () => {
  const file = "Tiny-GLM-4.6V-Flash-Q4_K_M.gguf";
  const partFile = () => join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF", `${file}.part`);

  test("a dropped connection leaves a .part; the next pull resumes with Range and verifies", async () => {
    hub.dropAfter.set(file, 1_200_000);
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), retries: 0 }),
      (e: Error) => e instanceof NetworkError && /resumes/.test(e.message),
    );
    // What reached the .part before the drop (all of it, or nearly: bytes queued unread when the socket
    // closes are lost, which is fine: the resume asks for exactly what is missing).
    const kept = (await stat(partFile())).size;
    assert.ok(kept > 0 && kept <= 1_200_000, `kept ${kept}`);

    const plan = await planPull("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.equal(plan.files[0].partialBytes, kept);
    assert.equal(plan.downloadBytes, Q4.length - kept + MMPROJ_F16.length);

    hub.requests.length = 0;
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
    const first = hub.cdnRequests()[0];
    assert.equal(first.range, `bytes=${kept}-`);
    assert.equal(first.ifRange, `"${sha256Hex(Q4)}"`);
    assert.equal(ok.downloadedBytes, Q4.length - kept + MMPROJ_F16.length);
  });

  test("within one pull, a drop is retried automatically from where it stopped", async () => {
    hub.dropAfter.set(file, 1_000_000);
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
    const ranges = hub.cdnRequests().map((r) => r.range);
    assert.equal(ranges.length, 3);
    assert.equal(ranges[0], undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 1_000_000, String(ranges[1]));
    assert.equal(ranges[2], undefined, "the mmproj starts from zero");
    assert.equal(ok.downloadedBytes, Q4.length + MMPROJ_F16.length);
  });

  test("an aborted pull stops, keeps the .part and its lock is released; the next pull resumes", async () => {
    const controller = new AbortController();
    await assert.rejects(
      pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", {
        ...opts(),
        signal: controller.signal,
        onProgress: (p) => {
          if (p.received > 0) controller.abort(new Error("stopped by test"));
        },
      }),
      /stopped by test/,
    );
    const kept = (await stat(partFile())).size;
    assert.ok(kept > 0 && kept < Q4.length);
    assert.equal(existsSync(partFile().replace(/\.part$/, ".lock")), false);
    hub.requests.length = 0;
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
    assert.equal(hub.cdnRequests()[0].range, `bytes=${kept}-`);
  });

  test("a stalled connection is abandoned after the idle timeout and resumed", async () => {
    hub.stallAfter.set(file, 1_000_000);
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), idleTimeoutMs: 300 });
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
    assert.match(hub.cdnRequests()[1].range ?? "", /^bytes=\d+-$/);
  });

  test("a server that ignores Range restarts the file from zero and still verifies", async () => {
    hub.dropAfter.set(file, 1_000_000);
    await assert.rejects(pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", { ...opts(), retries: 0 }));
    hub.ignoreRange = true;
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
  });

  test("a .part from different content (sidecar sha differs) is discarded, not resumed", async () => {
    await mkdir(join(home, "models", "test-org", "Tiny-GLM-4.6V-Flash-GGUF"), { recursive: true });
    await writeFile(partFile(), fixtureBytes(1000, 99));
    await writeFile(
      `${partFile()}.json`,
      JSON.stringify({ url: "x", size: Q4.length, sha256: "0".repeat(64) }),
    );
    const ok = await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.deepEqual(await readFile(ok.modelPath), Buffer.from(Q4));
    assert.equal(hub.cdnRequests()[0].range, undefined);
  });
});

describe("list and rm", () => {
  test("list shows pulled models; rm frees files but keeps those another quant uses", async () => {
    assert.deepEqual(await listModels(opts()), []);
    await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q4_K_M", opts());
    await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q8_0", opts());
    const list = await listModels(opts());
    assert.deepEqual(
      list.map((e) => [e.name, e.quant, e.size, e.complete]),
      [
        ["test-org/Tiny-GLM-4.6V-Flash-GGUF:Q4_K_M", "Q4_K_M", Q4.length + MMPROJ_F16.length, true],
        ["test-org/Tiny-GLM-4.6V-Flash-GGUF:Q8_0", "Q8_0", Q8.length + MMPROJ_F16.length, true],
      ],
    );

    const removed = await removeModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q4_K_M", opts());
    assert.equal(removed.freedBytes, Q4.length);
    assert.equal(existsSync(list[0].modelPath), false);
    assert.equal(existsSync(list[1].mmprojPath!), true, "the shared mmproj stays");

    const rest = await removeModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts());
    assert.equal(rest.freedBytes, Q8.length + MMPROJ_F16.length);
    assert.equal(existsSync(join(home, "models", "test-org")), false);
    assert.equal(existsSync(join(home, "manifests", "test-org")), false);
    assert.deepEqual(await listModels(opts()), []);
  });

  test("rm of an absent model is a clear error", async () => {
    await assert.rejects(
      removeModel("test-org/Tiny-GLM-4.6V-Flash-GGUF", opts()),
      (e: Error) => e instanceof ModelNotFoundError && /glmv list/.test(e.message),
    );
    await pullModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q8_0", opts());
    await assert.rejects(
      removeModel("test-org/Tiny-GLM-4.6V-Flash-GGUF:Q4_K_M", opts()),
      (e: Error) => e instanceof ModelNotFoundError && /cached as Q8_0/.test(e.message),
    );
    await assert.rejects(removeModel("./x.gguf", opts()), ModelRefError);
  });
});

describe("aliases", () => {
  test("an alias pulls its repository (with the published file names), lists under its name, resolves offline", async () => {
    // The real layout of ggml-org/GLM-OCR-GGUF (verified names), with tiny bytes.
    hub.addRepo({
      id: "ggml-org/GLM-OCR-GGUF",
      files: [
        { path: "GLM-OCR-Q8_0.gguf", data: OCR },
        { path: "GLM-OCR-f16.gguf", data: Q8 },
        { path: "mmproj-GLM-OCR-Q8_0.gguf", data: OCR_MMPROJ },
      ],
    });
    const plans: PullPlan[] = [];
    const pulled = await resolveModel("glm-ocr", {
      ...opts(),
      pull: true,
      onPlan: (p) => void plans.push(p),
    });
    assert.equal(plans[0].alias, "glm-ocr");
    assert.equal(pulled.manifest.quant, "Q8_0");
    assert.equal(pulled.manifest.alias, "glm-ocr");
    assert.equal(pulled.manifest.family, "glm-ocr");
    assert.ok(pulled.mmprojPath?.endsWith("mmproj-GLM-OCR-Q8_0.gguf"));
    await pullModel("GLM-OCR:F16", opts());
    assert.deepEqual(
      (await listModels(opts())).map((e) => e.name),
      ["glm-ocr:f16", "glm-ocr"], // sorted by reference: …:F16 before …:Q8_0
    );
    const offline = await resolveModel("glm-ocr", { ...opts({ GLMV_OFFLINE: "1" }), fetch: noNetwork });
    assert.equal(offline.modelPath, pulled.modelPath);
    const removed = await removeModel("glm-ocr", opts());
    assert.equal(removed.removed.length, 2, "an alias without :QUANT removes every pulled quantisation");
    assert.deepEqual(await listModels(opts()), []);
  });
});

describe("real GGUF bytes", () => {
  test("a tiny GGUF written by src/gguf arrives intact and readable", async () => {
    const gguf = encodeGguf({
      metadata: { "general.architecture": gv.str("glm4"), "glm4.embedding_length": gv.u32(8) },
      tensors: [{ name: "token_embd.weight", ne: [8, 4], type: "F32", data: new Float32Array(32).fill(0.5) }],
    });
    hub.addRepo({ id: "test-org/Real-GGUF", files: [{ path: "Real-Q8_0.gguf", data: gguf }] });
    const pulled = await pullModel("test-org/Real-GGUF", opts());
    assert.equal(pulled.mmprojPath, undefined);
    const file = readGguf(pulled.modelPath);
    assert.equal(metaString(file, "general.architecture"), "glm4");
    assert.deepEqual(readTensorF32(file, "token_embd.weight"), new Float32Array(32).fill(0.5));
  });
});

describe("local paths", () => {
  test("a .gguf file (with the mmproj beside it that belongs to it); a folder picks model and mmproj", async () => {
    const dir = join(root, "local-model");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "m-Q4_K_M.gguf"), Q4);
    await writeFile(join(dir, "m-Q8_0.gguf"), Q8);
    await writeFile(join(dir, "mmproj-m-f16.gguf"), MMPROJ_F16);

    const file = await resolveModel(join(dir, "m-Q8_0.gguf"), { ...opts(), fetch: noNetwork });
    assert.equal(file.modelPath, join(dir, "m-Q8_0.gguf"));
    assert.equal(
      file.mmprojPath,
      join(dir, "mmproj-m-f16.gguf"),
      "the mmproj named after the model, beside it",
    );
    assert.equal(file.manifest.endpoint, "local");
    assert.equal(file.manifest.quant, "Q8_0");

    // A folder mixing models: no guessing for a model the mmproj is not named after.
    await writeFile(join(dir, "other-Q4_0.gguf"), Q8);
    const lone = await resolveModel(join(dir, "other-Q4_0.gguf"), { ...opts(), fetch: noNetwork });
    assert.equal(lone.mmprojPath, undefined);
    await rm(join(dir, "other-Q4_0.gguf"));

    const folder = await resolveModel(dir, { ...opts(), fetch: noNetwork });
    assert.equal(folder.modelPath, join(dir, "m-Q4_K_M.gguf"));
    assert.equal(folder.mmprojPath, join(dir, "mmproj-m-f16.gguf"));

    const rel = await resolveModel("./local-model:q8_0", { ...opts(), cwd: root, fetch: noNetwork });
    assert.equal(rel.modelPath, join(dir, "m-Q8_0.gguf"));

    await assert.rejects(resolveModel(join(dir, "mmproj-m-f16.gguf"), opts()), /vision projector/);
    await assert.rejects(resolveModel(join(root, "missing.gguf"), opts()), /No such file/);
  });
});
