'use strict';

/** Events written in the same transaction as the booking change they describe; the relay publishes them in id order. */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE outbox_events (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        event_id CHAR(36) CHARACTER SET ascii NOT NULL,
        booking_id INT UNSIGNED NOT NULL,
        type VARCHAR(40) NOT NULL,
        payload MEDIUMTEXT NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        published_at DATETIME(3) NULL,
        UNIQUE KEY outbox_events_event (event_id),
        KEY outbox_events_pending (published_at, id),
        KEY outbox_events_booking (booking_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
    `);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('outbox_events');
  },
};
