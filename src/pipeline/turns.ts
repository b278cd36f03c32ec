/**
 * Two async runs that take turns: each runs until it hands over, then waits until the other hands
 * back (or ends). `compare` runs model A and model B block by block this way, so that only one
 * block of A has to be kept until B's same block has run, and only one run uses the engine at a
 * time. A failure of either side rejects whatever the other waits for, so neither is left hanging.
 * No `vscode` import.
 */
export type Side = 'A' | 'B';

const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

export class Turns {
  private turn: Side = 'A';
  private readonly ended = { A: false, B: false };
  private readonly waiters: { side: Side; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: { error: unknown } | undefined;

  /**
   * Runs `side`'s whole part: waits for its first turn, runs `body` (which hands over with `hand`),
   * then ends the side; a failure is first passed to the other side (`fail`), then thrown.
   */
  async take<T>(side: Side, body: () => Promise<T>): Promise<T> {
    try {
      await this.wait(side);
      return await body();
    } catch (e) {
      this.fail(e);
      throw e;
    } finally {
      this.end(side);
    }
  }

  /** Resolves when it is `side`'s turn (at once if it is). */
  wait(side: Side): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.turn === side) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ side, resolve, reject }));
  }

  /** `side` hands over and waits for its next turn; if the other side has ended, it simply goes on. */
  hand(side: Side): Promise<void> {
    if (this.ended[other(side)]) return this.failure ? Promise.reject(this.failure.error) : Promise.resolve();
    this.give(other(side));
    return this.wait(side);
  }

  /** `side` has run to its end: the other runs on without waiting for it. */
  end(side: Side): void {
    this.ended[side] = true;
    this.give(other(side));
  }

  /** Either side failed: every wait, now and later, rejects with `error`. */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  private give(side: Side): void {
    this.turn = side;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w.side !== side) continue;
      this.waiters.splice(i, 1);
      w.resolve();
    }
  }
}
