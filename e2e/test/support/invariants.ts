import type { BookingLoad } from './load';
import type { Stack } from './stack';

/**
 * The system's promises, checked by reading every service's tables and the SMTP sink once the system has
 * settled. Each broken promise is one line in `violations`; a run is good when there are none.
 */
export interface Window {
  from: number;
  to: number;
}

export interface InvariantOptions {
  /** The load that ran (what clients were told), to check the tables agree with it. */
  load?: BookingLoad;
  /** The sweeper's schedule and how long one run may take on a busy machine (documented bound). */
  tickMs: number;
  slackMs: number;
  /** booking-service's PAYMENT_TIMEOUT_SECONDS, in ms: a PENDING booking may outlive expiresAt by this. */
  paymentTimeoutMs: number;
  /** When booking-service's sweeper could not run (process killed, database cut): expiry waits for it. */
  sweeperPauses?: Window[];
  /**
   * notification-service kills (killed at `from`, ready again at `to`). A second confirmation email is allowed
   * only for a booking whose first email the sink accepted before such a kill while SENT was recorded after it
   * (the documented at-least-once window between "SMTP accepted" and "SENT recorded").
   */
  notificationKills?: Window[];
  /** When the sink accepted each message of `stack.smtp.messages` (same index), from `recordEmailTimes`. */
  emailReceivedAt?: number[];
}

export interface InvariantReport {
  violations: string[];
  counts: Record<string, number>;
}

type Row = Record<string, unknown>;

async function rows(stack: Stack, sql: string, params: unknown[] = []): Promise<Row[]> {
  const [result] = await stack.db.query(sql, params);
  return result as Row[];
}

const names = (stack: Stack) => ({
  F: `\`${stack.prefix}flights\``,
  B: `\`${stack.prefix}bookings\``,
  N: `\`${stack.prefix}notifications\``,
});

/** Remembers when the sink accepted each message (the sink itself keeps no time). */
export function recordEmailTimes(stack: Stack): number[] {
  const times: number[] = stack.smtp.messages.map(() => Date.now());
  const messages = stack.smtp.messages;
  const push = messages.push.bind(messages);
  messages.push = (...items) => {
    for (let i = 0; i < items.length; i++) times.push(Date.now());
    return push(...items);
  };
  return times;
}

/** What still has to happen before the invariants can be read (empty when settled). */
export async function unsettled(stack: Stack): Promise<string[]> {
  const { B, N } = names(stack);
  const [r] = await rows(
    stack,
    `SELECT
       (SELECT COUNT(*) FROM ${B}.bookings WHERE status IN ('INITIATED', 'PENDING')) AS live,
       (SELECT COUNT(*) FROM ${B}.bookings WHERE status = 'CANCELLED' AND seats_state <> 'RELEASED') AS releasing,
       (SELECT COUNT(*) FROM ${B}.outbox_events WHERE published_at IS NULL) AS unpublished,
       (SELECT COUNT(*) FROM ${B}.bookings b WHERE b.status = 'BOOKED' AND NOT EXISTS (
          SELECT 1 FROM ${N}.notifications n
           WHERE n.bookingId = b.id AND n.kind = 'confirmation' AND n.status = 'SENT')) AS unsent`,
  );
  const out: string[] = [];
  if (Number(r.live)) out.push(`${r.live} bookings still INITIATED/PENDING`);
  if (Number(r.releasing)) out.push(`${r.releasing} cancelled bookings whose seats are not released yet`);
  if (Number(r.unpublished)) out.push(`${r.unpublished} outbox events not published`);
  if (Number(r.unsent)) out.push(`${r.unsent} BOOKED bookings without a SENT confirmation`);
  const booked = await rows(stack, `SELECT id FROM ${B}.bookings WHERE status = 'BOOKED'`);
  const noMail = booked.filter((b) => stack.smtp.about(Number(b.id), 'confirmation').length === 0);
  if (noMail.length) out.push(`${noMail.length} BOOKED bookings without a confirmation email at the sink`);
  return out;
}

