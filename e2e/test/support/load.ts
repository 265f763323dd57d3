import { ADMIN, call } from './stack';

/**
 * A bounded booking-and-payment load through the gateway: `vus` virtual users, each looping
 * book → pay (most) / cancel (some) / abandon (the rest, left to expire), until stopped. Every request has a
 * client-side deadline, so a hung service shows up as a `timeout` outcome instead of a hung test.
 */
export interface Customer {
  id: number;
  email: string;
  token: string;
}

export interface RequestRecord {
  op: 'book' | 'pay' | 'cancel';
  /** HTTP status, or `error:<code>` when no HTTP answer came (refused, reset, client timeout). */
  outcome: number | string;
  /** Content-Type of an error answer (every error must be problem+json). */
  type?: string;
  startedAt: number;
  ms: number;
}

export interface BookingRecord {
  id: number;
  userId: number;
  email: string;
  /** What the client did with it, and the last answer it got for that. */
  intent: 'pay' | 'cancel' | 'abandon';
  paid: boolean;
  cancelled: boolean;
  /** The last answer to the payment (status or `error:<code>`), when the client tried to pay. */
  payOutcome?: number | string;
  /** The problem detail of that last answer, when it was an error. */
  payDetail?: string;
}

export interface LoadOptions {
  gateway: string;
  customers: Customer[];
  flightIds: number[];
  /** Client-side deadline per request. */
  requestTimeoutMs: number;
  /** How long a virtual user keeps retrying a payment that got no definitive answer (5xx, 409 in flight, no answer). */
  payRetryMs: number;
  payShare?: number;
  cancelShare?: number;
  /** Pause between iterations of one virtual user. */
  thinkMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Answer =
  { status: number; type?: string; body: { id?: number } & Record<string, unknown> } | { error: string };

export class BookingLoad {
  readonly requests: RequestRecord[] = [];
  readonly bookings = new Map<number, BookingRecord>();
  private stopping = false;
  private running: Promise<void>[] = [];
  /** Idempotency keys are unique per load, so two loads by the same customers never reuse one. */
  private readonly run = Math.random().toString(36).slice(2, 8);

  constructor(private readonly opts: LoadOptions) {}

  start(): void {
    this.running = this.opts.customers.map((c, i) => this.virtualUser(c, i));
  }

  /** No new bookings; payments already under way are retried to their end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  /** Requests by outcome, e.g. `{ 'book 201': 120, 'pay 503': 4, 'book error:ECONNREFUSED': 3 }`. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      const k = `${r.op} ${r.outcome}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return Object.fromEntries(Object.entries(out).sort());
  }

  private async request(
    op: RequestRecord['op'],
    method: string,
    path: string,
    c: Customer,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer> {
    const startedAt = Date.now();
    let answer: Answer;
    try {
      const res = await callWithDeadline(this.opts.gateway, method, path, this.opts.requestTimeoutMs, {
        token: c.token,
        body,
        headers,
      });
      answer = { status: res.status, type: res.headers.get('content-type') ?? '', body: res.body ?? {} };
    } catch (err) {
      answer = { error: errorCode(err) };
    }
    this.requests.push({
      op,
      outcome: 'status' in answer ? answer.status : `error:${answer.error}`,
      ...('status' in answer && answer.status >= 400 ? { type: answer.type } : {}),
      startedAt,
      ms: Date.now() - startedAt,
    });
    return answer;
  }

  private async virtualUser(c: Customer, vu: number): Promise<void> {
    const { flightIds, payShare = 0.7, cancelShare = 0.1, thinkMs = 50 } = this.opts;
    for (let n = 0; !this.stopping; n++) {
      const flightId = flightIds[(vu + n) % flightIds.length];
      const booked = await this.request('book', 'POST', '/api/v1/bookings', c, {
        flightId,
        noOfSeats: 1 + ((vu + n) % 3 === 0 ? 1 : 0),
      });
      // No answer at all (the gateway is down): back off a little instead of spinning on refusals.
      if (!('status' in booked)) await sleep(250);
      if ('status' in booked && booked.status === 201 && typeof booked.body.id === 'number') {
        const roll = Math.random();
        const intent = roll < payShare ? 'pay' : roll < payShare + cancelShare ? 'cancel' : 'abandon';
        const record: BookingRecord = {
          id: booked.body.id,
          userId: c.id,
          email: c.email,
          intent,
          paid: false,
          cancelled: false,
        };
        this.bookings.set(record.id, record);
        if (intent === 'pay')
          await this.pay(c, record, Number(booked.body.totalCost), `${this.run}-vu${vu}-n${n}`);
        if (intent === 'cancel') {
          const r = await this.request('cancel', 'POST', `/api/v1/bookings/${record.id}/cancel`, c);
          record.cancelled = 'status' in r && r.status === 200;
        }
      }
      await sleep(thinkMs);
    }
  }

  /** Pays with one Idempotency-Key, retrying it (as a careful client would) until a definitive answer. */
  private async pay(c: Customer, b: BookingRecord, amount: number, key: string): Promise<void> {
    const deadline = Date.now() + this.opts.payRetryMs;
    for (;;) {
      const r = await this.request(
        'pay',
        'POST',
        '/api/v1/payments',
        c,
        { bookingId: b.id, amount },
        { 'Idempotency-Key': key },
      );
      b.payOutcome = 'status' in r ? r.status : `error:${r.error}`;
      b.payDetail = 'status' in r && typeof r.body.detail === 'string' ? r.body.detail : undefined;
      if ('status' in r && r.status === 201) {
        b.paid = true;
        return;
      }
      const retryable = !('status' in r) || r.status >= 500 || r.status === 409 || r.status === 429;
      // Not cut short by stop(): a client that was told "retry" keeps retrying until its deadline.
      if (!retryable || Date.now() > deadline) return;
      await sleep(250);
    }
  }
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string }; code?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  return e?.cause?.code ?? e?.code ?? e?.name ?? 'unknown';
}

