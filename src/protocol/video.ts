import { type FamilyId, getFamily } from "./families.ts";

/**
 * Python's `format(x, ".1f")`. toFixed already rounds the exact binary value; the two differ only on exact ties,
 * which for one decimal are the values x = n/4 with n odd (…25 and …75): Python rounds those to even.
 */
export function pythonFixed1(x: number): string {
  const quarters = x * 4;
  if (Number.isInteger(quarters) && quarters % 2 !== 0) {
    const tenths = Math.floor(x * 10); // x*10 = k + 0.5 exactly
    const even = tenths % 2 === 0 ? tenths : tenths + 1;
    return (even / 10).toFixed(1);
  }
  return x.toFixed(1);
}

/**
 * The prompt text after each video frame pair (spec §7): whole seconds for the GLM-4.1V/4.5V processor
 * (`str(int(s))`), `"{s:.1f} seconds"` for the GLM-4.6V family and GLM-OCR (`Glm46VProcessor`).
 */
export function videoTimestampText(family: FamilyId, seconds: number): string {
  return getFamily(family).videoTimestamp === "integer-seconds"
    ? String(Math.trunc(seconds))
    : `${pythonFixed1(seconds)} seconds`;
}
