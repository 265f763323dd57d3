import { z } from 'zod';

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
const positiveId = z.number().int().positive().max(2147483647);
/**
 * The instants a DATETIME column keeps faithfully. Past 9999 (reachable with an offset: 9999-12-31T23:00-05:00)
 * MariaDB refuses the value, and it silently stores year 0000 as 2000.
 */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const isoUtc = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time such as 2026-12-01T10:00:00Z' })
  .transform((s) => new Date(s))
  .refine(
    (d) => d.getTime() >= EARLIEST && d.getTime() <= LATEST,
    'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z',
  );
const airportCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter IATA code')
  .transform((s) => s.toUpperCase());

export const idParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(positiveId),
});

export const reservationParams = z.object({
  id: idParam.shape.id,
  bookingId: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)),
});

const seatName = z.string().regex(/^[1-9][0-9]{0,3}[A-HJK]$/, 'must be a seat such as 12A');

/** `seatNumbers`, when given, has one entry per seat: a chosen seat or null (assign one). */
export const reservationBody = z
  .object({
    seats: z.number().int().min(1).max(10),
    seatNumbers: z.array(seatName.nullable()).min(1).max(10).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.seatNumbers && b.seatNumbers.length !== b.seats) {
      ctx.addIssue({
        code: 'custom',
        path: ['seatNumbers'],
        message: `must have ${b.seats} entries, one per seat`,
      });
    }
  });

export const seatChangeBody = z.object({
  changeId: z.string().min(1).max(64),
  seatNumbers: z.array(seatName).min(1).max(10),
});

export const cityCreate = z.object({ name: text(100) });
export const cityPatch = cityCreate.partial();

export const airportCreate = z.object({
  code: airportCode,
  name: text(200),
  address: z.string().trim().max(500).nullish(),
  cityId: positiveId,
});
export const airportPatch = airportCreate.partial();

const seatsPerRow = z.number().int().min(1).max(10);
export const airplaneCreate = z.object({
  modelNumber: text(100),
  capacity: z.number().int().min(1).max(1000),
  seatsPerRow: seatsPerRow.default(6),
});
// Written out, not `.partial()`: a patch must not fill in seatsPerRow's default.
export const airplanePatch = z.object({
  modelNumber: text(100).optional(),
  capacity: z.number().int().min(1).max(1000).optional(),
  seatsPerRow: seatsPerRow.optional(),
});

export const flightCreate = z.object({
  flightNumber: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9]{2,10}$/, 'must be 2-10 letters or digits')
    .transform((s) => s.toUpperCase()),
  airplaneId: positiveId,
  departureAirportCode: airportCode,
  arrivalAirportCode: airportCode,
  departureTime: isoUtc,
  arrivalTime: isoUtc,
  price: z.number().int().min(0).max(1_000_000_000_000),
  boardingGate: z.string().trim().min(1).max(10).nullish(),
  /** Defaults to the airplane's capacity. */
  totalSeats: z.number().int().min(1).max(1000).optional(),
});
export const flightPatch = flightCreate.partial();

const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** `?page=&limit=` shared by every list. */
export const pagination = z.object({
  page: queryInt(1, 1_000_000).default(1),
  limit: queryInt(1, 100).default(20),
});

export const flightSearchQuery = pagination.extend({
  trips: z.string().optional(),
  price: z.string().optional(),
  travellers: queryInt(1, 1000).optional(),
  tripDate: z.string().optional(),
  sort: z.string().optional(),
});
