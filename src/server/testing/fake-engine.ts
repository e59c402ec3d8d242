/**
 * A stand-in for the `vllm` program in launcher tests: `fake-engine.ts serve MODEL --port P
 * --served-model-name N …` serves the imitation upstream on 127.0.0.1:P until SIGTERM.
 */
import { FakeUpstream } from "./fake-upstream.ts";
import { scriptFor } from "./scripts.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(flag("--port") ?? 8000);
const name = flag("--served-model-name") ?? "glm-4.5v";
const fake = await FakeUpstream.start({ respond: scriptFor, models: [name] }, port);
process.stdout.write(`fake engine serving ${name} on ${fake.url} pid ${process.pid}\n`);
process.on("SIGTERM", () => {
  void fake.kill().then(() => process.exit(0));
});
