import { randomUUID } from 'node:crypto';
import type { Identity, Logger } from '@skyway/common';
import type { FlightClient, FlightRefusal } from '../clients/flight-client';
import type { BookingsStore } from '../db/bookings-store';
import {
  toBookingView,
  type BookingRecord,
  type BookingView,
  type PendingSeatChange,
} from '../domain/booking';
import {
  completeSeatChange,
  learnSeats,
  startSeatChange,
  type SeatChangeOutcome,
  type SeatChangeRefusal,
  type SeatChangeStart,
} from '../domain/transitions';
import { SEAT_TAKEN, seatErrorsAs } from './bookings';
import { Refused, type Refusal } from './refusals';

export interface SeatChangeDeps {
  store: BookingsStore;
  flights: Pick<FlightClient, 'changeSeats' | 'reservedSeats'>;
  logger: Logger;
  /** How long the request that records a change owns it: longer than every flight-service attempt can take. */
  leaseMs: number;
  batchSize: number;
  /** Called after a transaction that wrote outbox events committed (wakes the relay). */
  onEvents: () => void;
  now?: () => Date;
}

const RELEASED = 'urn:skyway:problem:reservation-released';
const DEPARTED = 'urn:skyway:problem:flight-departed';

function refusalOfStart(id: number, r: SeatChangeRefusal): Refusal {
  switch (r.kind) {
    case 'not-found':
      return { kind: 'booking-not-found', bookingId: id };
    case 'seat-count':
      return { kind: 'seat-count-mismatch', bookingId: id, expected: r.expected };
    case 'payment-in-progress':
      return { kind: 'seat-change-while-paying', bookingId: id };
    case 'change-in-progress':
      return { kind: 'seat-change-in-progress', bookingId: id };
    case 'not-changeable':
      return { kind: 'seat-change-not-allowed', bookingId: id, status: r.status, expired: r.expired };
    case 'departed':
      return { kind: 'seat-change-after-departure', bookingId: id };
  }
}

/** What the client hears when flight-service refused a change (nothing changed). */
function refusalOfFlight(id: number, r: FlightRefusal): Refusal {
  if (r.status === 409 && r.type === SEAT_TAKEN && r.seats) return { kind: 'seat-taken', seats: r.seats };
  if (r.status === 409 && r.type === DEPARTED) return { kind: 'seat-change-after-departure', bookingId: id };
  // Released (the booking was cancelled or expired meanwhile) or no reservation at all.
  if (r.status === 404 || (r.status === 409 && r.type === RELEASED)) {
    return { kind: 'seat-change-not-allowed', bookingId: id, status: 'CANCELLED', expired: false };
  }
  const errors = r.status === 400 ? seatErrorsAs(r.errors, 'seats.%') : undefined;
  if (errors) return { kind: 'seats-invalid', errors };
  return { kind: 'seat-change-refused-unexpectedly' };
}

/**
 * Seat changes: all or nothing at flight-service (its seat-change PUT, idempotent per changeId), and crash-safe
 * here: the change's intent (changeId + seats) is committed under the booking's row lock before flight-service is
 * asked, and only flight-service's answer to that same changeId clears it. A change whose request died between
 * the two is finished later by the sweeper with the same changeId (flight-service answers it again without
 * applying anything twice), so the seats a booking records never stay different from the ones it holds.
 */
export class SeatChanges {
  private readonly now: () => Date;

