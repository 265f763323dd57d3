'use strict';

/** One row per successful charge; the unique booking_id makes a second charge for a booking impossible to record. */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE payments (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        booking_id INT UNSIGNED NOT NULL,
        user_id BIGINT UNSIGNED NOT NULL,
        amount BIGINT UNSIGNED NOT NULL,
        status VARCHAR(16) NOT NULL,
        provider_ref VARCHAR(128) NOT NULL,
        idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE KEY payments_booking (booking_id),
        CONSTRAINT payments_booking_fk FOREIGN KEY (booking_id) REFERENCES bookings (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    `);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('payments');
  },
};
