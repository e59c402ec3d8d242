/** One `glmv` subcommand: every command module exports one of these. */
export interface Command {
  /** The word typed after `glmv`, e.g. `parse`. */
  name: string;
  /** One line for the command list in `glmv --help`. */
  summary: string;
  /** The full `--help` text: usage, options, examples. */
  help: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** The streams a command talks to; tests pass their own. */
export interface CommandIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A user mistake on the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Reads a whole stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
