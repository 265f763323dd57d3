'use strict';

/**
 * v1.1 review fixes:
 * - booking_user_locks: one row per user, locked while a new booking counts the user's unpaid seats, so two
 *   concurrent bookings of one user cannot both slip under the unpaid-seat caps.
 * - bookings_unpaid: the count reads the user's INITIATED/PENDING bookings from the index alone.
 * - idempotency_keys.token: the fencing token of the claim's current owner. A take-over after the lock time
 *   writes a new token, so a stalled earlier owner can no longer complete or release the key.
 * - idempotency_keys.response_location: a replayed 201 sends the Location the first answer had.
 */
module.exports = {
  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`
      CREATE TABLE booking_user_locks (
        user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY
      ) ENGINE=InnoDB
    `);
    await q(`ALTER TABLE bookings ADD KEY bookings_unpaid (user_id, status, flight_id, no_of_seats)`);
    await q(
      `ALTER TABLE idempotency_keys ADD COLUMN token CHAR(36) CHARACTER SET ascii NULL AFTER fingerprint`,
    );
    await q(
      `ALTER TABLE idempotency_keys ADD COLUMN response_location VARCHAR(255) NULL AFTER response_type`,
    );
  },

  async down(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`ALTER TABLE idempotency_keys DROP COLUMN response_location`);
    await q(`ALTER TABLE idempotency_keys DROP COLUMN token`);
    await q(`ALTER TABLE bookings DROP KEY bookings_unpaid`);
    await queryInterface.dropTable('booking_user_locks');
  },
};
