import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { JudgeHttpError, JudgeUnavailableError } from "./errors.ts";
import { ConcurrencyLimit, fillPrompt, type JudgeSettings, LlmJudge, readVerdict, tally } from "./judge.ts";
import { chatCompletionsUrl } from "./judge-http.ts";
import { type JudgeServer, startJudgeServer } from "./testing/judge-server.ts";

const settings = (url: string, models: string[], extra: Partial<JudgeSettings> = {}): JudgeSettings => ({
  endpoints: models.map((model) => ({ url, apiKey: "k-test", model })),
  promptTemplate: "Q={question} P={predict} L={label} {literal}",
  maxTokens: 10,
  temperature: 0.1,
  topP: 1,
  timeoutMs: 5000,
  retries: 2,
  retryDelayMs: 0,
  concurrency: 4,
  ...extra,
});

test("fillPrompt fills the three placeholders once and keeps other braces literal", () => {
  assert.equal(
    fillPrompt("{question}|{predict}|{label}|{x}", { question: "q{label}", predict: "p", label: "l" }),
    "q{label}|p|l|{x}",
  );
});

test("readVerdict: exact verdicts, boxes, reasoning ignored, contradictions rejected (defect 6)", () => {
  assert.equal(readVerdict("1.0"), 1);
  assert.equal(readVerdict(" 0.0 \n"), 0);
  assert.equal(readVerdict("0.75"), 0.75);
  assert.equal(readVerdict("<|begin_of_box|>Correct<|end_of_box|>"), 1);
  assert.equal(readVerdict("\\boxed{Incorrect}"), 0);
  assert.equal(readVerdict("<think>maybe 1.0</think>0.0"), 0);
  assert.equal(readVerdict("The candidate is wrong, so the score is 0.0"), 0);
  assert.equal(readVerdict("0.0, not 1.0"), null, "upstream scored this 1 because it contains 1.0");
  assert.equal(readVerdict("10.0"), null);
  assert.equal(readVerdict("no idea"), null);
});

test("tally: strict majority over the judges that answered; none answering is an error, not a 0", () => {
  const e = { url: "u", apiKey: "", model: "m" };
  assert.equal(
    tally([
      { ok: true, endpoint: e, text: "1.0" },
      { ok: true, endpoint: e, text: "1.0" },
      { ok: true, endpoint: e, text: "0.0" },
    ]).reward,
    1,
  );
  assert.equal(
    tally([
      { ok: true, endpoint: e, text: "1.0" },
      { ok: true, endpoint: e, text: "0.0" },
    ]).reward,
    0,
  );
  const partial = tally([
    { ok: true, endpoint: e, text: "1.0" },
    { ok: false, endpoint: e, error: new JudgeHttpError("boom", 500) },
  ]);
  assert.equal(partial.reward, 1);
  assert.match(partial.detail ?? "", /1\/2 judges voted; boom/);
  assert.throws(() => tally([{ ok: false, endpoint: e, error: new Error("down") }]), JudgeUnavailableError);
});

test("chatCompletionsUrl accepts a base URL or the full endpoint", () => {
  assert.equal(chatCompletionsUrl("http://h/v1/"), "http://h/v1/chat/completions");
  assert.equal(
    chatCompletionsUrl("https://h/api/paas/v4/chat/completions"),
    "https://h/api/paas/v4/chat/completions",
  );
});

test("ConcurrencyLimit never runs more than its limit", async () => {
  const limit = new ConcurrencyLimit(2);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 6 }, () =>
      limit.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
      }),
    ),
  );
  assert.equal(peak, 2);
});

let server: JudgeServer;
before(async () => {
  server = await startJudgeServer({
    verdict: { "judge-a": "1.0", "judge-b": "1.0", "judge-c": "0.0" },
    hangModels: ["slow"],
  });
});
after(() => server.close());

test("LLM judge over loopback HTTP: majority of three judges, OpenAI body and bearer key", async () => {
  const judge = new LlmJudge(settings(server.url, ["judge-a", "judge-b", "judge-c"]));
  const verdict = await judge.vote("What is 2+2?", "4", "four");
  assert.deepEqual(verdict, { reward: 1, decidedBy: "llm" });
  const body = server.requests.at(-1) as {
    messages: { role: string; content: string }[];
    max_tokens: number;
    stream: boolean;
  };
  assert.equal(body.messages[0].role, "user");
  assert.equal(body.messages[0].content, "Q=What is 2+2? P=4 L=four {literal}");
  assert.equal(body.max_tokens, 10);
  assert.equal(body.stream, false);
  assert.equal(server.authorizations.at(-1), "Bearer k-test");
  const single = await judge.vote("q", "4", "four", true);
  assert.equal(single.reward, 1, "single mode asks only the first judge");
});

test("LLM judge: a timed-out judge does not vote and is reported", async () => {
  const judge = new LlmJudge(settings(server.url, ["judge-c", "slow"], { timeoutMs: 200, retries: 0 }));
  const verdict = await judge.vote("q", "a", "b");
  assert.equal(verdict.reward, 0);
  assert.match(verdict.detail ?? "", /did not answer within 200 ms/);
});

test("LLM judge: failed calls are retried", async () => {
  const flaky = await startJudgeServer({ verdict: "1.0", failFirst: 2 });
  try {
    const judge = new LlmJudge(settings(flaky.url, ["m"], { retries: 2 }));
    assert.equal((await judge.vote("q", "a", "b")).reward, 1);
    assert.equal(flaky.requests.length, 3);
    const noRetry = new LlmJudge(settings(flaky.url, ["m"], { retries: 0 }));
    assert.equal((await noRetry.vote("q", "a", "b")).reward, 1);
  } finally {
    await flaky.close();
  }
  const down = new LlmJudge(settings("http://127.0.0.1:9/v1", ["m"], { retries: 1 }));
  await assert.rejects(down.vote("q", "a", "b"), JudgeUnavailableError);
});

test("LLM judge: the concurrency limit holds across many items", async () => {
  const busy = await startJudgeServer({ verdict: "1.0" });
  try {
    const judge = new LlmJudge(settings(busy.url, ["m"], { concurrency: 3 }));
    const verdicts = await Promise.all(Array.from({ length: 12 }, (_, i) => judge.vote("q", String(i), "x")));
    assert.ok(verdicts.every((v) => v.reward === 1));
    assert.equal(busy.requests.length, 12);
    assert.ok(busy.maxInFlight <= 3, `max in flight ${busy.maxInFlight}`);
  } finally {
    await busy.close();
  }
});
