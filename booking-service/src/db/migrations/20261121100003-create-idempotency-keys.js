'use strict';

/**
 * The row is the lock: the unique (user_id, scope, idem_key) insert claims a key. Keys are compared
 * byte for byte (ascii_bin), so "abc" and "ABC" are different keys. The stored response is replayed
 * exactly as it was first sent.
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE idempotency_keys (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        user_id BIGINT UNSIGNED NOT NULL,
        scope VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        idem_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        fingerprint CHAR(64) CHARACTER SET ascii NOT NULL,
        state VARCHAR(16) NOT NULL,
        response_status SMALLINT UNSIGNED NULL,
        response_type VARCHAR(255) NULL,
        response_body MEDIUMTEXT NULL,
        locked_until DATETIME(3) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE KEY idempotency_keys_owner (user_id, scope, idem_key),
        KEY idempotency_keys_expiry (expires_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
    `);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('idempotency_keys');
  },
};
