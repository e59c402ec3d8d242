/**
 * A loopback OpenAI-compatible chat-completions server for judge tests: answers every request with a fixed
 * verdict. Tests get the judge URL from `startJudgeServer`, so they can switch to glmv's own server running
 * the scripted tiny model without changing anything else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the fake judge behaves. */
export interface JudgeServerOptions {
  /** The reply content of every successful call (per model name when a map). */
  verdict: string | Record<string, string>;
  /** Answer HTTP 500 to the first N requests (to exercise retries). */
  failFirst?: number;
  /** Never answer requests for these models (to exercise timeouts). */
  hangModels?: string[];
}

/** A running fake judge. */
export interface JudgeServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** Bodies of the requests received, in order. */
  requests: Record<string, unknown>[];
  /** Authorization headers received, in order. */
  authorizations: (string | undefined)[];
  /** The most requests that were in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** Starts the fake judge on 127.0.0.1 with a free port. */
export async function startJudgeServer(options: JudgeServerOptions): Promise<JudgeServer> {
  let failures = options.failFirst ?? 0;
  let inFlight = 0;
  const hanging: ServerResponse[] = [];
  const state: JudgeServer = {
    url: "",
    requests: [],
    authorizations: [],
    maxInFlight: 0,
    close: async () => {},
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model: string };
      state.requests.push(body);
      state.authorizations.push(req.headers.authorization);
      const reply = (status: number, payload: unknown) => {
        // Answer on the next turn so that concurrent requests overlap measurably.
        setImmediate(() => {
          inFlight--;
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(payload));
        });
      };
      if (req.url !== "/v1/chat/completions") return reply(404, { error: "not found" });
      if (options.hangModels?.includes(body.model)) {
        hanging.push(res);
        return;
      }
      if (failures > 0) {
        failures--;
        return reply(500, { error: "scripted failure" });
      }
      const content =
        typeof options.verdict === "string" ? options.verdict : (options.verdict[body.model] ?? "");
      reply(200, {
        id: "chatcmpl-test",
        object: "chat.completion",
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/v1`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