  constructor(private readonly deps: SeatChangeDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** `PUT /api/v1/bookings/:id/seats`: the new seat of every passenger, in passenger order. */
  async change(who: Identity, id: number, seats: string[]): Promise<BookingView> {
    const { store, flights } = this.deps;
    let started: { booking: BookingRecord; pending: PendingSeatChange } | undefined;
    for (let round = 0; !started; round++) {
      const changeId = randomUUID();
      const now = this.now();
      const decision = await store.change(id, (b) => {
        const d = startSeatChange(b, who, seats, changeId, now, this.deps.leaseMs);
        return { change: d.kind === 'started' ? d.change : undefined, result: { d, b } };
      });
      const d: SeatChangeStart = decision.d;
      switch (d.kind) {
        case 'refused':
          throw new Refused(refusalOfStart(id, d.refusal));
        case 'unchanged':
          return toBookingView(d.booking);
        case 'recover-first':
          // The earlier change's request is gone: finish it (same changeId), then decide this one afresh.
          if (round > 0) throw new Refused({ kind: 'seat-change-in-progress', bookingId: id });
          if (!(await this.finish(decision.b as BookingRecord, d.pending))) {
            throw new Refused({ kind: 'seat-change-unconfirmed', bookingId: id });
          }
          break;
        case 'started':
          started = { booking: d.change.booking, pending: d.pending };
      }
    }
    const { booking, pending } = started;
    const call = await flights.changeSeats(booking.flightId, id, pending.changeId, pending.seats);
    if (call.kind === 'unreachable') {
      // The intent stays: after its lease the sweeper asks again with the same changeId and records the answer.
      throw new Refused({ kind: 'seat-change-unconfirmed', bookingId: id });
    }
    const outcome: SeatChangeOutcome =
      call.kind === 'changed'
        ? { kind: 'applied', seats: call.seatNumbers, changed: call.changed }
        : { kind: 'not-applied' };
    const done = await this.complete(id, pending.changeId, outcome);
    if (call.kind === 'refused') throw new Refused(refusalOfFlight(id, call));
    if (!done) {
      // Finished meanwhile by a sweeper that found the lease over (this request ran very late): read it back.
      const now = await store.find(id);
      if (!now) throw new Refused({ kind: 'booking-not-found', bookingId: id });
      return toBookingView(now);
    }
    return toBookingView(done);
  }

  /** Records flight-service's answer to `changeId` (and the seats-changed event); undefined if already recorded. */
  private async complete(
    id: number,
    changeId: string,
    outcome: SeatChangeOutcome,
  ): Promise<BookingRecord | undefined> {
    const now = this.now();
    const change = await this.deps.store.change(id, (b) => {
      const c = completeSeatChange(b, changeId, outcome, now);
      return { change: c, result: c };
    });
    if (change?.event) this.deps.onEvents();
    return change?.booking;
  }

  /**
   * Finishes a recorded change whose request is gone: asks flight-service again with the same changeId (it
   * answers the first outcome again, or applies it now if the first request never arrived) and records that.
   * A cancelled booking's seats are being released whatever they are: its intent is just cleared. Returns
   * false when flight-service could not be asked (the intent stays for the next sweep).
   */
  async finish(b: BookingRecord, pending: PendingSeatChange): Promise<boolean> {
    if (b.status === 'CANCELLED') {
      await this.complete(b.id, pending.changeId, { kind: 'not-applied' });
      return true;
    }
    const call = await this.deps.flights.changeSeats(b.flightId, b.id, pending.changeId, pending.seats);
    if (call.kind === 'unreachable') return false;
    if (call.kind === 'refused' && refusalOfFlight(b.id, call).kind === 'seat-change-refused-unexpectedly') {
      this.deps.logger.error('flight-service refused a recorded seat change unexpectedly', {
        bookingId: b.id,
        status: call.status,
        type: call.type,
      });
    }
    await this.complete(
      b.id,
      pending.changeId,
      call.kind === 'changed'
        ? { kind: 'applied', seats: call.seatNumbers, changed: call.changed }
        : { kind: 'not-applied' },
    );
    return true;
  }

  /** The sweeper's pass: finishes every seat change whose lease ran out. Returns how many were finished. */
  async finishStale(): Promise<number> {
    let finished = 0;
    for (;;) {
      const now = this.now();
      const batch = await this.deps.store.claimStaleSeatChanges(
        now,
        new Date(now.getTime() + this.deps.leaseMs),
        this.deps.batchSize,
      );
      if (batch.length === 0) return finished;
      for (const b of batch) {
        if (b.seatChange && (await this.finish(b, b.seatChange))) finished += 1;
      }
      if (batch.length < this.deps.batchSize) return finished;
    }
  }

  /**
   * The sweeper's pass over bookings from before seats existed: reads each one's seat numbers back from
   * flight-service (which gave existing reservations their seats in its migration) and records them.
   */
  async learnSeats(): Promise<number> {
    let learned = 0;
    let after = 0;
    for (;;) {
      const batch = await this.deps.store.findSeatsToLearn(after, this.deps.batchSize);
      if (batch.length === 0) return learned;
      for (const { id, flightId } of batch) {
        after = id;
        const seats = await this.deps.flights.reservedSeats(flightId, id);
        if (seats === undefined) continue;
        const change = await this.deps.store.change(id, (b) => {
          const c = learnSeats(b, seats);
          return { change: c, result: c };
        });
        if (change) learned += 1;
      }
    }
  }
}
