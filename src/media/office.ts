/**
 * PPT, PPTX, ODP, DOC, DOCX (and flat ODF) → PDF with LibreOffice headless, in a private profile folder per
 * conversion (so conversions can run side by side), with a time limit. The PDF then follows the PDF path.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DetectedType } from "./detect.ts";
import { MediaError } from "./errors.ts";
import { lastLine, runTool, SOFFICE } from "./tools.ts";

/** Options of {@link convertToPdf}. */
export interface OfficeOptions {
  /** Time limit for LibreOffice (default 120 s). */
  timeoutMs?: number;
  /** LibreOffice command (default GLMV_SOFFICE, else `soffice` on PATH). */
  sofficePath?: string;
  /** How errors name the input. */
  input?: string;
  /** Aborting stops LibreOffice; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Settings seeded into each private profile: macros never run, and linked content from untrusted documents
 * is not loaded. (This reduces, not removes, what a hostile document can make LibreOffice fetch: servers that
 * convert untrusted files should also run without access to internal networks.)
 */
const PROFILE_SETTINGS = `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
</oor:items>
`;

/** Default time limit of one conversion. */
export const DEFAULT_OFFICE_TIMEOUT_MS = 120_000;

/**
 * Converts an office document (bytes, or a local path) to PDF bytes with `soffice --headless --convert-to pdf`.
 * `type` gives the extension LibreOffice sees. Throws MediaError: `libreoffice-missing`, `timeout`,
 * `conversion-failed`.
 */
export async function convertToPdf(
  source: Uint8Array | string,
  type: Pick<DetectedType, "extension">,
  options: OfficeOptions = {},
): Promise<Uint8Array> {
  const input =
    options.input ?? (typeof source === "string" ? source : `${type.extension.toUpperCase()} document`);
  const dir = await mkdtemp(join(tmpdir(), "glmv-office-"));
  try {
    const inputPath = join(dir, `document.${type.extension}`);
    const outDir = join(dir, "out");
    await mkdir(outDir);
    await mkdir(join(dir, "profile", "user"), { recursive: true });
    await writeFile(join(dir, "profile", "user", "registrymodifications.xcu"), PROFILE_SETTINGS);
    if (typeof source === "string") await copyFile(source, inputPath);
    else await writeFile(inputPath, source, { mode: 0o600 });
    const result = await runTool(
      SOFFICE,
      [
        `-env:UserInstallation=${pathToFileURL(join(dir, "profile")).href}`,
        "--headless",
        "--invisible",
        "--nodefault",
        "--nofirststartwizard",
        "--nolockcheck",
        "--nologo",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        outDir,
        inputPath,
      ],
      {
        command: options.sofficePath,
        timeoutMs: options.timeoutMs ?? DEFAULT_OFFICE_TIMEOUT_MS,
        input,
        signal: options.signal,
      },
    );
    const produced = (await readdir(outDir)).find((name) => name.endsWith(".pdf"));
    if (!produced) {
      throw new MediaError(
        "conversion-failed",
        input,
        `LibreOffice could not convert this ${type.extension.toUpperCase()} file (${result.code === 0 ? "no PDF was written" : lastLine(result.stderr)})`,
        "Check that the file opens in LibreOffice or PowerPoint/Word, or export it to PDF yourself.",
      );
    }
    return new Uint8Array(await readFile(join(outDir, produced)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
