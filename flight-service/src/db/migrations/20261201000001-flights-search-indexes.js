'use strict';

/**
 * Every search shape served in index order, so a page stops after `limit` index entries at any catalog size
 * (EXPLAIN for each shape: test/search-explain.test.ts and README, "Search at scale"):
 * - `departureDate`, the UTC day of the departure, stored: `tripDate` becomes an equality, so a day's flights
 *   come in price or arrival order straight from an index instead of being sorted (a range on departureTime
 *   leaves only departureTime itself in index order).
 * - arrival-time orders, with and without a route, which no index served; price then departure time (either
 *   direction) without a route; one-key route orders (the older route indexes carry a second sort column).
 * Descending sorts read these indexes backwards (the id tie-break follows the first key's direction).
 */
const INDEXES = [
  ['flights_route_departure_time', 'departureAirportCode, arrivalAirportCode, departureTime'],
  ['flights_route_price_only', 'departureAirportCode, arrivalAirportCode, price'],
  ['flights_route_arrival', 'departureAirportCode, arrivalAirportCode, arrivalTime'],
  ['flights_route_day_price', 'departureAirportCode, arrivalAirportCode, departureDate, price'],
  ['flights_route_day_arrival', 'departureAirportCode, arrivalAirportCode, departureDate, arrivalTime'],
  ['flights_arrival', 'arrivalTime'],
  ['flights_price_departure', 'price, departureTime'],
  ['flights_price_departure_desc', 'price, departureTime DESC'],
  ['flights_day_price', 'departureDate, price'],
  ['flights_day_arrival', 'departureDate, arrivalTime'],
];

module.exports = {
  async up(queryInterface) {
    // One ALTER: the table is rebuilt once.
    await queryInterface.sequelize.query(
      `ALTER TABLE flights
         ADD COLUMN departureDate DATE GENERATED ALWAYS AS (CAST(departureTime AS DATE)) STORED,
         ${INDEXES.map(([name, columns]) => `ADD INDEX ${name} (${columns})`).join(',\n         ')}`,
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(
      `ALTER TABLE flights ${INDEXES.map(([name]) => `DROP INDEX ${name}`).join(', ')}, DROP COLUMN departureDate`,
    );
  },
};
