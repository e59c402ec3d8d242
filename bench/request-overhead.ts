/**
 * glmv's own work per request (issue 3): everything around the engine for one chat turn with a 1-megapixel
 * image — the model's chat template rendered, the image prepared (decode, orient, smart_resize, RGB) and the
 * generated text parsed by the streaming parser — timed against the irreducible part measured in the same run:
 * sharp's bare decode + resize of the same JPEG to the same grid. Goal: under 30 ms in all.
 * Usage: node bench/request-overhead.ts [--runs N]
 */
import os from "node:os";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { tinyTemplate } from "../src/engines/tiny/model.ts";
import { cliPolicy } from "../src/media/policy.ts";
import { prepareMediaParts } from "../src/media/prepare.ts";
import { renderPrompt, StreamParser } from "../src/protocol/index.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "30" } } });
const RUNS = Math.max(3, Number(values.runs));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// A 1000×1000 photo-like JPEG (noise, so the decoder does real work).
const noise = Buffer.alloc(1000 * 1000 * 3);
for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
const jpeg = new Uint8Array(
  await sharp(noise, { raw: { width: 1000, height: 1000, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer(),
);
const template = tinyTemplate("glm-4.6v-flash");
const answer =
  "<think>" +
  "The user asks where the cat is. I look at the picture: a sofa, a window, and a cat on the left cushion. ".repeat(
    12,
  ) +
  "</think>The cat sits on the left cushion: <|begin_of_box|>[112,340,418,702]<|end_of_box|>.";
const chunks = answer.match(/[\s\S]{1,4}/g) ?? [];

const stages = {
  template: [] as number[],
  media: [] as number[],
  parse: [] as number[],
  reference: [] as number[],
};
for (let r = 0; r < RUNS + 2; r++) {
  const t0 = performance.now();
  const prompt = renderPrompt(template, {
    family: "glm-4.6v-flash",
    messages: [{ role: "user", content: [{ type: "image" }, { type: "text", text: "Where is the cat?" }] }],
  });
  const t1 = performance.now();
  const [image] = await prepareMediaParts(jpeg, {
    family: "glm-4.6v-flash",
    policy: cliPolicy(),
    kind: "image",
  });
  const t2 = performance.now();
  const parser = new StreamParser({ family: "glm-4.6v-flash", thinkOpenVisible: true });
  for (const c of chunks) parser.push(c);
  const { output } = parser.finish();
  const t3 = performance.now();
  if (!prompt.includes("<|image|>") || image.kind !== "image" || output.boxes.length !== 1) {
    throw new Error("the benchmark's request did not go through");
  }
  await sharp(jpeg).resize(image.width, image.height, { kernel: "cubic", fit: "fill" }).raw().toBuffer();
  const t4 = performance.now();
  if (r < 2) continue; // warm-up
  stages.template.push(t1 - t0);
  stages.media.push(t2 - t1);
  stages.parse.push(t3 - t2);
  stages.reference.push(t4 - t3);
}
const total = stages.template.map((_, i) => stages.template[i] + stages.media[i] + stages.parse[i]);
const fmt = (n: number) => n.toFixed(2);
const load = os.loadavg()[0].toFixed(1);
console.log(`## glmv's own work per request, 1-megapixel image (issue 3)
- date: ${new Date().toISOString().slice(0, 10)}, machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${load}, node: ${process.version}
- command: \`node bench/request-overhead.ts --runs ${RUNS}\` (medians; ${chunks.length} streamed chunks of 4 characters parsed)
- reference: sharp's bare decode + bicubic resize of the same JPEG to the same grid (${1000}×${1000} → model grid)

| stage | glmv (ms) |
|---|---:|
| chat template render | ${fmt(median(stages.template))} |
| image preparation (detect, decode, orient, smart_resize, RGB) | ${fmt(median(stages.media))} |
| streaming parse of the answer | ${fmt(median(stages.parse))} |
| **total** | **${fmt(median(total))}** |

| case | glmv | reference | ratio (glmv / reference) | goal |
|---|---:|---:|---:|---|
| own work per request (ms) | ${fmt(median(total))} | ${fmt(median(stages.reference))} | ${(median(total) / median(stages.reference)).toFixed(2)} | total < 30 ms |
`);
