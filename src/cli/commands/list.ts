import { parseArgs } from "node:util";
import { glmvHome } from "../../store/config.ts";
import { formatBytes } from "../../store/progress.ts";
import { listModels, type ModelListEntry, type StoreOptions } from "../../store/store.ts";
import { type Command, type CommandIO, UsageError } from "../command.ts";

const HELP = `Usage: glmv list [--json]

Lists the models in the glmv cache (GLMV_HOME, default ~/.cache/glmv): the name to use with
\`glmv run --model\`, the quantisation, the size on disk and when it was pulled. Never uses the network.

Options:
  --json      print the list as JSON (name, ref, repo, quant, family, size, pulledAt, commit,
              complete, modelPath, mmprojPath)
  -h, --help  this text

Examples:
  glmv list
  glmv list --json | jq -r '.[].modelPath'
`;

/** Renders the `glmv list` table. */
export function formatModelTable(entries: ModelListEntry[]): string {
  const rows = entries.map((e) => [
    e.name,
    e.quant,
    formatBytes(e.size),
    `${e.pulledAt.slice(0, 16).replace("T", " ")}${e.complete ? "" : "  (incomplete: pull again)"}`,
  ]);
  const header = ["NAME", "QUANT", "SIZE", "PULLED (UTC)"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return `${[header, ...rows].map(line).join("\n")}\n`;
}

/** Builds `glmv list`; tests pass store options. */
export function createListCommand(storeOptions: StoreOptions = {}): Command {
  return {
    name: "list",
    summary: "List the models in the local cache",
    help: HELP,
    async run(argv: string[], io: CommandIO): Promise<number> {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { json: { type: "boolean" } },
      });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const entries = await listModels(storeOptions);
      if (values.json) {
        io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      } else if (entries.length === 0) {
        const home = storeOptions.home ?? glmvHome(storeOptions.env ?? process.env);
        io.stdout.write(`No models in ${home} yet. Pull one with: glmv pull glm-4.6v-flash\n`);
      } else {
        io.stdout.write(formatModelTable(entries));
      }
      return 0;
    },
  };
}

/** `glmv list`: the cached models. */
export const listCommand: Command = createListCommand();
