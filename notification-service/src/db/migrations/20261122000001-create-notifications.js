'use strict';

/** The notifications this service sends (one row per email) and what it knows about each booking. */
module.exports = {
  async up(queryInterface, Sequelize) {
    const time = (allowNull) => ({ type: 'DATETIME(3)', allowNull });
    await queryInterface.createTable('notifications', {
      id: { type: Sequelize.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true },
      // The event that asked for it; NULL for reminders, which no event asks for.
      eventId: { type: Sequelize.CHAR(36), allowNull: true },
      bookingId: { type: Sequelize.INTEGER.UNSIGNED, allowNull: false },
      kind: { type: Sequelize.STRING(20), allowNull: false },
      recipient: { type: Sequelize.STRING(320), allowNull: false },
      subject: { type: Sequelize.STRING(255), allowNull: false },
      body: { type: Sequelize.TEXT, allowNull: false },
      status: { type: Sequelize.STRING(10), allowNull: false, defaultValue: 'PENDING' },
      attempts: { type: Sequelize.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      // A sender holds the row until then; after it, the sender is presumed dead and anyone may take over.
      leaseUntil: time(true),
      // When the FAILED-retry job may take the row (NULL: never, e.g. SENT or given up).
      nextAttemptAt: time(true),
      lastError: { type: Sequelize.STRING(500), allowNull: true },
      sentAt: time(true),
      createdAt: time(false),
      updatedAt: time(false),
    });
    await queryInterface.addIndex('notifications', ['eventId'], {
      unique: true,
      name: 'notifications_event_id',
    });
    // One confirmation, one cancellation notice and one reminder per booking at most, whatever the events.
    await queryInterface.addIndex('notifications', ['bookingId', 'kind'], {
      unique: true,
      name: 'notifications_booking_kind',
    });
    await queryInterface.addIndex('notifications', ['status', 'nextAttemptAt'], {
      name: 'notifications_retry',
    });

    await queryInterface.createTable('bookings', {
      bookingId: { type: Sequelize.INTEGER.UNSIGNED, primaryKey: true },
      userEmail: { type: Sequelize.STRING(320), allowNull: false },
      flightNumber: { type: Sequelize.STRING(40), allowNull: false },
      departureAirportCode: { type: Sequelize.STRING(10), allowNull: false },
      arrivalAirportCode: { type: Sequelize.STRING(10), allowNull: false },
      departureTime: time(false),
      noOfSeats: { type: Sequelize.INTEGER.UNSIGNED, allowNull: false },
      totalCost: { type: Sequelize.BIGINT, allowNull: false },
      status: { type: Sequelize.STRING(20), allowNull: false },
      confirmedAt: time(true),
      lastEventAt: time(false),
      createdAt: time(false),
      updatedAt: time(false),
    });
    await queryInterface.addIndex('bookings', ['status', 'departureTime'], {
      name: 'bookings_status_departure',
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('bookings');
    await queryInterface.dropTable('notifications');
  },
};
