import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction, sqlTime } from '@skyway/common';
import type { BookingRecord } from '../domain/bookings';
import { isOncePerBooking, type NotificationKind, type PassengerFacts } from '../domain/emails';
import type {
  ExistingDecision,
  FailurePlan,
  NewNotification,
  Notification,
  NotificationStatus,
} from '../domain/notifications';

/**
 * What recording an event did:
 * - `none`: the event calls for no email;
 * - `send`: this caller holds the notification's lease and must send it now;
 * - `sent` / `busy`: see `ExistingDecision`; send nothing.
 */
export type RecordOutcome =
  | { outcome: 'none' }
  | { outcome: 'send'; notification: Notification }
  | { outcome: 'sent' | 'busy'; notification: Notification };

/** The decisions `recordEvent` asks for while it holds the booking's row (pure functions of the domain). */
export interface EventRecording {
  bookingId: number;
  /** The booking after the event and the email it calls for, from the stored booking (if any). */
  decide(prev: BookingRecord | undefined): { booking: BookingRecord; email: NewNotification | null };
  /** What to do with the notification that already exists for that email. */
  onExisting(existing: Notification): ExistingDecision;
}

const plus = (t: Date, ms: number) => new Date(t.getTime() + ms);

/**
 * Sequelize formats a Date replacement without milliseconds; DATETIME(3) columns need them (a departure time
 * must read back exactly as the event gave it). The session time zone is UTC (createSequelize).
 */
const sqlValues = (values: unknown[]) => values.map((v) => (v instanceof Date ? sqlTime(v) : v));

type Row = Record<string, unknown>;

const dateOrNull = (v: unknown) => (v as Date | null | undefined) ?? null;

/** TEXT holding JSON (MariaDB), or already parsed (a MySQL JSON column). */
const passengersOf = (v: unknown): PassengerFacts[] =>
  (typeof v === 'string' ? JSON.parse(v) : v) as PassengerFacts[];

function toBooking(row: Row): BookingRecord {
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
    locator: row.locator == null ? null : String(row.locator),
    passengers: row.passengers == null ? null : passengersOf(row.passengers),
    confirmedAt: dateOrNull(row.confirmedAt),
    lastEventAt: row.lastEventAt as Date,
  };
}

function toNotification(row: Row): Notification {
  return {
    id: Number(row.id),
    eventId: row.eventId == null ? null : String(row.eventId),
    bookingId: Number(row.bookingId),
    kind: String(row.kind) as NotificationKind,
    recipient: String(row.recipient),
    subject: String(row.subject),
    body: String(row.body),
    status: String(row.status) as NotificationStatus,
    attempts: Number(row.attempts),
    leaseUntil: dateOrNull(row.leaseUntil),
    nextAttemptAt: dateOrNull(row.nextAttemptAt),
    lastError: row.lastError == null ? null : String(row.lastError),
    sentAt: dateOrNull(row.sentAt),
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
  };
}

/**
 * The `notifications` table and the `bookings` it is about (what this service learned from booking events).
 * The booking row is the lock: every write about a booking's notifications holds it first. Plain SQL
 * throughout; every method is one transaction (or one autocommitted statement).
 */
export class NotificationsStore {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Applies a booking event and, in the same transaction, records (or finds) the notification it calls for.
   * The unique eventId and (bookingId, kind) indexes plus the booking row lock make the dedupe check and the
   * insert one atomic step: two consumers handling the same event never both get `send`.
   */
  recordEvent(recording: EventRecording, leaseMs: number, now = new Date()): Promise<RecordOutcome> {
    return inTransaction(this.sequelize, async (t) => {
      const prev = await this.lockBooking(recording.bookingId, t);
      const { booking, email } = recording.decide(prev);
      await this.saveBooking(booking, prev !== undefined, now, t);
      if (!email) return { outcome: 'none' };
      // One confirmation (cancellation, reminder) per booking whatever the events; a seat change's email once per event.
      const existing =
        (email.eventId !== null ? await this.lockByEvent(email.eventId, t) : undefined) ??
        (isOncePerBooking(email.kind) ? await this.lockByKind(email.bookingId, email.kind, t) : undefined);
      if (!existing)
        return { outcome: 'send', notification: await this.insertClaimed(email, now, leaseMs, t) };
      const decision = recording.onExisting(existing);
      if (decision !== 'reclaim') return { outcome: decision, notification: existing };
      return { outcome: 'send', notification: await this.reclaim(existing, now, leaseMs, t) };
    });
  }

