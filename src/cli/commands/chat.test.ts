import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeTinyModel } from "../../engines/tiny/model.ts";
import { runGlmv } from "../testing.ts";
import { type ChatState, slashCommand } from "./chat.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "glmv-chat-"));
  writeTinyModel(join(dir, "m"), { script: "<think>Hmm.</think>Hello there." });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function newState(): ChatState {
  return { history: [], pending: [], thinking: true };
}

test("slash commands change the session state", async () => {
  const state = newState();
  assert.match(String(await slashCommand("/image a.png", state)), /attached a\.png/);
  assert.deepEqual(state.pending, [{ type: "image_url", image_url: { url: "a.png" } }]);
  assert.match(String(await slashCommand("/video b.mp4", state)), /cannot be combined/);
  assert.equal(state.pending.length, 1);
  assert.equal(await slashCommand("/think off", state), "reasoning off");
  assert.equal(state.thinking, false);
  assert.match(String(await slashCommand("/think maybe", state)), /use \/think on/);
  assert.equal(await slashCommand("/budget 64", state), "reasoning budget: 64 tokens");
  assert.equal(state.budget, 64);
  assert.equal(await slashCommand("/budget off", state), "no reasoning budget");
  assert.equal(state.budget, undefined);
  assert.equal(await slashCommand("/clear", state), "conversation cleared");
  assert.deepEqual(state.pending, []);
  assert.match(String(await slashCommand("/frobnicate", state)), /unknown command/);
  assert.equal(await slashCommand("/exit", state), "exit");
});

test("glmv chat answers each turn, keeps the history and saves it", async () => {
  const saved = join(dir, "conversation.json");
  const { code, out } = await runGlmv(
    ["chat", "-m", join(dir, "m"), "-t", "1", "-s", "Be brief."],
    `Hi\n/think off\nAnd again?\n/save ${saved}\n/exit\n`,
  );
  assert.equal(code, 0);
  assert.equal(out.match(/Hello there\./g)?.length, 2);
  assert.match(out, /reasoning off/);
  const { messages } = JSON.parse(readFileSync(saved, "utf8"));
  assert.deepEqual(
    messages.map((m: { role: string }) => m.role),
    ["system", "user", "assistant", "user", "assistant"],
  );
  assert.equal(messages[2].content, "Hello there.");
  assert.equal(messages[2].reasoning_content, "Hmm.");
});
