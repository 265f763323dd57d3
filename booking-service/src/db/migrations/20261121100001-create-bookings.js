'use strict';

/**
 * Bookings keep a copy of the flight fields their events need, so every later event (confirmed,
 * cancelled, expired) is built without calling flight-service. `seats_state` tracks the seat hold at
 * flight-service apart from the booking status: a cancelled booking whose release has not been
 * confirmed yet stays RELEASING until the sweeper gets a 200/204 for it.
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE bookings (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        flight_id INT UNSIGNED NOT NULL,
        user_id BIGINT UNSIGNED NOT NULL,
        user_email VARCHAR(320) NOT NULL DEFAULT '',
        flight_number VARCHAR(32) NOT NULL,
        departure_airport_code VARCHAR(8) NOT NULL,
        arrival_airport_code VARCHAR(8) NOT NULL,
        departure_time DATETIME(3) NOT NULL,
        no_of_seats SMALLINT UNSIGNED NOT NULL,
        total_cost BIGINT UNSIGNED NOT NULL,
        status VARCHAR(16) NOT NULL,
        cancel_reason VARCHAR(32) NULL,
        seats_state VARCHAR(16) NOT NULL,
        release_lease_until DATETIME(3) NULL,
        expires_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        KEY bookings_user (user_id, id),
        KEY bookings_expiry (status, expires_at),
        KEY bookings_release (seats_state, release_lease_until)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    `);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('bookings');
  },
};
