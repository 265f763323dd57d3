'use strict';

/**
 * v1.1 seats, passengers and record locators:
 * - bookings.locator and bookings.passengers (JSON text, `[{ name, seat }]` in passenger order), so reminders
 *   name them too; NULL for bookings only known from events written before v1.1.
 * - A booking's seats may change several times, each change with its own email: the "one per booking and kind"
 *   rule now applies to every kind except `seats-changed`, whose rows are unique per event (the eventId index).
 *   `onceKey` is the kind for the once-per-booking kinds and NULL for `seats-changed` (a unique index ignores NULLs).
 */
module.exports = {
  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`ALTER TABLE bookings ADD COLUMN locator VARCHAR(16) NULL, ADD COLUMN passengers TEXT NULL`);
    await q(`
      ALTER TABLE notifications
        ADD COLUMN onceKey VARCHAR(20) AS (IF(kind = 'seats-changed', NULL, kind)) STORED,
        ADD UNIQUE KEY notifications_booking_once (bookingId, onceKey),
        DROP KEY notifications_booking_kind,
        ADD KEY notifications_booking (bookingId, kind)
    `);
  },

  async down(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`DELETE FROM notifications WHERE kind = 'seats-changed'`);
    await q(`
      ALTER TABLE notifications
        DROP KEY notifications_booking,
        ADD UNIQUE KEY notifications_booking_kind (bookingId, kind),
        DROP KEY notifications_booking_once,
        DROP COLUMN onceKey
    `);
    await q(`ALTER TABLE bookings DROP COLUMN passengers, DROP COLUMN locator`);
  },
};
