/** Thrown by {@link Semaphore.run} when its waiting line is already full. */
export class SemaphoreFullError extends Error {
  override name = 'SemaphoreFullError';
}

/**
 * At most `limit` tasks at once, the others waiting in line (first come, first served). With `maxWaiting`,
 * a task that would have to wait behind that many others is refused at once with SemaphoreFullError.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new SemaphoreFullError('too many tasks waiting');
      // The slot is handed over by the finishing task, so `running` stays counted meanwhile.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
