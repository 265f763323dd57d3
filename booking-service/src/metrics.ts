import { Counter, Gauge } from 'prom-client';
import { metric, type ServiceMetrics } from '@skyway/common';

export type BookingOutcome = 'created' | 'confirmed' | 'cancelled' | 'expired';
/** The two ways a booking loses a seat race: not enough seats left, or the chosen seat is taken. */
export type SeatConflict = 'not-enough-seats' | 'seat-taken';

/** What the outbox gauges read at scrape time (OutboxStore.backlog). */
export type OutboxBacklog = () => Promise<{ pending: number; oldestAgeSeconds: number }>;

/** booking-service's own counters, incremented where each outcome is decided (use cases, relay, idempotency). */
export interface BookingMetrics {
  booking(outcome: BookingOutcome, count?: number): void;
  seatConflict(kind: SeatConflict): void;
  idempotency(outcome: 'replayed' | 'in-flight' | 'mismatch'): void;
  published(type: string, count: number): void;
  publishFailed(count: number): void;
}

const CONFLICT_TYPES: Record<string, SeatConflict> = {
  'urn:skyway:problem:not-enough-seats': 'not-enough-seats',
  'urn:skyway:problem:seat-taken': 'seat-taken',
};

/** The seat conflict a flight-service 409's problem type names, if it is one. */
export const seatConflictOf = (type: string | undefined): SeatConflict | undefined =>
  type === undefined ? undefined : CONFLICT_TYPES[type];

/** Counters that count nothing: for use cases built without metrics (unit tests). */
export const NO_METRICS: BookingMetrics = {
  booking: () => undefined,
  seatConflict: () => undefined,
  idempotency: () => undefined,
  published: () => undefined,
  publishFailed: () => undefined,
};

export function bookingMetrics(metrics: ServiceMetrics, backlog: OutboxBacklog): BookingMetrics {
  if (!metrics.enabled) return NO_METRICS;
  const { registry } = metrics;
  const bookings = metric(registry, Counter, {
    name: 'bookings_total',
    help: 'Booking state changes, by outcome (created = seats held, confirmed = paid, cancelled, expired)',
    labelNames: ['outcome'],
  });
  const conflicts = metric(registry, Counter, {
    name: 'booking_seat_conflicts_total',
    help: 'Bookings refused with 409 for lack of seats, by kind (not-enough-seats, seat-taken)',
    labelNames: ['kind'],
  });
  const idempotency = metric(registry, Counter, {
    name: 'idempotency_requests_total',
    help: 'Requests with an Idempotency-Key answered from the key: replayed, in-flight (409), mismatch (422)',
    labelNames: ['outcome'],
  });
  const published = metric(registry, Counter, {
    name: 'outbox_events_published_total',
    help: 'Outbox events the broker confirmed, by event type',
    labelNames: ['type'],
  });
  const failures = metric(registry, Counter, {
    name: 'outbox_publish_failures_total',
    help: 'Outbox events the broker did not confirm (they stay in the outbox and are sent again)',
  });
  // One query per scrape feeds both gauges.
  let reading: Promise<{ pending: number; oldestAgeSeconds: number }> | undefined;
  const read = () => {
    reading ??= backlog().finally(() => setTimeout(() => (reading = undefined), 0));
    return reading;
  };
  metric(registry, Gauge, {
    name: 'outbox_backlog',
    help: 'Outbox events not yet published',
    async collect() {
      this.set((await read()).pending);
    },
  });
  metric(registry, Gauge, {
    name: 'outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest unpublished outbox event (0 when none)',
    async collect() {
      this.set((await read()).oldestAgeSeconds);
    },
  });
  return {
    booking: (outcome, count = 1) => bookings.inc({ outcome }, count),
    seatConflict: (kind) => conflicts.inc({ kind }),
    idempotency: (outcome) => idempotency.inc({ outcome }),
    published: (type, count) => published.inc({ type }, count),
    publishFailed: (count) => failures.inc(count),
  };
}
