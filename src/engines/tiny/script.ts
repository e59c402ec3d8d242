/**
 * Splits a script (the exact text a scripted tiny model must emit) into vocabulary pieces for a bigram machine:
 * GLM special tokens stay single special tokens, text is cut into words, and repeated text is merged with its
 * neighbours until every piece is unique (a bigram maps each token to one successor). Pure logic.
 */
import { GLM_SPECIAL_TOKENS } from "./tokenizer.ts";

/** One piece of a script: a special token or a text token. */
export interface ScriptPiece {
  text: string;
  special: boolean;
}

/** The script cannot be emitted by a bigram machine; the message says how to rewrite it. */
export class ScriptError extends Error {
  override name = "ScriptError";
}

/** Text pieces a prompt can end with (our templates end the generation prompt with "\n"): never script pieces. */
const RESERVED_TEXT = new Set(["\n"]);

function splitSpecials(text: string): ScriptPiece[] {
  const specials = [...GLM_SPECIAL_TOKENS].sort((a, b) => b.length - a.length);
  const out: ScriptPiece[] = [];
  let buf = "";
  for (let i = 0; i < text.length; ) {
    const hit = text[i] === "<" || text[i] === "[" ? specials.find((s) => text.startsWith(s, i)) : undefined;
    if (hit) {
      if (buf) out.push({ text: buf, special: false });
      buf = "";
      out.push({ text: hit, special: true });
      i += hit.length;
    } else {
      buf += text[i++];
    }
  }
  if (buf) out.push({ text: buf, special: false });
  return out;
}

/** Splits `script` into unique pieces; throws ScriptError when a bigram machine cannot emit it. */
export function splitScript(script: string): ScriptPiece[] {
  if (!script) throw new ScriptError("the script is empty: pass the text the model should emit");
  // Each element: a special token, or a text segment as a list of words (merged below until all are unique).
  const segs = splitSpecials(script).map((seg) =>
    seg.special ? seg : (seg.text.match(/ ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+/gu) ?? [seg.text]),
  );
  for (let round = 0; ; round++) {
    const count = new Map<string, number>();
    for (const r of RESERVED_TEXT) count.set(r, 1);
    for (const seg of segs)
      if (Array.isArray(seg)) for (const w of seg) count.set(w, (count.get(w) ?? 0) + 1);
    const dup = (w: string) => (count.get(w) ?? 0) > 1;
    if (![...count.values()].some((c) => c > 1) || round > 10000) break;
    let changed = false;
    // Merge one duplicated word per segment with a neighbour; segments of one word cannot change, so an
    // earlier/later occurrence elsewhere must give way.
    const isolated = new Set<string>();
    for (const seg of segs) if (Array.isArray(seg) && seg.length === 1) isolated.add(seg[0]);
    for (const seg of segs) {
      if (!Array.isArray(seg) || seg.length < 2) continue;
      const k = seg.findIndex(dup);
      if (k < 0) continue;
      if (k + 1 < seg.length) seg.splice(k, 2, seg[k] + seg[k + 1]);
      else seg.splice(k - 1, 2, seg[k - 1] + seg[k]);
      changed = true;
      break;
    }
    if (!changed) {
      const bad = [...count].find(([w, c]) => c > 1 && isolated.has(w))?.[0] ?? "";
      throw new ScriptError(
        `the text ${JSON.stringify(bad)} stands alone between special tokens more than once (or is a bare ` +
          "newline, which ends every prompt); a scripted model is a bigram machine, so every text piece must be " +
          "unique: reword it or join it to a neighbouring word",
      );
    }
  }
  const pieces: ScriptPiece[] = [];
  for (const seg of segs) {
    if (Array.isArray(seg)) for (const w of seg) pieces.push({ text: w, special: false });
    else pieces.push(seg);
  }
  // A special token may repeat only when it is always followed by the same piece.
  const next = new Map<string, string>();
  for (let i = 0; i < pieces.length; i++) {
    if (!pieces[i].special) continue;
    const after = pieces[i + 1]?.text ?? "<end>";
    const seen = next.get(pieces[i].text);
    if (seen !== undefined && seen !== after) {
      throw new ScriptError(
        `the special token ${pieces[i].text} appears twice with different continuations ` +
          `(${JSON.stringify(seen)} and ${JSON.stringify(after)}); a scripted model is a bigram machine: ` +
          "use each special token once",
      );
    }
    next.set(pieces[i].text, after);
  }
  return pieces;
}
