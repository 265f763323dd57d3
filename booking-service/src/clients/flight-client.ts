import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { z } from 'zod';
import { createServiceClient, type Logger } from '@skyway/common';

/** The fields of flight-service's flight that a booking needs. */
const flightSchema = z.object({
  id: z.number().int().positive(),
  flightNumber: z.string(),
  departureAirportCode: z.string(),
  arrivalAirportCode: z.string(),
  departureTime: z.string().transform((s) => new Date(s)),
  price: z.number().int().nonnegative(),
  availableSeats: z.number().int().nonnegative(),
});
export type FlightSummary = z.infer<typeof flightSchema>;

/** The flight as flight-service held the seats (read under its row lock): what a booking records. */
const heldFlightSchema = flightSchema.pick({
  flightNumber: true,
  departureAirportCode: true,
  arrivalAirportCode: true,
  departureTime: true,
  price: true,
});
export type HeldFlight = z.infer<typeof heldFlightSchema>;
const seatNumbersSchema = z.array(z.string());
const holdAnswerSchema = z
  .object({ flight: heldFlightSchema.optional(), seatNumbers: seatNumbersSchema.optional() })
  .passthrough();
const seatChangeAnswerSchema = z
  .object({ seatNumbers: seatNumbersSchema, changed: z.boolean() })
  .passthrough();
const reservationSchema = z.object({ seatNumbers: seatNumbersSchema }).passthrough();

