'use strict';

/**
 * One row per booking that ever touched a flight's seats. HELD rows count against availableSeats;
 * RELEASED rows (including tombstones for a release that came before any hold) make every later
 * reserve/release for that booking a no-op, so each booking decrements and restores at most once.
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('seat_reservations', {
      bookingId: { type: Sequelize.BIGINT, primaryKey: true },
      // No foreign key on purpose: an FK check would take a shared lock on the hot flight row before the
      // FOR UPDATE, turning every reservation into a lock upgrade (and deadlocks). Deleting a flight checks
      // for reservations itself, under the flight's row lock.
      flightId: { type: Sequelize.INTEGER, allowNull: false },
      seats: { type: Sequelize.INTEGER, allowNull: false },
      status: { type: Sequelize.ENUM('HELD', 'RELEASED'), allowNull: false },
      createdAt: {
        type: Sequelize.DATE(3),
        allowNull: false,
        defaultValue: Sequelize.literal('CURRENT_TIMESTAMP(3)'),
      },
      updatedAt: {
        type: Sequelize.DATE(3),
        allowNull: false,
        defaultValue: Sequelize.literal('CURRENT_TIMESTAMP(3)'),
      },
    });
    await queryInterface.addIndex('seat_reservations', ['flightId', 'status'], {
      name: 'seat_reservations_flight',
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('seat_reservations');
  },
};
