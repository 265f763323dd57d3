import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction, sqlTime, type BookingEvent } from '@skyway/common';
import { applyEvent, emailKindFor, isDueReminder, type BookingRecord } from '../domain/bookings';
import type { ComposedEmail, NotificationKind } from '../domain/emails';

export type NotificationStatus = 'PENDING' | 'SENT' | 'FAILED';

export interface NotificationRow {
  id: number;
  eventId: string | null;
  bookingId: number;
  kind: NotificationKind;
  recipient: string;
  subject: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  leaseUntil: Date | null;
  nextAttemptAt: Date | null;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What recording an event decided:
 * - `none`: the event calls for no email;
 * - `send`: this caller holds the notification's lease and must send it now;
 * - `sent`: it was already sent (a redelivery or a duplicate event): send nothing;
 * - `busy`: another sender holds the lease right now; if that sender dies, the retry job takes over after it.
 */
export type RecordOutcome =
  | { outcome: 'none' }
  | { outcome: 'send'; notification: NotificationRow }
  | { outcome: 'sent' | 'busy'; notification: NotificationRow };

const plus = (t: Date, ms: number) => new Date(t.getTime() + ms);

/**
 * Sequelize formats a Date replacement without milliseconds; DATETIME(3) columns need them (a departure time
 * must read back exactly as the event gave it). The session time zone is UTC (createSequelize).
 */
const sqlValues = (values: unknown[]) => values.map((v) => (v instanceof Date ? sqlTime(v) : v));

async function selectOne<T extends object>(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  transaction?: Transaction,
): Promise<T | undefined> {
  const rows = await sequelize.query<T>(sql, {
    replacements: sqlValues(replacements),
    transaction,
    type: QueryTypes.SELECT,
  });
  return rows[0];
}

async function affectedRows(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  transaction?: Transaction,
): Promise<number> {
  const [result] = (await sequelize.query(sql, { replacements: sqlValues(replacements), transaction })) as [
    { affectedRows?: number },
    unknown,
  ];
  return result.affectedRows ?? 0;
}

function toBooking(row: Record<string, unknown>): BookingRecord {
  return {
    bookingId: Number(row.bookingId),
    userEmail: String(row.userEmail),
    flightNumber: String(row.flightNumber),
    departureAirportCode: String(row.departureAirportCode),
    arrivalAirportCode: String(row.arrivalAirportCode),
    departureTime: row.departureTime as Date,
    noOfSeats: Number(row.noOfSeats),
    totalCost: Number(row.totalCost),
    status: String(row.status),
    confirmedAt: (row.confirmedAt as Date | null) ?? null,
    lastEventAt: row.lastEventAt as Date,
  };
}

async function lockBooking(sequelize: Sequelize, bookingId: number, t: Transaction) {
  const row = await selectOne<Record<string, unknown>>(
    sequelize,
    'SELECT * FROM bookings WHERE bookingId = ? FOR UPDATE',
    [bookingId],
    t,
  );
  return row ? toBooking(row) : undefined;
}

async function saveBooking(
  sequelize: Sequelize,
  b: BookingRecord,
  exists: boolean,
  now: Date,
  t: Transaction,
): Promise<void> {
  const values = [
    b.userEmail,
    b.flightNumber,
    b.departureAirportCode,
    b.arrivalAirportCode,
    b.departureTime,
    b.noOfSeats,
    b.totalCost,
    b.status,
    b.confirmedAt,
    b.lastEventAt,
    now,
  ];
  if (exists) {
    await sequelize.query(
      `UPDATE bookings SET userEmail = ?, flightNumber = ?, departureAirportCode = ?, arrivalAirportCode = ?,
         departureTime = ?, noOfSeats = ?, totalCost = ?, status = ?, confirmedAt = ?, lastEventAt = ?, updatedAt = ?
       WHERE bookingId = ?`,
      { replacements: sqlValues([...values, b.bookingId]), transaction: t },
    );
  } else {
    await sequelize.query(
      `INSERT INTO bookings (userEmail, flightNumber, departureAirportCode, arrivalAirportCode, departureTime,
         noOfSeats, totalCost, status, confirmedAt, lastEventAt, updatedAt, bookingId, createdAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      { replacements: sqlValues([...values, b.bookingId, now]), transaction: t },
    );
  }
}

const lockNotificationByEvent = (sequelize: Sequelize, eventId: string, t: Transaction) =>
  selectOne<NotificationRow>(
    sequelize,
    'SELECT * FROM notifications WHERE eventId = ? FOR UPDATE',
    [eventId],
    t,
  );

const lockNotificationByKind = (
  sequelize: Sequelize,
  bookingId: number,
  kind: NotificationKind,
  t: Transaction,
) =>
  selectOne<NotificationRow>(
    sequelize,
    'SELECT * FROM notifications WHERE bookingId = ? AND kind = ? FOR UPDATE',
    [bookingId, kind],
    t,
  );

async function insertClaimed(
  sequelize: Sequelize,
  n: {
    eventId: string | null;
    bookingId: number;
    kind: NotificationKind;
    recipient: string;
    email: ComposedEmail;
  },
  now: Date,
  leaseMs: number,
  t: Transaction,
): Promise<NotificationRow> {
  const lease = plus(now, leaseMs);
  await sequelize.query(
    `INSERT INTO notifications (eventId, bookingId, kind, recipient, subject, body, status, attempts, leaseUntil,
       nextAttemptAt, createdAt, updatedAt)
     VALUES (?, ?, ?, ?, ?, ?, 'PENDING', 1, ?, ?, ?, ?)`,
    {
      replacements: sqlValues([
        n.eventId,
        n.bookingId,
        n.kind,
        n.recipient,
        n.email.subject,
        n.email.text,
        lease,
        lease,
        now,
        now,
      ]),
      transaction: t,
    },
  );
  const row = await lockNotificationByKind(sequelize, n.bookingId, n.kind, t);
  if (!row) throw new Error('inserted notification not found');
  return row;
}

/** Takes the lease on an existing unsent row (its previous sender failed or died) and counts the attempt. */
async function reclaim(
  sequelize: Sequelize,
  row: NotificationRow,
  now: Date,
  leaseMs: number,
  t: Transaction,
): Promise<NotificationRow> {
  const lease = plus(now, leaseMs);
  await sequelize.query(
    'UPDATE notifications SET leaseUntil = ?, nextAttemptAt = ?, attempts = attempts + 1, updatedAt = ? WHERE id = ?',
    { replacements: sqlValues([lease, lease, now, row.id]), transaction: t },
  );
  return { ...row, leaseUntil: lease, nextAttemptAt: lease, attempts: row.attempts + 1, updatedAt: now };
}

const leaseIsLive = (row: NotificationRow, now: Date) => row.leaseUntil !== null && row.leaseUntil > now;

/**
 * Applies a booking event and, in the same transaction, records (or finds) the notification it calls for.
 * The unique eventId and (bookingId, kind) indexes plus the booking row lock make the dedupe check and the
 * insert one atomic step: two consumers handling the same event never both get `send`.
 */
export function recordEvent(
  sequelize: Sequelize,
  event: BookingEvent,
  compose: (kind: NotificationKind, booking: BookingEvent['data']) => ComposedEmail,
  leaseMs: number,
  now = new Date(),
): Promise<RecordOutcome> {
  return inTransaction(sequelize, async (t) => {
    const prev = await lockBooking(sequelize, event.data.bookingId, t);
    await saveBooking(sequelize, applyEvent(prev, event), prev !== undefined, now, t);
    const kind = emailKindFor(event, prev);
    if (!kind) return { outcome: 'none' };
    const existing =
      (await lockNotificationByEvent(sequelize, event.eventId, t)) ??
      (await lockNotificationByKind(sequelize, event.data.bookingId, kind, t));
    if (!existing) {
      const notification = await insertClaimed(
        sequelize,
        {
          eventId: event.eventId,
          bookingId: event.data.bookingId,
          kind,
          recipient: event.data.userEmail,
          email: compose(kind, event.data),
        },
        now,
        leaseMs,
        t,
      );
      return { outcome: 'send', notification };
    }
    if (existing.status === 'SENT') return { outcome: 'sent', notification: existing };
    if (leaseIsLive(existing, now)) return { outcome: 'busy', notification: existing };
    return { outcome: 'send', notification: await reclaim(sequelize, existing, now, leaseMs, t) };
  });
}

/** Bookings due a reminder that have none yet (a hint: `claimReminder` decides under a lock). */
export async function findDueReminders(
  sequelize: Sequelize,
  now: Date,
  leadMs: number,
  limit = 100,
): Promise<number[]> {
  const rows = await sequelize.query<{ bookingId: number }>(
    `SELECT b.bookingId FROM bookings b
     WHERE b.status = 'BOOKED' AND b.departureTime > ? AND b.departureTime <= ?
       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.bookingId = b.bookingId AND n.kind = 'reminder')
     ORDER BY b.departureTime LIMIT ?`,
    { replacements: sqlValues([now, plus(now, leadMs), limit]), type: QueryTypes.SELECT },
  );
  return rows.map((r) => Number(r.bookingId));
}

/**
 * Records the booking's reminder if it is still due and has none, holding the booking row so a concurrent
 * cancellation either lands first (no reminder) or after (the reminder was due when it was claimed).
 * The unique (bookingId, kind) index is the last word: across replicas only one claim can insert it.
 */
export function claimReminder(
  sequelize: Sequelize,
  bookingId: number,
  compose: (booking: BookingRecord) => ComposedEmail,
  leadMs: number,
  leaseMs: number,
  now = new Date(),
): Promise<NotificationRow | null> {
  return inTransaction(sequelize, async (t) => {
    const booking = await lockBooking(sequelize, bookingId, t);
    if (!booking || !isDueReminder(booking, now, leadMs)) return null;
    if (await lockNotificationByKind(sequelize, bookingId, 'reminder', t)) return null;
    return insertClaimed(
      sequelize,
      { eventId: null, bookingId, kind: 'reminder', recipient: booking.userEmail, email: compose(booking) },
      now,
      leaseMs,
      t,
    );
  });
}

/** Unsent notifications the retry job may take now: FAILED ones, and PENDING ones whose sender vanished. */
export async function findRetryable(
  sequelize: Sequelize,
  now: Date,
  maxAttempts: number,
  limit = 50,
): Promise<number[]> {
  const rows = await sequelize.query<{ id: number }>(
    `SELECT id FROM notifications
     WHERE status IN ('FAILED', 'PENDING') AND nextAttemptAt <= ? AND attempts < ?
       AND (leaseUntil IS NULL OR leaseUntil < ?)
     ORDER BY nextAttemptAt LIMIT ?`,
    { replacements: sqlValues([now, maxAttempts, now, limit]), type: QueryTypes.SELECT },
  );
  return rows.map((r) => Number(r.id));
}

/** Takes the lease on one retryable row in a single conditional UPDATE: of several replicas only one wins. */
export async function claimForRetry(
  sequelize: Sequelize,
  id: number,
  maxAttempts: number,
  leaseMs: number,
  now = new Date(),
): Promise<NotificationRow | null> {
  const lease = plus(now, leaseMs);
  const won = await affectedRows(
    sequelize,
    `UPDATE notifications SET leaseUntil = ?, nextAttemptAt = ?, attempts = attempts + 1, updatedAt = ?
     WHERE id = ? AND status IN ('FAILED', 'PENDING') AND nextAttemptAt <= ? AND attempts < ?
       AND (leaseUntil IS NULL OR leaseUntil < ?)`,
    [lease, lease, now, id, now, maxAttempts, now],
  );
  if (won !== 1) return null;
  return (
    (await selectOne<NotificationRow>(sequelize, 'SELECT * FROM notifications WHERE id = ?', [id])) ?? null
  );
}

export async function markSent(sequelize: Sequelize, id: number, now = new Date()): Promise<void> {
  await sequelize.query(
    `UPDATE notifications SET status = 'SENT', sentAt = ?, leaseUntil = NULL, nextAttemptAt = NULL, lastError = NULL,
       updatedAt = ? WHERE id = ?`,
    { replacements: sqlValues([now, now, id]) },
  );
}

export interface FailurePlan {
  status: 'PENDING' | 'FAILED';
  /** When the retry job may take it; NULL when we give up on it. */
  nextAttemptAt: Date | null;
}

export async function markSendFailed(
  sequelize: Sequelize,
  id: number,
  plan: FailurePlan,
  error: string,
  now = new Date(),
): Promise<void> {
  await sequelize.query(
    `UPDATE notifications SET status = ?, nextAttemptAt = ?, leaseUntil = NULL, lastError = ?, updatedAt = ?
     WHERE id = ? AND status <> 'SENT'`,
    { replacements: sqlValues([plan.status, plan.nextAttemptAt, error.slice(0, 500), now, id]) },
  );
}

export async function listByBooking(sequelize: Sequelize, bookingId: number): Promise<NotificationRow[]> {
  return sequelize.query<NotificationRow>('SELECT * FROM notifications WHERE bookingId = ? ORDER BY id', {
    replacements: sqlValues([bookingId]),
    type: QueryTypes.SELECT,
  });
}
