import type { Outcome, Refusal } from '../domain/refusals';

/** Carries a refusal out of a store's transaction (so that it rolls back) to `settled`, which returns it as data. */
export class Abort extends Error {
  override name = 'Abort';
  constructor(readonly refusal: Refusal) {
    super(refusal.code);
  }
}

/** Runs a store method's work: its value, or the refusal it aborted with; any other error is rethrown. */
export async function settled<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (err instanceof Abort) return { ok: false, refusal: err.refusal };
    throw err;
  }
}
