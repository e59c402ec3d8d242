/**
 * `npm run bench:engine`: glmv's embedded engine vs a plain synchronous C-API loop over the same llama.cpp
 * libraries, in one run, on the ~344M benchmark model (hidden 1024, 16 layers; engine-notes §1).
 *
 *   prefill: one 512-token batch after [gMASK]<sop> (n_batch = n_ubatch = 512, n_ctx 1024)
 *   decode:  128 greedy steps after a 2-token prompt (sample + detokenize + decode per step, as llama-bench tg)
 *
 * The reference is written here directly with koffi (main thread, no worker, no glmv code). Every measurement
 * runs in a fresh child process (warm-up, then one prefill and one decode run), reference and glmv alternating;
 * medians and best-of are reported, the ratio being the median of the per-run (paired) ratios.
 *
 * Options: --quant q4_0|q8_0|f16 (default q4_0), --threads N (default 2), --runs N (default 3), --model PATH
 * (skip generation), --json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import koffi from "koffi";
// Importing the binding registers its struct types (glmv_llama_*) with koffi; the reference names them below.
import "../src/engines/embedded/binding.ts";
import { loadEmbeddedEngine } from "../src/engines/embedded/engine.ts";
import { type TinyQuant, writeTinyModel } from "../src/engines/tiny/model.ts";

const { values } = parseArgs({
  options: {
    quant: { type: "string", default: "q4_0" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    model: { type: "string" },
    json: { type: "boolean" },
    child: { type: "string" },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const quant = values.quant as TinyQuant;
const PP = 512;
const TG = 128;
const CTX = 1024;

function benchModel(): string {
  if (values.model) return values.model;
  const dir = join(import.meta.dirname, "out", `bench-${quant}`);
  const path = join(dir, "model.gguf");
  if (!existsSync(path)) {
    process.stderr.write(`writing the benchmark model (${quant}) to ${path} …\n`);
    writeTinyModel(dir, { size: "bench", quant });
  }
  return path;
}

// ---------------------------------------------------------------- reference: plain C API through koffi
// Only the struct layouts (checked against llama.h by binding.test.ts) are shared with glmv; the loop is its own.
function reference(modelPath: string) {
  const req = createRequire(import.meta.url);
  const pkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
  const libDir = join(dirname(dirname(req.resolve(pkg))), "bins", `${process.platform}-${process.arch}`);
  const files = readdirSync(libDir);
  const lib = (re: RegExp) => koffi.load(join(libDir, files.find((f) => re.test(f))!));
  lib(/^libggml-base\.so$/);
  const ggml = lib(/^libggml\.v[\d.]+\.so$|^libggml\.so$/);
  const llama = lib(/^libllama\.v[\d.]+\.so$|^libllama\.so$/);
  const f = {
    loadAll: ggml.func("void ggml_backend_load_all_from_path(const char*)"),
    devCount: ggml.func("size_t ggml_backend_dev_count()"),
    logSet: llama.func("void llama_log_set(void*, void*)"),
    init: llama.func("void llama_backend_init()"),
    mparams: llama.func("glmv_llama_model_params llama_model_default_params()"),
    cparams: llama.func("glmv_llama_context_params llama_context_default_params()"),
    load: llama.func("void* llama_model_load_from_file(const char*, glmv_llama_model_params)"),
    ctxInit: llama.func("void* llama_init_from_model(void*, glmv_llama_context_params)"),
    vocab: llama.func("void* llama_model_get_vocab(void*)"),
    tokenize: llama.func("int32 llama_tokenize(void*, const char*, int32, _Out_ int32*, int32, bool, bool)"),
    piece: llama.func("int32 llama_token_to_piece(void*, int32, _Out_ uint8*, int32, int32, bool)"),
    decode: llama.func("int32 llama_decode(void*, glmv_llama_batch)"),
    memory: llama.func("void* llama_get_memory(void*)"),
    clear: llama.func("void llama_memory_clear(void*, bool)"),
    chain: llama.func("void* llama_sampler_chain_init(glmv_llama_sampler_chain_params)"),
    add: llama.func("void llama_sampler_chain_add(void*, void*)"),
    greedy: llama.func("void* llama_sampler_init_greedy()"),
    sample: llama.func("int32 llama_sampler_sample(void*, void*, int32)"),
    accept: llama.func("void llama_sampler_accept(void*, int32)"),
    sfree: llama.func("void llama_sampler_free(void*)"),
    free: llama.func("void llama_free(void*)"),
    mfree: llama.func("void llama_model_free(void*)"),
  };
  const quiet = koffi.register(
    () => {},
    koffi.pointer(koffi.proto("void bench_log(int, const char*, void*)")),
  );
  f.logSet(quiet, null);
  if (Number(f.devCount()) === 0) f.loadAll(libDir);
  f.init();
  const mp = f.mparams();
  mp.n_gpu_layers = 0;
  const model = f.load(modelPath, mp);
  const cp = f.cparams();
  Object.assign(cp, { n_ctx: CTX, n_batch: PP, n_ubatch: PP, n_threads: threads, n_threads_batch: threads });
  const ctx = f.ctxInit(model, cp);
  const vocab = f.vocab(model);
  const mem = f.memory(ctx);
  const cap = PP;
  const tok = koffi.alloc("int32", cap);
  const pos = koffi.alloc("int32", cap);
  const nseq = koffi.alloc("int32", cap);
  const zero = koffi.alloc("int32", 1);
  const seqs = koffi.alloc("void*", cap);
  const logits = koffi.alloc("int8", cap);
  const vTok = new Int32Array(koffi.view(tok, cap * 4));
  const vPos = new Int32Array(koffi.view(pos, cap * 4));
  new Int32Array(koffi.view(nseq, cap * 4)).fill(1);
  new Int32Array(koffi.view(zero, 4))[0] = 0;
  new BigUint64Array(koffi.view(seqs, cap * 8)).fill(koffi.address(zero) as bigint);
  const vLog = new Int8Array(koffi.view(logits, cap));
  const batch = (n: number) => ({
    n_tokens: n,
    token: tok,
    embd: null,
    pos,
    n_seq_id: nseq,
    seq_id: seqs,
    logits,
  });
  const tokenize = (text: string) => {
    const out = new Int32Array(4096);
    const n = f.tokenize(vocab, text, Buffer.byteLength(text), out, out.length, false, true);
    return Array.from(out.subarray(0, n));
  };
  const buf = new Uint8Array(256);
  return {
    tokenize,
    /** Decodes `ids` as one batch from an empty cache; returns tokens/s. */
    /** Decodes `prefix` (untimed), then `ids` as one batch after it; returns tokens/s of the `ids` batch. */
    prefill(prefix: number[], ids: number[]): number {
      f.clear(mem, true);
      const put = (list: number[], start: number) => {
        for (let i = 0; i < list.length; i++) {
          vTok[i] = list[i];
          vPos[i] = start + i;
          vLog[i] = i === list.length - 1 ? 1 : 0;
        }
      };
      put(prefix, 0);
      if (f.decode(ctx, batch(prefix.length)) !== 0) throw new Error("reference prefix failed");
      put(ids, prefix.length);
      const t0 = performance.now();
      if (f.decode(ctx, batch(ids.length)) !== 0) throw new Error("reference prefill failed");
      return (ids.length * 1000) / (performance.now() - t0);
    },
    /** After a short prompt: `n` greedy steps (sample, piece, decode); returns tokens/s. */
    decode(prompt: number[], n: number): number {
      f.clear(mem, true);
      for (let i = 0; i < prompt.length; i++) {
        vTok[i] = prompt[i];
        vPos[i] = i;
        vLog[i] = i === prompt.length - 1 ? 1 : 0;
      }
      if (f.decode(ctx, batch(prompt.length)) !== 0) throw new Error("reference prompt failed");
      const chain = f.chain({ no_perf: true });
      f.add(chain, f.greedy());
      const dec = new TextDecoder();
      let p = prompt.length;
      const t0 = performance.now();
      for (let k = 0; k < n; k++) {
        const t = f.sample(chain, ctx, -1);
        f.accept(chain, t);
        const len = f.piece(vocab, t, buf, buf.length, 0, true);
        dec.decode(buf.subarray(0, Math.max(0, len)), { stream: true });
        if (k === n - 1) break;
        vTok[0] = t;
        vPos[0] = p++;
        vLog[0] = 1;
        if (f.decode(ctx, batch(1)) !== 0) throw new Error("reference decode failed");
      }
      const ms = performance.now() - t0;
      f.sfree(chain);
      return (n * 1000) / ms;
    },
    close() {
      f.logSet(quiet, null); // the engine's worker reset the process-wide logger when it closed
      f.free(ctx);
      f.mfree(model);
      koffi.free(tok);
      koffi.free(pos);
      koffi.free(nseq);
      koffi.free(zero);
      koffi.free(seqs);
      koffi.free(logits);
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Measure = { pp: number; tg: number };

/** Candidate single-token words that make each prompt differ right after [gMASK]<sop>. */
const CANDIDATES = [
  " a",
  " b",
  " c",
  " d",
  " e",
  " f",
  " g",
  " h",
  " i",
  " j",
  " k",
  " m",
  " n",
  " o",
  " p",
  " s",
];

/** One measurement in this process (a child of the bench): warm-up, then one prefill and one decode run. */
async function child(kind: "ref" | "glmv", modelPath: string): Promise<Measure> {
  const words = " the".repeat(PP - 1);
  const short = "[gMASK]<sop>";
  if (kind === "ref") {
    const ref = reference(modelPath);
    const markers = CANDIDATES.filter((w) => ref.tokenize(w).length === 1);
    const ids = (k: number) => ref.tokenize(`${markers[k]}${words}`);
    if (ids(0).length !== PP) throw new Error(`prompt is ${ids(0).length} tokens, expected ${PP}`);
    // As in glmv: [gMASK]<sop> is in the cache, then 512 tokens are decoded in one batch.
    const prefix = ref.tokenize(short);
    ref.prefill(prefix, ids(0));
    ref.decode(prefix, TG);
    const m = { pp: ref.prefill(prefix, ids(1)), tg: ref.decode(ref.tokenize(`${short}${markers[2]}`), TG) };
    ref.close();
    return m;
  }
  const engine = await loadEmbeddedEngine({ model: modelPath, contextSize: CTX, threads, batchSize: PP });
  const glmv = async (prompt: string, maxTokens: number) => {
    for await (const ev of engine.generate({ prompt, media: [], options: { temperature: 0, maxTokens } })) {
      if (ev.type === "done") return ev.result;
    }
    throw new Error("no result");
  };
  const markers: string[] = [];
  for (const w of CANDIDATES) if ((await engine.countTokens(w)) === 1) markers.push(w);
  // The prompts differ right after [gMASK]<sop>, so prefix reuse keeps 2 tokens and exactly 512 are decoded.
  await glmv(`${short}${markers[5]}`, 1);
  await glmv(`${short}${markers[0]}${words}`, 1);
  await glmv(`${short}${markers[3]}`, TG);
  const p = await glmv(`${short}${markers[1]}${words}`, 1);
  const decoded = p.usage.promptTokens - (p.usage.cachedPromptTokens ?? 0);
  if (decoded !== PP) throw new Error(`glmv decoded ${decoded} prompt tokens, expected ${PP}`);
  const t = await glmv(`${short}${markers[2]}`, TG);
  if (t.usage.completionTokens !== TG) throw new Error(`glmv generated ${t.usage.completionTokens} tokens`);
  await engine.close();
  return { pp: p.timings.promptTokensPerSecond, tg: t.timings.decodeTokensPerSecond };
}

function spawnChild(kind: "ref" | "glmv", modelPath: string): Measure {
  const out = execFileSync(
    process.execPath,
    [
      import.meta.filename,
      "--child",
      kind,
      "--model",
      modelPath,
      "--threads",
      String(threads),
      "--quant",
      quant,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Measure;
}

async function main() {
  const loadBefore = loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  const modelPath = benchModel();
  if (values.child === "ref" || values.child === "glmv") {
    process.stdout.write(`${JSON.stringify(await child(values.child, modelPath))}\n`);
    return;
  }
  // Each measurement runs in its own process (the reference's and glmv's ggml thread pools never coexist), the
  // order alternating per run; pairs (reference, glmv) of the same run give the per-run ratios.
  const results = {
    refPP: [] as number[],
    refTG: [] as number[],
    glmvPP: [] as number[],
    glmvTG: [] as number[],
  };
  for (let r = 0; r < runs; r++) {
    const order: ("ref" | "glmv")[] = r % 2 === 0 ? ["ref", "glmv"] : ["glmv", "ref"];
    for (const kind of order) {
      const m = spawnChild(kind, modelPath);
      if (kind === "ref") {
        results.refPP.push(m.pp);
        results.refTG.push(m.tg);
      } else {
        results.glmvPP.push(m.pp);
        results.glmvTG.push(m.tg);
      }
    }
  }
  // The ratio is the median of per-run ratios: each glmv run is paired with the reference run just before it, so
  // load from other processes on a shared machine affects both sides of a pair alike.
  // Best-of is reported too: on a shared machine the fastest run is the one least disturbed by other processes.
  const row = (name: string, g: number[], rf: number[]) => ({
    case: name,
    glmv: median(g),
    reference: median(rf),
    ratio: median(g.map((x, i) => x / rf[i])),
    best: { glmv: Math.max(...g), reference: Math.max(...rf), ratio: Math.max(...g) / Math.max(...rf) },
    samples: { glmv: g.map((x) => +x.toFixed(1)), reference: rf.map((x) => +x.toFixed(1)) },
  });
  const rows = [
    row(`prefill pp${PP} (t/s)`, results.glmvPP, results.refPP),
    row(`decode tg${TG} (t/s)`, results.glmvTG, results.refTG),
  ];
  const machine = `${cpus()[0]?.model ?? "cpu"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ machine, node: process.version, quant, threads, runs, rows }, null, 2)}\n`,
    );
    return;
  }
  const summary = `median of ${runs}: ratio = median of per-run ratios`;
  process.stdout.write(
    `## Embedded engine vs plain C-API loop (${quant}, ${threads} threads, ${summary})\n` +
      `- date: ${new Date().toISOString().slice(0, 10)}, machine: ${machine}, node: ${process.version}, ` +
      `load average before: ${loadBefore}, after: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}\n` +
      `- command: \`npm run bench:engine -- --quant ${quant} --threads ${threads} --runs ${runs}\`\n\n` +
      "| case | glmv | reference | ratio (glmv / reference) | goal |\n|---|---:|---:|---:|---|\n" +
      rows
        .map(
          (r) =>
            `| ${r.case}, median | ${r.glmv.toFixed(1)} | ${r.reference.toFixed(1)} | ${r.ratio.toFixed(2)} | ≥ 0.95 |\n` +
            `| ${r.case}, best | ${r.best.glmv.toFixed(1)} | ${r.best.reference.toFixed(1)} | ${r.best.ratio.toFixed(2)} | ≥ 0.95 |`,
        )
        .join("\n") +
      "\n\nsamples: " +
      rows
        .map((r) => `${r.case}: glmv ${r.samples.glmv.join("/")}, reference ${r.samples.reference.join("/")}`)
        .join("; ") +
      "\n",
  );
}

await main();
