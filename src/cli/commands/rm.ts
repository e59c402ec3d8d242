import { parseArgs } from "node:util";
import { formatBytes } from "../../store/progress.ts";
import { removeModel, type StoreOptions } from "../../store/store.ts";
import { type Command, type CommandIO, UsageError } from "../command.ts";

const HELP = `Usage: glmv rm <model>...

Removes pulled models from the glmv cache and frees their files. A file that another pulled
quantisation of the same repository still uses (usually the mmproj) is kept until that one goes too.
Without a quantisation, every pulled quantisation of the repository is removed.
Local .gguf files and folders are never touched.

Options:
  -h, --help  this text

Examples:
  glmv rm glm-4.6v-flash:Q8_0
  glmv rm ggml-org/GLM-OCR-GGUF
  glmv list    # names as rm accepts them
`;

/** Builds `glmv rm`; tests pass store options. */
export function createRmCommand(storeOptions: StoreOptions = {}): Command {
  return {
    name: "rm",
    summary: "Remove a model from the local cache",
    help: HELP,
    async run(argv: string[], io: CommandIO): Promise<number> {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
      if (positionals.length === 0)
        throw new UsageError("name the model to remove, e.g. glmv rm glm-4.6v-flash");
      for (const ref of positionals) {
        const { removed, freedBytes } = await removeModel(ref, storeOptions);
        io.stdout.write(
          `Removed ${removed.map((m) => m.ref).join(", ")} (freed ${formatBytes(freedBytes)})\n`,
        );
      }
      return 0;
    },
  };
}

/** `glmv rm`: remove cached models. */
export const rmCommand: Command = createRmCommand();
