/** API-key checking: keys from flags or a keys file, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/** A keys file could not be read or holds no key. */
export class KeysFileError extends Error {
  override name = "KeysFileError";
}

/**
 * Reads an API keys file: one key per line; blank lines and lines starting with `#` are ignored.
 * Throws KeysFileError when the file is unreadable or holds no key.
 */
export function readKeysFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new KeysFileError(`Cannot read the API keys file ${path}: ${(error as Error).message}`);
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (keys.length === 0)
    throw new KeysFileError(`The API keys file ${path} holds no key (one key per line).`);
  return keys;
}

/** Checks presented keys against a fixed set; every comparison takes the same time whatever the input. */
export class KeyChecker {
  private readonly digests: Buffer[];
  constructor(keys: string[]) {
    this.digests = keys.map(digest);
  }
  /** True when no key is configured (auth disabled). */
  get open(): boolean {
    return this.digests.length === 0;
  }
  /** True when `presented` equals one of the keys. Compares SHA-256 digests with timingSafeEqual. */
  check(presented: string | undefined): boolean {
    if (this.open) return true;
    const d = digest(presented ?? "");
    let ok = false;
    for (const key of this.digests) ok = timingSafeEqual(d, key) || ok;
    return ok && presented !== undefined;
  }
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: { get(name: string): string | null | undefined }): string | undefined {
  const auth = headers.get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1].trim();
  }
  return headers.get("x-api-key") ?? undefined;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
