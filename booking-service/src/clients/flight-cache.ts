import type { FlightClient, FlightSummary } from './flight-client';

export interface CachedLookup {
  flight: FlightSummary | undefined;
  /** True when the answer came from the cache (it may be up to `ttlMs` old). */
  cached: boolean;
}

/**
 * A short-lived cache of flight lookups in front of flight-service. On sale day every booking of a hot flight
 * asks for the same flight; the cache turns those lookups into one call per `ttlMs`, and concurrent misses
 * for one flight share a single call.
 *
 * A cached flight is only ever used to let a booking go ahead: the seat hold is the authority (it refuses a
 * departed or full flight, and answers with the price the seats were held at, which is what the booking
 * records). A refusal is never given from the cache — callers look again with `fresh` first.
 */
export class FlightCache {
  private readonly entries = new Map<number, { flight: FlightSummary; at: number }>();
  private readonly pending = new Map<number, Promise<FlightSummary | undefined>>();

  constructor(
    private readonly client: Pick<FlightClient, 'getFlight'>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(flightId: number, opts: { fresh?: boolean } = {}): Promise<CachedLookup> {
    if (!opts.fresh && this.ttlMs > 0) {
      const hit = this.entries.get(flightId);
      if (hit && this.now() - hit.at < this.ttlMs) return { flight: hit.flight, cached: true };
    }
    return { flight: await this.fetch(flightId, opts.fresh === true), cached: false };
  }

  private fetch(flightId: number, fresh: boolean): Promise<FlightSummary | undefined> {
    // A fresh look must not ride on a call that started before the caller decided it needed one.
    const shared = fresh ? undefined : this.pending.get(flightId);
    if (shared) return shared;
    const call = this.client
      .getFlight(flightId, { fresh })
      .then((flight) => {
        if (flight) this.remember(flightId, flight);
        else this.entries.delete(flightId);
        return flight;
      })
      .finally(() => {
        if (this.pending.get(flightId) === call) this.pending.delete(flightId);
      });
    if (!fresh) this.pending.set(flightId, call);
    return call;
  }

  private remember(flightId: number, flight: FlightSummary): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(flightId);
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the least recently stored one.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(flightId, { flight, at: this.now() });
  }
}
