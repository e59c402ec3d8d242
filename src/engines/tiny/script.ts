/**
 * Splits a script (the exact text a scripted tiny model must emit) into vocabulary pieces for a bigram machine
 * (each token has exactly one successor):
 * - GLM special tokens stay single special tokens; one may repeat only when its continuation is the same;
 * - text is cut into words, and repeated words are merged with their neighbours until every piece is unique;
 * - text standing alone between two special tokens (typically "\n" in tool calls) cannot merge: its second
 *   occurrence uses a raw user-defined twin token, later ones are glued to the special token before them.
 * Pure logic.
 */
import { GLM_SPECIAL_TOKENS } from "./tokenizer.ts";

/** One piece of a script: a special token or a text token. */
export interface ScriptPiece {
  text: string;
  special: boolean;
  /**
   * Text pieces only: 0 = the normal byte-level token; 1 = a second token with the same text (stored raw as a
   * user-defined token), used for the second occurrence of a text that stands alone between special tokens.
   */
  variant: 0 | 1;
}

/** Special tokens the engine tracks by id (thinking budget): never glued into a user-defined twin. */
const NO_GLUE = new Set(["<think>", "</think>"]);

/** The script cannot be emitted by a bigram machine; the message says how to rewrite it. */
export class ScriptError extends Error {
  override name = "ScriptError";
}

function splitSpecials(text: string): ScriptPiece[] {
  const specials = [...GLM_SPECIAL_TOKENS].sort((a, b) => b.length - a.length);
  const out: ScriptPiece[] = [];
  let buf = "";
  for (let i = 0; i < text.length; ) {
    const hit = text[i] === "<" || text[i] === "[" ? specials.find((s) => text.startsWith(s, i)) : undefined;
    if (hit) {
      if (buf) out.push({ text: buf, special: false, variant: 0 });
      buf = "";
      out.push({ text: hit, special: true, variant: 0 });
      i += hit.length;
    } else {
      buf += text[i++];
    }
  }
  if (buf) out.push({ text: buf, special: false, variant: 0 });
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
    for (const seg of segs)
      if (Array.isArray(seg)) for (const w of seg) count.set(w, (count.get(w) ?? 0) + 1);
    const dup = (w: string) => (count.get(w) ?? 0) > 1;
    if (![...count.values()].some((c) => c > 1) || round > 10000) break;
    let changed = false;
    // Merge one duplicated word per segment with a neighbour; segments of one word cannot change, so an
    // earlier/later occurrence elsewhere must give way. Two lone occurrences are fine (two token variants).
    const isolated = new Map<string, number>();
    for (const seg of segs) {
      if (Array.isArray(seg) && seg.length === 1) isolated.set(seg[0], (isolated.get(seg[0]) ?? 0) + 1);
    }
    if ([...count].every(([w, c]) => c <= 1 || isolated.get(w) === c)) break;
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
        `the text ${JSON.stringify(bad)} stands alone between special tokens more than twice; a scripted model ` +
          "is a bigram machine with at most two tokens per text, so reword it or join it to a neighbouring word",
      );
    }
  }
  // Lone repeats: 1st → the normal token, 2nd → a raw user-defined twin, later ones are glued to the special token
  // before them (one user-defined token with the same text, e.g. "</arg_value>\n"); <think> and </think> stay
  // real, because the engine tracks them by id.
  const pieces: ScriptPiece[] = [];
  const seen = new Map<string, number>();
  const taken = new Set<string>();
  for (const seg of segs) {
    if (!Array.isArray(seg)) {
      pieces.push(seg);
      continue;
    }
    for (const w of seg) {
      const k = seen.get(w) ?? 0;
      seen.set(w, k + 1);
      if (k < 2) {
        pieces.push({ text: w, special: false, variant: k === 0 ? 0 : 1 });
        taken.add(`${w}#${k}`);
        continue;
      }
      const prev = pieces[pieces.length - 1];
      const glued = prev ? prev.text + w : "";
      if (!prev?.special || NO_GLUE.has(prev.text) || taken.has(`${glued}#1`)) {
        throw new ScriptError(
          `the text ${JSON.stringify(w)} stands alone between special tokens more than twice; a scripted model ` +
            "is a bigram machine with at most two tokens per text, so reword it or join it to a neighbouring word",
        );
      }
      pieces[pieces.length - 1] = { text: glued, special: false, variant: 1 };
      taken.add(`${glued}#1`);
    }
  }
  // A special token may repeat only when it is always followed by the same piece.
  const next = new Map<string, string>();
  for (let i = 0; i < pieces.length; i++) {
    if (!pieces[i].special) continue;
    const after = pieces[i + 1] ? `${pieces[i + 1].text}#${pieces[i + 1].variant}` : "<end>";
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
