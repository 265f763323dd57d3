'use strict';

/**
 * Search by trips (+ a price range) sorted `price_ASC,departureTime_DESC` — the mixed-direction sort — sorted
 * every matching row (a filesort of ~1,500 rows per route at 100k flights) because both existing route indexes
 * are ascending throughout. With departureTime descending in the index (and the primary key ascending after it,
 * as InnoDB appends it) the index order is exactly `price ASC, departureTime DESC, id ASC`, so a page stops after
 * `limit` index entries. Needs MariaDB ≥ 10.8 (descending indexes).
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.addIndex(
      'flights',
      ['departureAirportCode', 'arrivalAirportCode', 'price', { name: 'departureTime', order: 'DESC' }],
      { name: 'flights_route_price_departure_desc' },
    );
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('flights', 'flights_route_price_departure_desc');
  },
};
