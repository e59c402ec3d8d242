import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FakeHub, fixtureBytes } from "../../store/fake-hub.ts";
import { main } from "../main.ts";
import { captureIO } from "../testing.ts";
import { createListCommand } from "./list.ts";
import { createPullCommand, pullCommand } from "./pull.ts";
import { createRmCommand } from "./rm.ts";

const hub = new FakeHub();
let home: string;
const MODEL = fixtureBytes(40_000, 11);
const MMPROJ = fixtureBytes(10_000, 12);

before(async () => {
  await hub.start();
  home = await mkdtemp(join(tmpdir(), "glmv-cli-store-"));
  hub.addRepo({
    id: "test-org/Mini-GLM-OCR-GGUF",
    files: [
      { path: "Mini-GLM-OCR-Q8_0.gguf", data: MODEL },
      { path: "mmproj-Mini-GLM-OCR-F16.gguf", data: MMPROJ },
    ],
  });
});

after(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

const storeOptions = () => ({ env: { GLMV_HOME: home, HF_ENDPOINT: hub.url, HF_HOME: join(home, "hf") } });

test("pull prints the size notice and progress on stderr, the paths on stdout; list and rm follow", async () => {
  const pull = createPullCommand(storeOptions());
  const cap = captureIO();
  assert.equal(await pull.run(["test-org/Mini-GLM-OCR-GGUF"], cap.io), 0);
  assert.match(cap.err(), /Pulling test-org\/Mini-GLM-OCR-GGUF:Q8_0 at commit 0123456789ab/);
  assert.match(cap.err(), /mmproj {2}mmproj-Mini-GLM-OCR-F16\.gguf {2}10\.0 kB/);
  assert.match(cap.err(), /Downloading 50\.0 kB/);
  assert.match(cap.err(), /\[2\/2\] mmproj-Mini-GLM-OCR-F16\.gguf \[#{20}\] 100%.*done/);
  assert.match(cap.out(), /test-org\/Mini-GLM-OCR-GGUF:Q8_0 pulled \(50\.0 kB downloaded\), 50\.0 kB/);
  const modelPath = /model: {2}(\S+)/.exec(cap.out())![1];
  assert.deepEqual(await readFile(modelPath), Buffer.from(MODEL));

  const again = captureIO();
  assert.equal(await pull.run(["test-org/Mini-GLM-OCR-GGUF", "--json", "--quiet"], again.io), 0);
  const json = JSON.parse(again.out());
  assert.equal(json.upToDate, true);
  assert.equal(json.modelPath, modelPath);
  assert.equal(json.manifest.files.length, 2);

  const list = captureIO();
  assert.equal(await createListCommand(storeOptions()).run([], list.io), 0);
  const lines = list.out().trimEnd().split("\n");
  assert.match(lines[0], /^NAME\s+QUANT\s+SIZE\s+PULLED \(UTC\)$/);
  assert.match(lines[1], /^test-org\/Mini-GLM-OCR-GGUF:Q8_0\s+Q8_0\s+50\.0 kB\s+\d{4}-\d\d-\d\d \d\d:\d\d$/);
  const listJson = captureIO();
  await createListCommand(storeOptions()).run(["--json"], listJson.io);
  assert.equal(JSON.parse(listJson.out())[0].modelPath, modelPath);

  const removed = captureIO();
  assert.equal(await createRmCommand(storeOptions()).run(["test-org/Mini-GLM-OCR-GGUF:q8_0"], removed.io), 0);
  assert.match(removed.out(), /Removed test-org\/Mini-GLM-OCR-GGUF:Q8_0 \(freed 50\.0 kB\)/);
  const empty = captureIO();
  await createListCommand(storeOptions()).run([], empty.io);
  assert.match(empty.out(), /No models in .* yet\. Pull one with: glmv pull glm-4\.6v-flash/);
});

test("--dry-run lists files and downloads nothing", async () => {
  const cap = captureIO();
  hub.requests.length = 0;
  assert.equal(
    await createPullCommand(storeOptions()).run(["test-org/Mini-GLM-OCR-GGUF", "--dry-run"], cap.io),
    0,
  );
  assert.match(cap.out(), /model {3}Mini-GLM-OCR-Q8_0\.gguf {2}40\.0 kB/);
  assert.equal(hub.cdnRequests().length, 0);
});

test("errors reach the user as one clear line with exit 1; usage errors exit 2", async () => {
  // Through main: the registered command and the dispatcher's error printing.
  const previous = { ...process.env };
  process.env.GLMV_HOME = home;
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = join(home, "hf");
  try {
    const missing = captureIO();
    assert.equal(await main(["pull", "test-org/Mini-GLM-OCR-GGUF:Q2_K"], missing.io), 1);
    assert.match(
      missing.err(),
      /^glmv pull: test-org\/Mini-GLM-OCR-GGUF has no Q2_K file\. Available quantisations: Q8_0/,
    );
    const rmAbsent = captureIO();
    assert.equal(await main(["rm", "glm-ocr"], rmAbsent.io), 1);
    assert.match(rmAbsent.err(), /glmv rm: glm-ocr is not in the cache/);
    const usage = captureIO();
    assert.equal(await main(["pull"], usage.io), 2);
    assert.match(usage.err(), /name the model to pull/);
    const help = captureIO();
    assert.equal(await main(["pull", "--help"], help.io), 0);
    assert.equal(help.out(), pullCommand.help);
    assert.match(help.out(), /glm-4\.6v-flash\s+ggml-org\/GLM-4\.6V-Flash-GGUF:Q4_K_M/);
    assert.match(help.out(), /Examples:/);
  } finally {
    process.env = previous;
  }
});
