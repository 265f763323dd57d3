import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import type { BookingStatus, CancelReason, SeatsState } from '../domain/booking';

export class Booking extends Model<InferAttributes<Booking>, InferCreationAttributes<Booking>> {
  declare id: CreationOptional<number>;
  declare flightId: number;
  declare userId: number;
  declare userEmail: string;
  declare flightNumber: string;
  declare departureAirportCode: string;
  declare arrivalAirportCode: string;
  declare departureTime: Date;
  declare noOfSeats: number;
  declare totalCost: number;
  declare status: BookingStatus;
  declare cancelReason: CancelReason | null;
  declare seatsState: SeatsState;
  declare releaseLeaseUntil: Date | null;
  declare expiresAt: Date;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class IdempotencyKey extends Model<
  InferAttributes<IdempotencyKey>,
  InferCreationAttributes<IdempotencyKey>
> {
  declare id: CreationOptional<number>;
  declare userId: number;
  declare scope: string;
  declare idemKey: string;
  declare fingerprint: string;
  /** The fencing token of the claim's current owner (a take-over writes a new one). */
  declare token: string | null;
  declare state: 'IN_FLIGHT' | 'DONE';
  declare responseStatus: number | null;
  declare responseType: string | null;
  declare responseLocation: string | null;
  declare responseBody: string | null;
  declare lockedUntil: Date;
  declare expiresAt: Date;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class OutboxEvent extends Model<InferAttributes<OutboxEvent>, InferCreationAttributes<OutboxEvent>> {
  declare id: CreationOptional<number>;
  declare eventId: string;
  declare bookingId: number;
  declare type: string;
  declare payload: string;
  declare createdAt: CreationOptional<Date>;
  declare publishedAt: Date | null;
}

export interface Models {
  Booking: typeof Booking;
  IdempotencyKey: typeof IdempotencyKey;
  OutboxEvent: typeof OutboxEvent;
}

const id = { type: DataTypes.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true };
const bigId = { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true };
/** mysql2 may hand BIGINT columns back as strings; amounts and user ids here are far below 2^53. */
const numberGetter = (field: string) =>
  function (this: Model) {
    const v = this.getDataValue(field as never) as unknown;
    return v === null || v === undefined ? v : Number(v);
  };

/**
 * Binds fresh subclasses to `sequelize`, so several instances (replicas in one test process, two sweepers)
 * never rebind each other's models.
 */
export function initModels(sequelize: Sequelize): Models {
  const common = { sequelize, underscored: true, timestamps: true } as const;
  const models: Models = {
    Booking: class extends Booking {},
    IdempotencyKey: class extends IdempotencyKey {},
    OutboxEvent: class extends OutboxEvent {},
  };
  models.Booking.init(
    {
      id,
      flightId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      userId: { type: DataTypes.BIGINT.UNSIGNED, allowNull: false, get: numberGetter('userId') },
      userEmail: { type: DataTypes.STRING(320), allowNull: false },
      flightNumber: { type: DataTypes.STRING(32), allowNull: false },
      departureAirportCode: { type: DataTypes.STRING(8), allowNull: false },
      arrivalAirportCode: { type: DataTypes.STRING(8), allowNull: false },
      departureTime: { type: DataTypes.DATE(3), allowNull: false },
      noOfSeats: { type: DataTypes.SMALLINT.UNSIGNED, allowNull: false },
      totalCost: { type: DataTypes.BIGINT.UNSIGNED, allowNull: false, get: numberGetter('totalCost') },
      status: { type: DataTypes.STRING(16), allowNull: false },
      cancelReason: { type: DataTypes.STRING(32), allowNull: true },
      seatsState: { type: DataTypes.STRING(16), allowNull: false },
      releaseLeaseUntil: { type: DataTypes.DATE(3), allowNull: true },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { ...common, modelName: 'Booking', tableName: 'bookings' },
  );
  models.IdempotencyKey.init(
    {
      id: { ...bigId, get: numberGetter('id') },
      userId: { type: DataTypes.BIGINT.UNSIGNED, allowNull: false, get: numberGetter('userId') },
      scope: { type: DataTypes.STRING(32), allowNull: false },
      idemKey: { type: DataTypes.STRING(255), allowNull: false },
      fingerprint: { type: DataTypes.CHAR(64), allowNull: false },
      token: { type: DataTypes.CHAR(36), allowNull: true },
      state: { type: DataTypes.STRING(16), allowNull: false },
      responseStatus: { type: DataTypes.SMALLINT.UNSIGNED, allowNull: true },
      responseType: { type: DataTypes.STRING(255), allowNull: true },
      responseLocation: { type: DataTypes.STRING(255), allowNull: true },
      responseBody: { type: DataTypes.TEXT('medium'), allowNull: true },
      lockedUntil: { type: DataTypes.DATE(3), allowNull: false },
      expiresAt: { type: DataTypes.DATE(3), allowNull: false },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { ...common, modelName: 'IdempotencyKey', tableName: 'idempotency_keys' },
  );
  models.OutboxEvent.init(
    {
      id: { ...bigId, get: numberGetter('id') },
      eventId: { type: DataTypes.CHAR(36), allowNull: false },
      bookingId: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      type: { type: DataTypes.STRING(40), allowNull: false },
      payload: { type: DataTypes.TEXT('medium'), allowNull: false },
      createdAt: DataTypes.DATE(3),
      publishedAt: { type: DataTypes.DATE(3), allowNull: true },
    },
    { ...common, modelName: 'OutboxEvent', tableName: 'outbox_events', updatedAt: false },
  );
  return models;
}
