import { type Command, type CommandIO, UsageError } from "./command.ts";
import { commands } from "./commands/index.ts";

const VERSION = "0.1.0";

/** The top-level `glmv --help` text, built from the registered commands. */
export function topHelp(list: Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.name.length));
  const lines = list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "glmv: GLM-V for TypeScript. Run, serve and build on the GLM-V vision-language models.",
    "",
    "Usage: glmv <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `glmv <command> --help` for the options of one command.",
    "",
  ].join("\n");
}

/** Runs the glmv command line; resolves to the exit code. */
export async function main(argv: string[], io: CommandIO = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const target = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(target ? target.help : topHelp());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`glmv ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`glmv: unknown command "${name}". Run \`glmv --help\` to see the commands.\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`glmv ${name}: ${error.message}\nRun \`glmv ${name} --help\` for usage.\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`glmv ${name}: ${message}\n`);
    if (process.env.GLMV_DEBUG && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