  /** Booking ids that look due a reminder in (from, until] and have none yet (a hint: `claimReminder` decides). */
  async findDueReminders(from: Date, until: Date, limit = 100): Promise<number[]> {
    const rows = await this.sequelize.query<{ bookingId: number }>(
      `SELECT b.bookingId FROM bookings b
       WHERE b.status = 'BOOKED' AND b.departureTime > ? AND b.departureTime <= ?
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.bookingId = b.bookingId AND n.kind = 'reminder')
       ORDER BY b.departureTime LIMIT ?`,
      { replacements: sqlValues([from, until, limit]), type: QueryTypes.SELECT },
    );
    return rows.map((r) => Number(r.bookingId));
  }

  /**
   * Records the booking's reminder if `decide` (holding the booking row) still finds one due and none exists,
   * so a concurrent cancellation either lands first (no reminder) or after (the reminder was due when it was
   * claimed). The unique (bookingId, kind) index is the last word: across replicas only one claim can insert it.
   */
  claimReminder(
    bookingId: number,
    decide: (booking: BookingRecord) => NewNotification | null,
    leaseMs: number,
    now = new Date(),
  ): Promise<Notification | null> {
    return inTransaction(this.sequelize, async (t) => {
      const booking = await this.lockBooking(bookingId, t);
      const reminder = booking ? decide(booking) : null;
      if (!reminder) return null;
      if (await this.lockByKind(bookingId, reminder.kind, t)) return null;
      return this.insertClaimed(reminder, now, leaseMs, t);
    });
  }

  /** Unsent notifications the retry job may take now: FAILED ones, and PENDING ones whose sender vanished. */
  async findRetryable(now: Date, maxAttempts: number, limit = 50): Promise<number[]> {
    const rows = await this.sequelize.query<{ id: number }>(
      `SELECT id FROM notifications
       WHERE status IN ('FAILED', 'PENDING') AND nextAttemptAt <= ? AND attempts < ?
         AND (leaseUntil IS NULL OR leaseUntil < ?)
       ORDER BY nextAttemptAt LIMIT ?`,
      { replacements: sqlValues([now, maxAttempts, now, limit]), type: QueryTypes.SELECT },
    );
    return rows.map((r) => Number(r.id));
  }

  /** Takes the lease on one retryable row in a single conditional UPDATE: of several replicas only one wins. */
  async claimForRetry(
    id: number,
    maxAttempts: number,
    leaseMs: number,
    now = new Date(),
  ): Promise<Notification | null> {
    const lease = plus(now, leaseMs);
    const won = await this.affectedRows(
      `UPDATE notifications SET leaseUntil = ?, nextAttemptAt = ?, attempts = attempts + 1, updatedAt = ?
       WHERE id = ? AND status IN ('FAILED', 'PENDING') AND nextAttemptAt <= ? AND attempts < ?
         AND (leaseUntil IS NULL OR leaseUntil < ?)`,
      [lease, lease, now, id, now, maxAttempts, now],
    );
    if (won !== 1) return null;
    const row = await this.selectOne('SELECT * FROM notifications WHERE id = ?', [id]);
    return row ? toNotification(row) : null;
  }

  async markSent(id: number, now = new Date()): Promise<void> {
    await this.sequelize.query(
      `UPDATE notifications SET status = 'SENT', sentAt = ?, leaseUntil = NULL, nextAttemptAt = NULL, lastError = NULL,
         updatedAt = ? WHERE id = ?`,
      { replacements: sqlValues([now, now, id]) },
    );
  }

  async markSendFailed(id: number, plan: FailurePlan, error: string, now = new Date()): Promise<void> {
    await this.sequelize.query(
      `UPDATE notifications SET status = ?, nextAttemptAt = ?, leaseUntil = NULL, lastError = ?, updatedAt = ?
       WHERE id = ? AND status <> 'SENT'`,
      { replacements: sqlValues([plan.status, plan.nextAttemptAt, error.slice(0, 500), now, id]) },
    );
  }

  async listByBooking(bookingId: number): Promise<Notification[]> {
    const rows = await this.sequelize.query<Row>(
      'SELECT * FROM notifications WHERE bookingId = ? ORDER BY id',
      {
        replacements: sqlValues([bookingId]),
        type: QueryTypes.SELECT,
      },
    );
    return rows.map(toNotification);
  }

