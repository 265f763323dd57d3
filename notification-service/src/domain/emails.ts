/** The emails the service sends, as plain text (contract: Events → Emails). */

export type NotificationKind = 'confirmation' | 'cancellation' | 'reminder' | 'seats-changed';

/** Kinds sent at most once per booking; the others (a seat change can happen several times) once per event. */
export const isOncePerBooking = (kind: NotificationKind): boolean => kind !== 'seats-changed';

/** A traveller as the events name them: `name` null for a count-only booking, `seat` null while not known. */
export interface PassengerFacts {
  name: string | null;
  seat: string | null;
}

/** What every email names about its booking. */
export interface BookingFacts {
  bookingId: number;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  /** Any instant; shown as ISO-8601 UTC. */
  departureTime: Date | string;
  noOfSeats: number;
  /** Integer minor units. */
  totalCost: number;
  /** v1.1; absent (or null) in events and rows from before record locators and passengers. */
  locator?: string | null;
  passengers?: PassengerFacts[] | null;
}

export interface ComposedEmail {
  subject: string;
  text: string;
}

/** `9000` minor units with `INR` → `INR 90.00`: two decimals, no thousands separator, exact for any integer. */
export function formatMoney(minorUnits: number, currency: string): string {
  if (!Number.isSafeInteger(minorUnits)) throw new RangeError(`amount must be an integer, got ${minorUnits}`);
  const sign = minorUnits < 0 ? '-' : '';
  const digits = String(Math.abs(minorUnits)).padStart(3, '0');
  return `${currency} ${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

export const isoUtc = (t: Date | string): string => new Date(t).toISOString();

export const routeOf = (b: BookingFacts): string => `${b.departureAirportCode} → ${b.arrivalAirportCode}`;

/** Each passenger on a line of their own, with their seat: `  1. Asha Rao, seat 12A`. */
export function passengerLines(passengers: PassengerFacts[]): string[] {
  return passengers.map(
    (p, i) => `  ${i + 1}. ${p.name ?? `Passenger ${i + 1}`}, seat ${p.seat ?? 'to be confirmed'}`,
  );
}

/** The seats in passenger order: `14C, 14D`. */
export const seatList = (passengers: PassengerFacts[]): string =>
  passengers.map((p) => p.seat ?? 'to be confirmed').join(', ');

/** The booking's facts block; `withPassengers: false` when the email has just listed them (a seat change). */
function details(b: BookingFacts, currency: string, withPassengers = true): string {
  return [
    ...(b.locator ? [`Locator:   ${b.locator}`] : []),
    `Booking:   ${b.bookingId}`,
    `Flight:    ${b.flightNumber}`,
    `Route:     ${routeOf(b)}`,
    `Departure: ${isoUtc(b.departureTime)}`,
    `Seats:     ${b.noOfSeats}`,
    ...(withPassengers && b.passengers?.length ? ['Passengers:', ...passengerLines(b.passengers)] : []),
    `Total:     ${formatMoney(b.totalCost, currency)}`,
  ].join('\n');
}

/** How a subject names the booking: by its locator when it has one (what travellers quote). */
const bookingName = (b: BookingFacts) =>
  b.locator ? `${b.locator} (booking ${b.bookingId})` : `${b.bookingId}`;

const SIGN_OFF = 'Thank you for flying with Skyway.';

/** Subject and body for one kind of email about one booking. */
export function composeEmail(kind: NotificationKind, b: BookingFacts, currency: string): ComposedEmail {
  // A seat change lists the passengers with their new seats above the facts, so the facts leave them out.
  const facts = details(b, currency, kind !== 'seats-changed');
  switch (kind) {
    case 'confirmation':
      return {
        subject: `Booking ${bookingName(b)} confirmed: flight ${b.flightNumber} ${routeOf(b)}`,
        text: `Hello,\n\nYour booking ${b.bookingId} is confirmed and paid.\n\n${facts}\n\n${SIGN_OFF}\n`,
      };
    case 'cancellation':
      return {
        subject: `Booking ${bookingName(b)} cancelled: flight ${b.flightNumber} ${routeOf(b)}`,
        text: `Hello,\n\nYour booking ${b.bookingId} has been cancelled.\n\n${facts}\n\n${SIGN_OFF}\n`,
      };
    case 'reminder':
      return {
        subject: `Reminder: flight ${b.flightNumber} ${routeOf(b)} departs ${isoUtc(b.departureTime)}`,
        text:
          `Hello,\n\nA reminder that your flight for booking ${b.bookingId} departs soon.\n\n${facts}\n\n` +
          `Please plan to reach the airport in good time. ${SIGN_OFF}\n`,
      };
    case 'seats-changed':
      return {
        subject: `Booking ${bookingName(b)}: new seats ${seatList(b.passengers ?? [])} on flight ${b.flightNumber}`,
        text:
          `Hello,\n\nThe seats of your booking ${bookingName(b)} have changed. Your seats now:\n\n` +
          `${passengerLines(b.passengers ?? []).join('\n')}\n\n${facts}\n\n${SIGN_OFF}\n`,
      };
  }
}

/**
 * Deterministic per booking and kind (and per event for kinds sent once per event), so a rare duplicate is
 * recognisable (and folded by many mail clients) while two seat changes stay two emails.
 */
export const messageIdFor = (
  bookingId: number,
  kind: NotificationKind,
  mailDomain: string,
  eventId?: string | null,
): string =>
  isOncePerBooking(kind) || !eventId
    ? `<skyway.booking-${bookingId}.${kind}@${mailDomain}>`
    : `<skyway.booking-${bookingId}.${kind}.${eventId}@${mailDomain}>`;