/** Polls until nothing is pending any more (bounded); returns what was still pending at the deadline. */
export async function settle(stack: Stack, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await unsettled(stack);
    if (pending.length === 0 || Date.now() > deadline) return pending;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function checkInvariants(stack: Stack, opts: InvariantOptions): Promise<InvariantReport> {
  const { F, B, N } = names(stack);
  const violations: string[] = [];
  const counts: Record<string, number> = {};
  // Every DATETIME is stored in UTC (the services' session time zone); read them the same way.
  await stack.db.query("SET time_zone = '+00:00'");

  // 1. Seats: availableSeats + held = totalSeats, availableSeats >= 0, on every flight.
  const flights = await rows(
    stack,
    `SELECT f.id, f.totalSeats, f.availableSeats,
            COALESCE(SUM(CASE WHEN r.status = 'HELD' THEN r.seats END), 0) AS held
       FROM ${F}.flights f LEFT JOIN ${F}.seat_reservations r ON r.flightId = f.id
      GROUP BY f.id, f.totalSeats, f.availableSeats`,
  );
  counts.flights = flights.length;
  for (const f of flights) {
    const [total, available, held] = [Number(f.totalSeats), Number(f.availableSeats), Number(f.held)];
    if (available + held !== total || available < 0) {
      violations.push(`flight ${f.id}: availableSeats ${available} + held ${held} != totalSeats ${total}`);
    }
  }

  // 2. Held seats belong to live bookings, seat for seat, and every live booking holds its seats.
  const holds = await rows(
    stack,
    `SELECT r.bookingId, r.flightId, r.seats, b.status, b.no_of_seats AS noOfSeats, b.flight_id AS bookingFlight
       FROM ${F}.seat_reservations r LEFT JOIN ${B}.bookings b ON b.id = r.bookingId
      WHERE r.status = 'HELD'`,
  );
  counts.heldReservations = holds.length;
  for (const h of holds) {
    if (!h.status || !['INITIATED', 'PENDING', 'BOOKED'].includes(String(h.status))) {
      violations.push(
        `booking ${h.bookingId}: ${h.seats} seats held but the booking is ${h.status ?? 'missing'}`,
      );
    } else if (Number(h.seats) !== Number(h.noOfSeats) || Number(h.flightId) !== Number(h.bookingFlight)) {
      violations.push(
        `booking ${h.bookingId}: holds ${h.seats} seats on flight ${h.flightId}, booked ${h.noOfSeats} on ${h.bookingFlight}`,
      );
    }
  }
  const unheld = await rows(
    stack,
    `SELECT b.id, b.status FROM ${B}.bookings b
       LEFT JOIN ${F}.seat_reservations r ON r.bookingId = b.id AND r.status = 'HELD'
      WHERE b.status IN ('INITIATED', 'PENDING', 'BOOKED') AND r.bookingId IS NULL`,
  );
  for (const b of unheld) violations.push(`booking ${b.id} is ${b.status} but holds no seats`);

  // 3. Every BOOKED booking has exactly one successful payment; nothing else has any.
  const bookings = await rows(
    stack,
    `SELECT b.id, b.status, b.cancel_reason AS cancelReason, COUNT(p.id) AS payments,
            COALESCE(SUM(p.status = 'SUCCEEDED'), 0) AS succeeded
       FROM ${B}.bookings b LEFT JOIN ${B}.payments p ON p.booking_id = b.id
      GROUP BY b.id, b.status, b.cancel_reason`,
  );
  const byId = new Map(bookings.map((b) => [Number(b.id), b]));
  const booked = bookings.filter((b) => b.status === 'BOOKED').map((b) => Number(b.id));
  counts.bookings = bookings.length;
  counts.booked = booked.length;
  for (const [status, reason] of [
    ['CANCELLED', 'USER'],
    ['CANCELLED', 'EXPIRED'],
    ['CANCELLED', 'RESERVATION_FAILED'],
  ]) {
    counts[`${status.toLowerCase()}${reason[0]}${reason.slice(1).toLowerCase()}`] = bookings.filter(
      (b) => b.status === status && b.cancelReason === reason,
    ).length;
  }
  for (const b of bookings) {
    const [n, ok] = [Number(b.payments), Number(b.succeeded)];
    if (b.status === 'BOOKED' && (n !== 1 || ok !== 1)) {
      violations.push(`booking ${b.id} is BOOKED with ${n} payments (${ok} succeeded)`);
    }
    // This load never cancels a paid booking, so a payment row means BOOKED.
    if (b.status !== 'BOOKED' && n > 0)
      violations.push(`booking ${b.id} is ${b.status} but has ${n} payments`);
  }

  // 4. What clients were told agrees with the tables.
  if (opts.load) {
    for (const c of opts.load.bookings.values()) {
      const b = byId.get(c.id);
      if (!b) violations.push(`booking ${c.id} was created (201) but is not in the table`);
      else if (c.paid && b.status !== 'BOOKED')
        violations.push(`booking ${c.id} was paid (201) but is ${b.status}`);
      else if (c.cancelled && !(b.status === 'CANCELLED' && b.cancelReason === 'USER')) {
        violations.push(`booking ${c.id} was cancelled (200) but is ${b.status}/${b.cancelReason}`);
      }
    }
  }

  // 5. One SENT confirmation and one email per BOOKED booking; nothing for bookings that were never paid.
  const notes = await rows(
    stack,
    `SELECT bookingId, kind, status, attempts, UNIX_TIMESTAMP(sentAt) * 1000 AS sentAt FROM ${N}.notifications`,
  );
  counts.notifications = notes.length;
  const confirmations = new Map<number, Row[]>();
  for (const n of notes) {
    const id = Number(n.bookingId);
    if (byId.get(id)?.status !== 'BOOKED') {
      violations.push(
        `booking ${id} is ${byId.get(id)?.status ?? 'missing'} but has a ${n.kind} notification`,
      );
    }
    if (n.kind === 'confirmation') confirmations.set(id, [...(confirmations.get(id) ?? []), n]);
  }
  const times = opts.emailReceivedAt;
  counts.emails = stack.smtp.messages.length;
  counts.duplicateEmailsAtLeastOnce = 0;
  for (const id of booked) {
    const sent = (confirmations.get(id) ?? []).filter((n) => n.status === 'SENT');
    if (sent.length !== 1) violations.push(`booking ${id}: ${sent.length} SENT confirmation notifications`);
    const mails = stack.smtp.about(id, 'confirmation');
    if (mails.length === 1) continue;
    if (mails.length === 2 && times && sent.length === 1) {
      const [first, second] = mails.map((m) => times[stack.smtp.messages.indexOf(m)]);
      // The documented at-least-once case: the first copy went out around a notification-service kill and the
      // notification was only recorded SENT by a later attempt. The sink stamps a message when it has read it
      // all, which can be a few ms after the sender died, hence the slack.
      const SLACK_MS = 2000;
      const edge = (opts.notificationKills ?? []).some(
        (k) => first < k.to + SLACK_MS && second >= k.from && Number(sent[0].attempts) >= 2,
      );
      if (edge) {
        counts.duplicateEmailsAtLeastOnce++;
        continue;
      }
    }
    violations.push(`booking ${id}: ${mails.length} confirmation emails`);
  }
  const bookedSet = new Set(booked);
  for (const m of stack.smtp.messages) {
    const id = Number(/<skyway\.booking-(\d+)\./.exec(m.messageId)?.[1]);
    if (!bookedSet.has(id))
      violations.push(`an email (${m.messageId}) about booking ${id}, which is not BOOKED`);
  }

  // 6. No unpaid booking outlives its TTL by more than a sweeper tick (while a sweeper can run).
  const expiries = await rows(
    stack,
    `SELECT o.booking_id AS id, JSON_VALUE(o.payload, '$.data.previousStatus') AS previous,
            UNIX_TIMESTAMP(b.expires_at) * 1000 AS expiresAt, UNIX_TIMESTAMP(o.created_at) * 1000 AS expiredAt
       FROM ${B}.outbox_events o JOIN ${B}.bookings b ON b.id = o.booking_id
      WHERE o.type = 'booking.expired'`,
  );
  counts.expired = expiries.length;
  let worst = 0;
  const bound = opts.tickMs + opts.slackMs;
  for (const e of expiries) {
    // A PENDING booking waits for its payment attempt to time out (it started before expiresAt).
    let due = Number(e.expiresAt) + (e.previous === 'PENDING' ? opts.paymentTimeoutMs : 0);
    for (const p of opts.sweeperPauses ?? [])
      if (due >= p.from - bound && due <= p.to) due = Math.max(due, p.to);
    const late = Number(e.expiredAt) - due;
    worst = Math.max(worst, late);
    if (late > bound)
      violations.push(`booking ${e.id} expired ${late} ms after it was due (bound ${bound} ms)`);
  }
  counts.worstExpiryLatenessMs = Math.round(worst);
  counts.violations = violations.length;
  return { violations, counts };
}
