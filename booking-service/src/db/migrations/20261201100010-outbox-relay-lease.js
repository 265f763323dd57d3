'use strict';

/**
 * outbox_relay_lease: which booking-service replica relays the outbox, until when. A row, not GET_LOCK: a named
 * lock lives on one server, so on a Galera cluster two replicas connected to two nodes would both hold "the"
 * lock. Taking the lease is an ordinary write, which the cluster certifies: one replica wins it.
 */
module.exports = {
  async up(queryInterface) {
    const q = (sql) => queryInterface.sequelize.query(sql);
    await q(`
      CREATE TABLE outbox_relay_lease (
        name VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
        holder CHAR(36) CHARACTER SET ascii NULL,
        expires_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB
    `);
    await q(`INSERT INTO outbox_relay_lease (name, holder, expires_at) VALUES ('relay', NULL, '1970-01-01')`);
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query('DROP TABLE outbox_relay_lease');
  },
};
