'use strict';

/**
 * A seat's row number, kept by the database from the seat's name (`12A` → 12), indexed with its flight: a hold on
 * a large seat map reads the seats taken in a few rows (a window) instead of every taken seat of the flight.
 * A stored generated column, so no writer has to know of it (MariaDB and MySQL both accept this syntax).
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(
      `ALTER TABLE flight_seats
         ADD COLUMN seatRow SMALLINT UNSIGNED AS (CAST(LEFT(seat, CHAR_LENGTH(seat) - 1) AS UNSIGNED)) STORED,
         ADD INDEX flight_seats_flight_row (flightId, seatRow)`,
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(
      'ALTER TABLE flight_seats DROP INDEX flight_seats_flight_row, DROP COLUMN seatRow',
    );
  },
};
