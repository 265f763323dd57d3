import { resetTransactionRetries, retryTransaction, transactionRetries } from '../src/db';

/** An error shaped like the driver's (raw connection) or Sequelize's (wrapped in `parent`). */
const dbError = (errno: number, wrapped = false) =>
  Object.assign(new Error(`errno ${errno}`), wrapped ? { parent: { errno } } : { errno });

/** A transaction body that fails with each errno in turn, then succeeds. */
function failingWith(...errnos: Array<number | [number, 'wrapped']>) {
  let calls = 0;
  const run = async () => {
    const next = errnos[calls++];
    if (next === undefined) return 'committed';
    throw Array.isArray(next) ? dbError(next[0], true) : dbError(next);
  };
  return { run, calls: () => calls };
}

beforeEach(() => resetTransactionRetries());

describe('retryTransaction counts the retries it makes, by error', () => {
  test('each deadlock (1213) and lock wait timeout (1205) it re-ran is counted; the success is not', async () => {
    const tx = failingWith(1213, [1213, 'wrapped'], 1205);
    await expect(retryTransaction(tx.run)).resolves.toBe('committed');
    expect(tx.calls()).toBe(4);
    expect(transactionRetries()).toEqual({ deadlock: 2, lockWait: 1, gaveUp: 0 });
  });

  test('when the attempts run out, the error reaches the caller and counts as given up', async () => {
    const tx = failingWith(1213, 1213, 1213, 1213);
    await expect(retryTransaction(tx.run, 3)).rejects.toThrow('errno 1213');
    expect(tx.calls()).toBe(3);
    expect(transactionRetries()).toEqual({ deadlock: 2, lockWait: 0, gaveUp: 1 });
  });

  test('by default a deadlock is run up to 10 times in all, a lock wait timeout (which already waited) up to 5', async () => {
    const deadlocks = failingWith(...Array<number>(12).fill(1213));
    await expect(retryTransaction(deadlocks.run)).rejects.toThrow('errno 1213');
    expect(deadlocks.calls()).toBe(10);
    const lockWaits = failingWith(...Array<number>(12).fill(1205));
    await expect(retryTransaction(lockWaits.run)).rejects.toThrow('errno 1205');
    expect(lockWaits.calls()).toBe(5);
    expect(transactionRetries()).toEqual({ deadlock: 9, lockWait: 4, gaveUp: 2 });
  });

  test('errors that are not retried leave the counters alone', async () => {
    const tx = failingWith(1062);
    await expect(retryTransaction(tx.run)).rejects.toThrow('errno 1062');
    expect(tx.calls()).toBe(1);
    expect(transactionRetries()).toEqual({ deadlock: 0, lockWait: 0, gaveUp: 0 });
  });

  test('the counters add up across transactions, reset to zero, and a snapshot does not move', async () => {
    await retryTransaction(failingWith(1213).run);
    const snapshot = transactionRetries();
    await retryTransaction(failingWith(1205, 1213).run);
    expect(snapshot).toEqual({ deadlock: 1, lockWait: 0, gaveUp: 0 });
    expect(transactionRetries()).toEqual({ deadlock: 2, lockWait: 1, gaveUp: 0 });
    resetTransactionRetries();
    expect(transactionRetries()).toEqual({ deadlock: 0, lockWait: 0, gaveUp: 0 });
  });
});
