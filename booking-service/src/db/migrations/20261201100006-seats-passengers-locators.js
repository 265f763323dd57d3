'use strict';

const { randomBytes } = require('node:crypto');

/**
 * v1.1 seats, passengers and record locators:
 * - locator: 6 random characters of the contract's alphabet, unique (the index is the proof; the insert draws
 *   again on a duplicate). Existing bookings get one here.
 * - passengers: a JSON array in passenger order, `{ name, seat }` each, read and written with the booking row
 *   (always together, under its lock). Existing bookings get `no_of_seats` nameless passengers.
 * - seats_to_learn: the seat numbers are to be read back from flight-service, which gives existing live
 *   reservations their seats in its own migration; booking-service's sweeper reads them back
 *   (GET /internal/v1/flights/:id/reservations/:bookingId) and clears the flag. Until then the seats show as null.
 * - seat_change_*: the intent of a seat change under way (its changeId, the seats asked for, its lease), written
 *   before flight-service is asked, so a crash between the two is finished later with the same changeId.
 */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const locator = () => [...randomBytes(6)].map((b) => ALPHABET[b & 31]).join('');
const BATCH = 500;

module.exports = {
  async up(queryInterface) {
    const q = (sql, replacements) => queryInterface.sequelize.query(sql, { replacements });
    await q(`
      ALTER TABLE bookings
        ADD COLUMN locator CHAR(6) CHARACTER SET ascii NULL,
        ADD COLUMN passengers TEXT NULL,
        ADD COLUMN seats_to_learn TINYINT(1) NOT NULL DEFAULT 0,
        ADD COLUMN seat_change_id CHAR(36) CHARACTER SET ascii NULL,
        ADD COLUMN seat_change_seats VARCHAR(255) CHARACTER SET ascii NULL,
        ADD COLUMN seat_change_lease_until DATETIME(3) NULL
    `);
    const taken = new Set();
    for (;;) {
      const [rows] = await q(
        `SELECT id, no_of_seats AS n, status FROM bookings WHERE locator IS NULL ORDER BY id LIMIT ${BATCH}`,
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        let l;
        do l = locator();
        while (taken.has(l));
        taken.add(l);
        const passengers = JSON.stringify(
          Array.from({ length: Number(row.n) }, () => ({ name: null, seat: null })),
        );
        const live = ['INITIATED', 'PENDING', 'BOOKED'].includes(row.status) ? 1 : 0;
        await q('UPDATE bookings SET locator = ?, passengers = ?, seats_to_learn = ? WHERE id = ?', [
          l,
          passengers,
          live,
          row.id,
        ]);
      }
    }
    await q(`
      ALTER TABLE bookings
        MODIFY locator CHAR(6) CHARACTER SET ascii NOT NULL,
        MODIFY passengers TEXT NOT NULL,
        ADD UNIQUE KEY bookings_locator (locator),
        ADD KEY bookings_seats_to_learn (seats_to_learn, id),
        ADD KEY bookings_seat_change (seat_change_lease_until)
    `);
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(`
      ALTER TABLE bookings
        DROP KEY bookings_seat_change,
        DROP KEY bookings_seats_to_learn,
        DROP KEY bookings_locator,
        DROP COLUMN seat_change_lease_until,
        DROP COLUMN seat_change_seats,
        DROP COLUMN seat_change_id,
        DROP COLUMN seats_to_learn,
        DROP COLUMN passengers,
        DROP COLUMN locator
    `);
  },
};
