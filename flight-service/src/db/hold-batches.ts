import { sameDecidedRow, type HoldGuard, type HoldRequest } from '../domain/holds';

/**
 * Group commit of new holds on one flight (see `reservationsStore().hold`): while one hold transaction of a flight is
 * in flight in this process, the holds that arrive for the same flight wait, and go together as ONE transaction once
 * it ends — one lock of the flight row, one UPDATE and one COMMIT (one log flush) for all of them, where each would
 * otherwise take the hot row's lock and flush in turn. Nothing about what is decided changes: each hold was decided
 * on its own read, the batch's guard is theirs (the same row, the sum of their seats), the primary keys still admit
 * each seat and each booking once, and a batch that fails is answered hold by hold as a hold alone would be (see
 * holdBatcher).
 */

/** A hold as the store's single attempt takes it: the request, the seats it decided on and its guard. */
export interface HoldMember {
  request: HoldRequest;
  seatNumbers: string[];
  guard: HoldGuard;
}

/** At most this many holds go in one transaction (a statement of a few thousand placeholders at most). */
export const MAX_HOLD_BATCH = 50;

/**
 * The next batch from the holds waiting on one flight, in arrival order: each hold that was decided on the same row
 * as the first, is for another booking than those already taken, and asks for none of their seats. The others wait
 * for the batch after (a hold whose seats an earlier one takes then finds them taken, and chooses again, as it would
 * have after losing the race on its own).
 */
export function nextHoldBatch<M extends HoldMember>(
  waiting: readonly M[],
  max = MAX_HOLD_BATCH,
): { batch: M[]; rest: M[] } {
  const batch: M[] = [];
  const rest: M[] = [];
  const bookings = new Set<number>();
  const seats = new Set<string>();
  for (const m of waiting) {
    const fits =
      batch.length < max &&
      (batch.length === 0 || sameDecidedRow(batch[0].guard.decidedOn, m.guard.decidedOn)) &&
      !bookings.has(m.request.bookingId) &&
      !m.seatNumbers.some((s) => seats.has(s));
    if (!fits) {
      rest.push(m);
      continue;
    }
    batch.push(m);
    bookings.add(m.request.bookingId);
    for (const s of m.seatNumbers) seats.add(s);
  }
  return { batch, rest };
}

/** The guard of a batch: the row its holds were decided on, with enough seats left for all of them. */
export const batchGuard = (batch: readonly HoldMember[]): HoldGuard => ({
  decidedOn: batch[0].guard.decidedOn,
  seats: batch.reduce((n, m) => n + m.guard.seats, 0),
});

/** How a batch of holds ended, as the store's `many` tells it. */
export type BatchOutcome = 'held' | 'vanished' | 'guard-failed' | 'duplicate';

/** The store's side of group commit: the SQL of one hold, of a batch, and of finding who in a batch is taken. */
export interface BatchOps<M extends HoldMember, A> {
  /** One hold alone, answered as it always was. */
  one(m: M): Promise<A>;
  /** All of them in one transaction (any failure rolls it back whole). */
  many(batch: M[]): Promise<BatchOutcome>;
  /** After a `duplicate`: which of them have their booking or a seat taken now. */
  taken(batch: M[]): Promise<(m: M) => boolean>;
  /** The answer of every hold of a batch that committed, and of one whose flight was gone. */
  held: A;
  vanished(flightId: number): A;
  /** Sees the number of holds of each transaction tried (1 for a hold alone). */
  observe?(holds: number): void;
}

/**
 * The scheduling of group commit: `hold` sends a hold at once when no hold transaction of its flight is in flight
 * in this process, else queues it; when a round ends, the next batch (nextHoldBatch) of what waited goes. A batch
 * that fails on a key sends the holds whose booking or seats are taken alone and the others together again; one that
 * fails any other way (the guard: the row changed, or too few seats for all of them; or an error) sends each alone.
 */
export function holdBatcher<M extends HoldMember, A>(ops: BatchOps<M, A>) {
  type Queued = { m: M; resolve(a: A): void; reject(err: unknown): void };
  /** Flights with a hold transaction in flight, and the holds waiting to go after it. */
  const waiting = new Map<number, Queued[]>();

  const alone = async (q: Queued) => {
    ops.observe?.(1);
    try {
      q.resolve(await ops.one(q.m));
    } catch (err) {
      q.reject(err);
    }
  };

  async function settle(batch: Queued[]): Promise<void> {
    if (batch.length === 1) return alone(batch[0]);
    ops.observe?.(batch.length);
    const members = batch.map((q) => q.m);
    const outcome = await ops.many(members).catch(() => 'failed' as const);
    if (outcome === 'held' || outcome === 'vanished') {
      const answer = outcome === 'held' ? ops.held : ops.vanished(members[0].request.flightId);
      for (const q of batch) q.resolve(answer);
      return;
    }
    const isTaken = outcome === 'duplicate' ? await ops.taken(members).catch(() => () => true) : () => true;
    const together = batch.filter((q) => !isTaken(q.m));
    // Nothing to blame (what conflicted is gone again): each alone, so this cannot loop.
    if (!together.length || together.length === batch.length) {
      await Promise.all(batch.map(alone));
      return;
    }
    await Promise.all([...batch.filter((q) => isTaken(q.m)).map(alone), settle(together)]);
  }

  async function round(flightId: number, batch: Queued[]): Promise<void> {
    try {
      await settle(batch);
    } finally {
      const queue = waiting.get(flightId) ?? [];
      if (!queue.length) waiting.delete(flightId);
      else {
        const next = nextHoldBatch(queue.map((q) => q.m));
        const chosen = new Set(next.batch);
        waiting.set(
          flightId,
          queue.filter((q) => !chosen.has(q.m)),
        );
        void round(
          flightId,
          queue.filter((q) => chosen.has(q.m)),
        );
      }
    }
  }

  return {
    hold(m: M): Promise<A> {
      return new Promise<A>((resolve, reject) => {
        const queued: Queued = { m, resolve, reject };
        const queue = waiting.get(m.request.flightId);
        if (queue) {
          queue.push(queued);
          return;
        }
        waiting.set(m.request.flightId, []);
        void round(m.request.flightId, [queued]);
      });
    },
  };
}
