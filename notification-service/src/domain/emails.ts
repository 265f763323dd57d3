/** The emails the service sends, as plain text (contract: Events → Emails). */

export type NotificationKind = 'confirmation' | 'cancellation' | 'reminder';

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

function details(b: BookingFacts, currency: string): string {
  return [
    `Booking:   ${b.bookingId}`,
    `Flight:    ${b.flightNumber}`,
    `Route:     ${routeOf(b)}`,
    `Departure: ${isoUtc(b.departureTime)}`,
    `Seats:     ${b.noOfSeats}`,
    `Total:     ${formatMoney(b.totalCost, currency)}`,
  ].join('\n');
}

const SIGN_OFF = 'Thank you for flying with Skyway.';

/** Subject and body for one kind of email about one booking. */
export function composeEmail(kind: NotificationKind, b: BookingFacts, currency: string): ComposedEmail {
  const facts = details(b, currency);
  switch (kind) {
    case 'confirmation':
      return {
        subject: `Booking ${b.bookingId} confirmed: flight ${b.flightNumber} ${routeOf(b)}`,
        text: `Hello,\n\nYour booking ${b.bookingId} is confirmed and paid.\n\n${facts}\n\n${SIGN_OFF}\n`,
      };
    case 'cancellation':
      return {
        subject: `Booking ${b.bookingId} cancelled: flight ${b.flightNumber} ${routeOf(b)}`,
        text: `Hello,\n\nYour booking ${b.bookingId} has been cancelled.\n\n${facts}\n\n${SIGN_OFF}\n`,
      };
    case 'reminder':
      return {
        subject: `Reminder: flight ${b.flightNumber} ${routeOf(b)} departs ${isoUtc(b.departureTime)}`,
        text:
          `Hello,\n\nA reminder that your flight for booking ${b.bookingId} departs soon.\n\n${facts}\n\n` +
          `Please plan to reach the airport in good time. ${SIGN_OFF}\n`,
      };
  }
}

/** Deterministic per booking and kind, so a rare duplicate is recognisable (and folded by many mail clients). */
export const messageIdFor = (bookingId: number, kind: NotificationKind, mailDomain: string): string =>
  `<skyway.booking-${bookingId}.${kind}@${mailDomain}>`;
