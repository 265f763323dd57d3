'use strict';

/**
 * Seats: airplanes get a row width (`seatsPerRow`, 1–10, default 6); `flight_seats` holds one row per taken seat
 * (primary key (flightId, seat): the database admits each seat of a flight once), owned by the reservation that
 * holds it; `seat_changes` keeps each seat change's answer for its changeId. Existing live (HELD) reservations get
 * seats from the front of their flight's map, in booking order, each keeping exactly its number of seats, and every
 * flight's availableSeats is set to the free seats on its map (totalSeats − held).
 */
const LETTERS = 'ABCDEFGHJK';
// Frozen copy of the naming rule (a migration must not change when the code does).
const seatName = (index, seatsPerRow) =>
  `${Math.floor(index / seatsPerRow) + 1}${LETTERS[index % seatsPerRow]}`;

module.exports = {
  async up(queryInterface, Sequelize) {
    const q = (sql, replacements) => queryInterface.sequelize.query(sql, { replacements });
    await queryInterface.addColumn('airplanes', 'seatsPerRow', {
      type: Sequelize.INTEGER,
      allowNull: false,
      defaultValue: 6,
    });
    await q(
      'ALTER TABLE airplanes ADD CONSTRAINT airplanes_seats_per_row CHECK (seatsPerRow BETWEEN 1 AND 10)',
    );
    await queryInterface.createTable('flight_seats', {
      // No foreign keys, as on seat_reservations: an FK check would share-lock the hot flight row first.
      flightId: { type: Sequelize.INTEGER, allowNull: false, primaryKey: true },
      seat: { type: 'VARCHAR(5) CHARACTER SET ascii COLLATE ascii_bin', allowNull: false, primaryKey: true },
      bookingId: { type: Sequelize.BIGINT, allowNull: false },
      /** The passenger (0-based, in the booking's order) who sits here. */
      passenger: { type: Sequelize.SMALLINT, allowNull: false },
    });
    await queryInterface.addIndex('flight_seats', ['bookingId', 'passenger'], {
      name: 'flight_seats_booking',
      unique: true,
    });
    await queryInterface.createTable('seat_changes', {
      bookingId: { type: Sequelize.BIGINT, allowNull: false, primaryKey: true },
      changeId: { type: Sequelize.STRING(64), allowNull: false, primaryKey: true },
      /** The seats asked for (JSON), to tell a repeat from a reused changeId. */
      seatNumbers: { type: Sequelize.TEXT, allowNull: false },
      /** The answer given (JSON), returned again for a repeat. */
      answer: { type: Sequelize.TEXT, allowNull: false },
      createdAt: {
        type: Sequelize.DATE(3),
        allowNull: false,
        defaultValue: Sequelize.literal('CURRENT_TIMESTAMP(3)'),
      },
    });

    // Existing live reservations get their seats, flight by flight (front of the map first, oldest booking first).
    const [flights] = await q(
      `SELECT f.id, f.totalSeats, p.seatsPerRow FROM flights f JOIN airplanes p ON p.id = f.airplaneId
        WHERE EXISTS (SELECT 1 FROM seat_reservations r WHERE r.flightId = f.id AND r.status = 'HELD' AND r.seats > 0)
        ORDER BY f.id`,
    );
    for (const f of flights) {
      const [held] = await q(
        "SELECT bookingId, seats FROM seat_reservations WHERE flightId = ? AND status = 'HELD' AND seats > 0 ORDER BY createdAt, bookingId",
        [f.id],
      );
      const total = held.reduce((n, r) => n + r.seats, 0);
      if (total > f.totalSeats) {
        throw new Error(`flight ${f.id}: ${total} seats held but only ${f.totalSeats} on the map`);
      }
      const rows = [];
      let next = 0;
      for (const r of held) {
        for (let passenger = 0; passenger < r.seats; passenger++) {
          rows.push([f.id, seatName(next++, f.seatsPerRow), r.bookingId, passenger]);
        }
      }
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await q(
          `INSERT INTO flight_seats (flightId, seat, bookingId, passenger) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`,
          chunk.flat(),
        );
      }
    }
    await q(
      `UPDATE flights f SET availableSeats = f.totalSeats -
         (SELECT COUNT(*) FROM flight_seats s WHERE s.flightId = f.id)`,
    );
  },

  async down(queryInterface) {
    await queryInterface.dropTable('seat_changes');
    await queryInterface.dropTable('flight_seats');
    await queryInterface.sequelize.query('ALTER TABLE airplanes DROP CONSTRAINT airplanes_seats_per_row');
    await queryInterface.removeColumn('airplanes', 'seatsPerRow');
  },
};
