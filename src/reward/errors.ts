/** Typed errors of the reward system; each message tells the user how to fix the problem. */

/** The reward configuration (YAML or object) is invalid; `key` is the dotted path of the offending key. */
export class RewardConfigError extends Error {
  override name = "RewardConfigError";
  readonly key: string;
  constructor(key: string, message: string) {
    super(`reward config: ${key}: ${message}`);
    this.key = key;
  }
}

/** A datasource that the configuration does not map to any reward config. */
export class UnknownDatasourceError extends Error {
  override name = "UnknownDatasourceError";
  constructor(datasource: string, known: string[]) {
    super(
      `unknown datasource "${datasource}": add it to datasource_reward_config_mapping ` +
        `(known: ${known.slice(0, 30).join(", ")}${known.length > 30 ? ", …" : ""})`,
    );
  }
}

/** getReward's inputs are inconsistent (lengths differ, mixed datasources in one batch, …). */
export class RewardInputError extends Error {
  override name = "RewardInputError";
}

/** An HTTP call to an LLM judge failed (status, network, malformed body). */
export class JudgeHttpError extends Error {
  override name = "JudgeHttpError";
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

/** An LLM judge did not answer within its time limit. */
export class JudgeTimeoutError extends JudgeHttpError {
  override name = "JudgeTimeoutError";
}

/** No judge gave a usable verdict (every call failed or every reply was unreadable). */
export class JudgeUnavailableError extends Error {
  override name = "JudgeUnavailableError";
}
