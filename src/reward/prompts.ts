/**
 * The judge prompts glmv ships (written for glmv; upstream's texts are not reused). Each has the placeholders
 * `{question}`, `{predict}` (the extracted answer) and `{label}` (the extracted ground truth).
 */

const SCORE_RULE =
  "Reply with exactly one token and nothing else: 1.0 if the candidate answer is correct, 0.0 if it is not.";

/** Generic answer-equivalence prompt (math, science, vqa, counting, chart, mmsi, multi_image). */
export const EQUIVALENCE_PROMPT = `You grade answers to exam questions. Decide whether the candidate answer means the same as the reference answer.
Treat different but equivalent notations as the same (fractions and decimals, reordered terms, units written differently, synonyms). Ignore explanations around the answer. A candidate that is only partly right, gives several conflicting answers, or answers a different question is wrong.

Question:
{question}

Reference answer:
{label}

Candidate answer:
{predict}

${SCORE_RULE}`;

/** Science prompt: like the generic one, with unit conversion spelled out (physics, chemistry). */
export const SCIENCE_PROMPT = `You grade answers to science problems. Decide whether the candidate answer equals the reference answer.
Numbers must agree after converting units (1 km = 1000 m); a small rounding difference in the last significant digit is acceptable. A missing or wrong unit makes a dimensional answer wrong. Chemical formulas and names of the same substance are equal.

Question:
{question}

Reference answer:
{label}

Candidate answer:
{predict}

${SCORE_RULE}`;

/** Free-text prompt (biology, geography, liberal arts, ocr). */
export const FREE_TEXT_PROMPT = `You grade short answers. Decide whether the candidate answer conveys the same facts as the reference answer.
Wording, order, letter case and formatting may differ; missing or contradicting facts make it wrong.

Question:
{question}

Reference answer:
{label}

Candidate answer:
{predict}

${SCORE_RULE}`;

/** The general verifier's prompt: a boxed Correct/Incorrect verdict (what that verifier reads). */
export const GENERAL_PROMPT = `Judge whether a model's response answers the question the way the reference answer does.

Question:
{question}

Reference answer:
{label}

Model response:
{predict}

Think briefly, then give your verdict inside a box, exactly one of: <|begin_of_box|>Correct<|end_of_box|> or <|begin_of_box|>Incorrect<|end_of_box|>.`;

/** The geoquest prompt: how well a named place matches the true location, as JSON with a score. */
export const GEOQUEST_PROMPT = `A player looked at a photo and guessed where it was taken. Rate the guess against the true location.

Photo question:
{question}

True location (JSON with place_name and address):
{label}

Player's guess:
{predict}

Score 1.0 for the same place, about 0.8 for the right neighbourhood or landmark area, 0.5 for the right city, 0.2 for the right country, 0.0 otherwise.
Reply with one JSON object only: {"score": <number between 0 and 1>, "reason": "<one sentence>"}`;
