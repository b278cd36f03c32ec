/**
 * One error type for everything the user can get wrong. The CLI prints `error: <file>: <message>`
 * and exits 1 (`input`, `budget`) or 2 (`usage`); the extension shows the same text in a
 * notification. Never let anything else (a TypeError, a RangeError) reach the user.
 */
export type ErrorKind = 'input' | 'usage' | 'budget' | 'cancelled';

/** Longest message kept; a longer one (a 64 KB key echoed from a hostile file) keeps its start and end. */
export const MAX_MESSAGE_LENGTH = 1000;

/**
 * Makes text from anywhere (names and keys read from a file included) safe for a one-line message:
 * control and line-separator characters become `\uXXXX` and an over-long text keeps its start and end.
 */
export function oneLineText(text: string, max = MAX_MESSAGE_LENGTH): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped.length <= max) return escaped;
  const head = Math.floor(max * 0.6);
  return `${escaped.slice(0, head)} ... ${escaped.slice(escaped.length - (max - head - 5))}`;
}

export class FfnLensError extends Error {
  /** The file the problem is in, when there is one (shown first in the message). */
  readonly file?: string;

  constructor(
    message: string,
    file?: string,
    readonly kind: ErrorKind = 'input',
  ) {
    // Every reader echoes names from the file; escaping here keeps every message one line.
    super(oneLineText(message));
    this.name = 'FfnLensError';
    if (file !== undefined) this.file = oneLineText(file, 400);
  }

  /** `<file>: <message>`, or the message alone when no file is involved. */
  describe(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

/** True when `e` is an FfnLensError (also across bundles, where `instanceof` can fail). */
export function isFfnLensError(e: unknown): e is FfnLensError {
  return e instanceof FfnLensError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'FfnLensError');
}

/** A one-line description of any thrown value, for the user. Unexpected errors keep their message only. */
export function describeError(e: unknown): string {
  if (isFfnLensError(e)) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
