/**
 * Test helpers for CLI commands: in-memory streams in place of the terminal, with what was written collected.
 */

import { PassThrough } from "node:stream";
import type { CommandIO } from "./command.ts";
import { main } from "./main.ts";

/** Streams for one command under test: `stdin` holds `stdinText` and then ends; `out()`/`err()` read what was written. */
export interface CapturedIO {
  io: CommandIO & { stdin: PassThrough; stdout: PassThrough; stderr: PassThrough };
  out(): string;
  err(): string;
}

/** Fresh in-memory streams for `command.run(argv, io)` or `main(argv, io)`. */
export function captureIO(stdinText = ""): CapturedIO {
  const stdin = new PassThrough();
  stdin.end(stdinText);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  return { io: { stdin, stdout, stderr }, out: () => out, err: () => err };
}

/** What one in-process `glmv` run printed and returned. */
export interface GlmvRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `glmv <args>` in this process (through `main`) with `stdinText` on stdin. */
export async function runGlmv(args: string[], stdinText = ""): Promise<GlmvRun> {
  const cap = captureIO(stdinText);
  const code = await main(args, cap.io);
  return { code, out: cap.out(), err: cap.err() };
}