const problemSchema = z
  .object({
    type: z.string().optional(),
    detail: z.string().optional(),
    /** seat-taken: the requested seats another reservation holds. */
    seats: z.array(z.string()).optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .passthrough();

/** A refusal from flight-service, as booking-service needs it. */
export interface FlightRefusal {
  status: number;
  type?: string;
  detail?: string;
  seats?: string[];
  errors?: Array<{ path: string; message: string }>;
}

function refusalOf(status: number, data: unknown): FlightRefusal {
  const p = problemSchema.safeParse(data);
  if (!p.success) return { status };
  return { status, type: p.data.type, detail: p.data.detail, seats: p.data.seats, errors: p.data.errors };
}

/** A final answer from flight-service, or none at all. */
export type CallResult =
  | { kind: 'answered'; status: number; data: unknown; ambiguous: boolean }
  | { kind: 'unreachable'; ambiguous: boolean; reason: string };

export type HoldOutcome =
  /**
   * `flight` and `seatNumbers` (each passenger's seat, in passenger order) are absent only when flight-service
   * did not send them (an older version).
   */
  | { kind: 'held'; flight?: HeldFlight; seatNumbers?: string[] }
  /**
   * Refused for good (unknown flight, no seats, seat taken, seat not on the map, departed, released); `ambiguous`
   * if an earlier attempt may have held seats.
   */
  | ({ kind: 'refused'; ambiguous: boolean } & FlightRefusal)
  | { kind: 'unreachable'; ambiguous: boolean };

export type SeatChangeCall =
  /** Applied (or the stored answer to this changeId): the seats the reservation holds now. */
  | { kind: 'changed'; seatNumbers: string[]; changed: boolean }
  | ({ kind: 'refused' } & FlightRefusal)
  | { kind: 'unreachable' };

export interface FlightClientOptions {
  baseUrls: string[];
  internalToken: string;
  timeoutMs: number;
  attempts: number;
  logger: Logger;
  /** First back-off delay; doubled per attempt, with jitter. */
  backoffMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * flight-service as booking-service uses it. Calls that are safe to repeat (GET, the idempotent PUT and
 * DELETE) are retried on timeouts, 5xx and unreachable replicas with a bounded number of attempts; a
 * refused connection costs milliseconds, so a dead flight-service is reported within a second or so.
 */
export class FlightClient {
  private readonly http: AxiosInstance;
  /** Where the next call's first attempt goes (round-robin over the calls). */
  private next = 0;

  constructor(private readonly opts: FlightClientOptions) {
    this.http = createServiceClient({
      baseUrls: opts.baseUrls,
      internalToken: opts.internalToken,
      timeoutMs: opts.timeoutMs,
    });
  }

  /**
   * Runs `call` until it gets a non-5xx answer or the attempts run out. Each attempt goes to the next replica of
   * FLIGHT_SERVICE_URL after the one the previous attempt of this call used, so a retry never lands on the replica
   * that just failed while another is listed (a replica whose database died answers every call 503).
   */
  async callWithRetry(call: (baseURL: string) => Promise<AxiosResponse>, what: string): Promise<CallResult> {
    const urls = this.opts.baseUrls;
    const first = this.next++ % urls.length;
    let ambiguous = false;
    let last: CallResult = { kind: 'unreachable', ambiguous, reason: 'not attempted' };
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      if (attempt > 1) {
        const base = (this.opts.backoffMs ?? 100) * 2 ** (attempt - 2);
        await sleep(base / 2 + Math.random() * base);
      }
      try {
        const res = await call(urls[(first + attempt - 1) % urls.length]);
        if (res.status < 500) return { kind: 'answered', status: res.status, data: res.data, ambiguous };
        // A 5xx may come after the write committed (e.g. a proxy timing out), so the outcome is unknown.
        ambiguous = true;
        last = { kind: 'answered', status: res.status, data: res.data, ambiguous };
      } catch (err) {
        if (!axios.isAxiosError(err) || err.response) throw err;
        // A refused connection never reached flight-service; anything else (reset, timeout) might have.
        if (err.code !== 'ECONNREFUSED') ambiguous = true;
        last = { kind: 'unreachable', ambiguous, reason: err.code ?? err.message };
      }
      this.opts.logger.warn('flight-service call failed', {
        what,
        attempt,
        outcome: last.kind === 'answered' ? last.status : last.reason,
      });
    }
    return { ...last, ambiguous };
  }

  /**
   * The flight, `undefined` when flight-service says it does not exist; throws FlightServiceDown otherwise.
   * `fresh` asks past flight-service's search cache (`Cache-Control: no-cache`): a refusal is never decided on a
   * cached copy.
   */
  async getFlight(flightId: number, { fresh = false } = {}): Promise<FlightSummary | undefined> {
    const headers = fresh ? { 'Cache-Control': 'no-cache' } : undefined;
    const r = await this.callWithRetry(
      (baseURL) => this.http.get(`/api/v1/flights/${flightId}`, { baseURL, headers }),
      'get flight',
    );
    if (r.kind === 'unreachable') throw new FlightServiceDown(`flight-service is unreachable (${r.reason})`);
    if (r.status === 404) return undefined;
    if (r.status !== 200)
      throw new FlightServiceDown(`flight-service answered ${r.status} to a flight lookup`);
    const parsed = flightSchema.safeParse(r.data);
    if (!parsed.success)
      throw new FlightServiceDown('flight-service sent a flight booking-service cannot read');
    return parsed.data;
  }

  /**
   * Holds seats for a booking with the idempotent PUT. `seatNumbers` (positional, null = assign one) is sent only
   * when some passenger chose a seat; without it flight-service assigns them all.
   */
  async holdSeats(
    flightId: number,
    bookingId: number,
    seats: number,
    seatNumbers?: Array<string | null>,
  ): Promise<HoldOutcome> {
    const body = seatNumbers && seatNumbers.some((s) => s !== null) ? { seats, seatNumbers } : { seats };
    const r = await this.callWithRetry(
      (baseURL) =>
        this.http.put(`/internal/v1/flights/${flightId}/reservations/${bookingId}`, body, { baseURL }),
      'hold seats',
    );
    if (r.kind === 'unreachable') return { kind: 'unreachable', ambiguous: r.ambiguous };
    if (r.status === 200 || r.status === 201) {
      const answer = holdAnswerSchema.safeParse(r.data);
      const numbers = answer.success ? answer.data.seatNumbers : undefined;
      return {
        kind: 'held',
        flight: answer.success ? answer.data.flight : undefined,
        seatNumbers: numbers?.length === seats ? numbers : undefined,
      };
    }
    if (r.status >= 500) return { kind: 'unreachable', ambiguous: true };
    return { kind: 'refused', ambiguous: r.ambiguous, ...refusalOf(r.status, r.data) };
  }

  /**
   * Moves a booking's passengers to `seatNumbers` (passenger order), all or nothing, with flight-service's seat-change
   * PUT. Idempotent per `changeId` there (a repeat gets the first answer), so it is retried like the hold.
   */
  async changeSeats(
    flightId: number,
    bookingId: number,
    changeId: string,
    seatNumbers: string[],
  ): Promise<SeatChangeCall> {
    const r = await this.callWithRetry(
      (baseURL) =>
        this.http.put(
          `/internal/v1/flights/${flightId}/reservations/${bookingId}/seats`,
          { changeId, seatNumbers },
          { baseURL },
        ),
      'change seats',
    );
    if (r.kind === 'unreachable' || r.status >= 500) return { kind: 'unreachable' };
    if (r.status === 200) {
      const answer = seatChangeAnswerSchema.safeParse(r.data);
      if (answer.success) {
        return { kind: 'changed', seatNumbers: answer.data.seatNumbers, changed: answer.data.changed };
      }
      this.opts.logger.error('flight-service sent a seat change booking-service cannot read', { bookingId });
      return { kind: 'unreachable' };
    }
    return { kind: 'refused', ...refusalOf(r.status, r.data) };
  }

  /**
   * The seats a booking's reservation holds now (`[]` once released); undefined when flight-service cannot say
   * (unreachable, failing, no such reservation — or a flight-service from before seats, whose 404 says nothing).
   */
  async reservedSeats(flightId: number, bookingId: number): Promise<string[] | undefined> {
    const r = await this.callWithRetry(
      (baseURL) => this.http.get(`/internal/v1/flights/${flightId}/reservations/${bookingId}`, { baseURL }),
      'read reservation',
    );
    if (r.kind === 'unreachable' || r.status !== 200) return undefined;
    const answer = reservationSchema.safeParse(r.data);
    return answer.success ? answer.data.seatNumbers : undefined;
  }

  /** Releases a booking's seats; true once flight-service confirmed nothing is held for it any more. */
  async releaseSeats(flightId: number, bookingId: number): Promise<boolean> {
    const r = await this.callWithRetry(
      (baseURL) =>
        this.http.delete(`/internal/v1/flights/${flightId}/reservations/${bookingId}`, { baseURL }),
      'release seats',
    );
    if (r.kind === 'unreachable') return false;
    // 404: the flight itself is gone, so nothing can be held on it.
    return r.status === 200 || r.status === 204 || r.status === 404;
  }
}

/** flight-service could not give an answer (unreachable, timing out, or failing). */
export class FlightServiceDown extends Error {
  override name = 'FlightServiceDown';
}