/** `call` with a client-side deadline (AbortSignal), so no request can hang the test. */
export function callWithDeadline(
  base: string,
  method: string,
  path: string,
  timeoutMs: number,
  opts: Parameters<typeof call>[3] = {},
): ReturnType<typeof call> {
  return call(base, method, path, { ...opts, timeoutMs });
}

/** Signs `n` customers up and in (sequentially: bcrypt is CPU-bound on a small machine). */
export async function customers(gateway: string, tag: string, n: number): Promise<Customer[]> {
  const out: Customer[] = [];
  for (let i = 0; i < n; i++) {
    const email = `${tag}${i}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
    const password = 'correct horse battery';
    const up = await call(gateway, 'POST', '/api/v1/auth/signup', { body: { email, password, name: tag } });
    if (up.status !== 201) throw new Error(`signup answered ${up.status}: ${JSON.stringify(up.body)}`);
    const inn = await call(gateway, 'POST', '/api/v1/auth/signin', { body: { email, password } });
    if (inn.status !== 200) throw new Error(`signin answered ${inn.status}`);
    out.push({ id: up.body.id, email, token: inn.body.token });
  }
  return out;
}

/** Creates `n` flights of `seats` seats departing in a week (admin, through the gateway); returns their ids. */
export async function flights(gateway: string, n: number, seats: number, tag: string): Promise<number[]> {
  const admin = await call(gateway, 'POST', '/api/v1/auth/signin', { body: ADMIN });
  if (admin.status !== 200) throw new Error(`admin signin answered ${admin.status}`);
  const planes = await call(gateway, 'GET', '/api/v1/airplanes?limit=100');
  const plane = (planes.body.data as Array<{ id: number; capacity: number }>).find(
    (p) => p.capacity >= seats,
  );
  if (!plane) throw new Error(`no airplane with ${seats} seats`);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const departure = new Date(Date.now() + (7 + i) * 86_400_000);
    const res = await call(gateway, 'POST', '/api/v1/flights', {
      token: admin.body.token,
      body: {
        flightNumber: `${tag}${i}`.slice(0, 10),
        airplaneId: plane.id,
        departureAirportCode: 'DEL',
        arrivalAirportCode: 'BOM',
        departureTime: departure.toISOString(),
        arrivalTime: new Date(departure.getTime() + 7_800_000).toISOString(),
        price: 450_000,
        totalSeats: seats,
      },
    });
    if (res.status !== 201)
      throw new Error(`flight create answered ${res.status}: ${JSON.stringify(res.body)}`);
    ids.push(res.body.id);
  }
  return ids;
}