  private async selectOne(
    sql: string,
    replacements: unknown[],
    transaction?: Transaction,
  ): Promise<Row | undefined> {
    const rows = await this.sequelize.query<Row>(sql, {
      replacements: sqlValues(replacements),
      transaction,
      type: QueryTypes.SELECT,
    });
    return rows[0];
  }

  private async affectedRows(
    sql: string,
    replacements: unknown[],
    transaction?: Transaction,
  ): Promise<number> {
    const [result] = (await this.sequelize.query(sql, {
      replacements: sqlValues(replacements),
      transaction,
    })) as [{ affectedRows?: number }, unknown];
    return result.affectedRows ?? 0;
  }

  private async lockBooking(bookingId: number, t: Transaction): Promise<BookingRecord | undefined> {
    const row = await this.selectOne('SELECT * FROM bookings WHERE bookingId = ? FOR UPDATE', [bookingId], t);
    return row ? toBooking(row) : undefined;
  }

  private async saveBooking(b: BookingRecord, exists: boolean, now: Date, t: Transaction): Promise<void> {
    const values = [
      b.userEmail,
      b.flightNumber,
      b.departureAirportCode,
      b.arrivalAirportCode,
      b.departureTime,
      b.noOfSeats,
      b.totalCost,
      b.status,
      b.locator,
      b.passengers && JSON.stringify(b.passengers),
      b.confirmedAt,
      b.lastEventAt,
      now,
    ];
    if (exists) {
      await this.sequelize.query(
        `UPDATE bookings SET userEmail = ?, flightNumber = ?, departureAirportCode = ?, arrivalAirportCode = ?,
           departureTime = ?, noOfSeats = ?, totalCost = ?, status = ?, locator = ?, passengers = ?, confirmedAt = ?,
           lastEventAt = ?, updatedAt = ?
         WHERE bookingId = ?`,
        { replacements: sqlValues([...values, b.bookingId]), transaction: t },
      );
    } else {
      await this.sequelize.query(
        `INSERT INTO bookings (userEmail, flightNumber, departureAirportCode, arrivalAirportCode, departureTime,
           noOfSeats, totalCost, status, locator, passengers, confirmedAt, lastEventAt, updatedAt, bookingId, createdAt)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        { replacements: sqlValues([...values, b.bookingId, now]), transaction: t },
      );
    }
  }

  private async lockByEvent(eventId: string, t: Transaction): Promise<Notification | undefined> {
    const row = await this.selectOne(
      'SELECT * FROM notifications WHERE eventId = ? FOR UPDATE',
      [eventId],
      t,
    );
    return row ? toNotification(row) : undefined;
  }

  private async lockByKind(
    bookingId: number,
    kind: NotificationKind,
    t: Transaction,
  ): Promise<Notification | undefined> {
    const row = await this.selectOne(
      'SELECT * FROM notifications WHERE bookingId = ? AND kind = ? FOR UPDATE',
      [bookingId, kind],
      t,
    );
    return row ? toNotification(row) : undefined;
  }

  private async insertClaimed(
    n: NewNotification,
    now: Date,
    leaseMs: number,
    t: Transaction,
  ): Promise<Notification> {
    const lease = plus(now, leaseMs);
    await this.sequelize.query(
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
    const row =
      n.eventId !== null
        ? await this.lockByEvent(n.eventId, t)
        : await this.lockByKind(n.bookingId, n.kind, t);
    if (!row) throw new Error('inserted notification not found');
    return row;
  }

  /** Takes the lease on an existing unsent row (its previous sender failed or died) and counts the attempt. */
  private async reclaim(
    row: Notification,
    now: Date,
    leaseMs: number,
    t: Transaction,
  ): Promise<Notification> {
    const lease = plus(now, leaseMs);
    await this.sequelize.query(
      'UPDATE notifications SET leaseUntil = ?, nextAttemptAt = ?, attempts = attempts + 1, updatedAt = ? WHERE id = ?',
      { replacements: sqlValues([lease, lease, now, row.id]), transaction: t },
    );
    return { ...row, leaseUntil: lease, nextAttemptAt: lease, attempts: row.attempts + 1, updatedAt: now };
  }
}
