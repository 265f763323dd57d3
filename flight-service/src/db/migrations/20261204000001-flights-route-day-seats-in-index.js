'use strict';

/**
 * One route's one day, with travellers, counted from the index alone: `flights_route_day_price` ends in
 * `id, availableSeats`. A route has about 90 flights a day in a 1M-flight catalog, and a search for that day and
 * that route with `travellers=` read each match's row to check its free seats — 90 random page reads when the
 * catalog is larger than the buffer pool, the one shape that grew more than 2× from 1k to 1M flights on the stock
 * 128 MB pool (README, "Search at scale"). Now the seats are checked inside the index and only the page's rows are
 * read. `id` is written out so that `availableSeats` comes after it: the index order stays (route, day, price, id).
 *
 * The cost is on the hold path: every change of a flight's `availableSeats` also rewrites its entry here (one
 * entry per flight-row update; group commit makes that one per batch of holds). Measured in the README.
 */
const NAME = 'flights_route_day_price';
const COLUMNS = 'departureAirportCode, arrivalAirportCode, departureDate, price';

module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(
      `ALTER TABLE flights DROP INDEX ${NAME}, ADD INDEX ${NAME} (${COLUMNS}, id, availableSeats)`,
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(
      `ALTER TABLE flights DROP INDEX ${NAME}, ADD INDEX ${NAME} (${COLUMNS})`,
    );
  },
};
