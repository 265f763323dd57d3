'use strict';

/** Cities, airports, airplanes and flights, with the indexes search needs at 100k+ flights. */
module.exports = {
  async up(queryInterface, Sequelize) {
    const timestamps = {
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
    };
    await queryInterface.createTable('cities', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: Sequelize.STRING(100), allowNull: false, unique: true },
      ...timestamps,
    });
    await queryInterface.createTable('airports', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      code: { type: Sequelize.CHAR(3), allowNull: false, unique: true },
      name: { type: Sequelize.STRING(200), allowNull: false },
      address: { type: Sequelize.STRING(500), allowNull: true },
      cityId: {
        type: Sequelize.INTEGER,
        allowNull: false,
        references: { model: 'cities', key: 'id' },
        onDelete: 'RESTRICT',
        onUpdate: 'CASCADE',
      },
      ...timestamps,
    });
    await queryInterface.createTable('airplanes', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      modelNumber: { type: Sequelize.STRING(100), allowNull: false },
      capacity: { type: Sequelize.INTEGER, allowNull: false },
      ...timestamps,
    });
    await queryInterface.createTable('flights', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      flightNumber: { type: Sequelize.STRING(10), allowNull: false },
      airplaneId: {
        type: Sequelize.INTEGER,
        allowNull: false,
        references: { model: 'airplanes', key: 'id' },
        onDelete: 'RESTRICT',
        onUpdate: 'CASCADE',
      },
      departureAirportCode: {
        type: Sequelize.CHAR(3),
        allowNull: false,
        references: { model: 'airports', key: 'code' },
        onDelete: 'RESTRICT',
        onUpdate: 'CASCADE',
      },
      arrivalAirportCode: {
        type: Sequelize.CHAR(3),
        allowNull: false,
        references: { model: 'airports', key: 'code' },
        onDelete: 'RESTRICT',
        onUpdate: 'CASCADE',
      },
      departureTime: { type: Sequelize.DATE(3), allowNull: false },
      arrivalTime: { type: Sequelize.DATE(3), allowNull: false },
      price: { type: Sequelize.BIGINT, allowNull: false },
      boardingGate: { type: Sequelize.STRING(10), allowNull: true },
      totalSeats: { type: Sequelize.INTEGER, allowNull: false },
      availableSeats: { type: Sequelize.INTEGER, allowNull: false },
      ...timestamps,
    });
    // The database refuses an oversold flight even if application code were wrong.
    await queryInterface.sequelize.query(
      'ALTER TABLE flights ADD CONSTRAINT flights_seats_check CHECK (availableSeats >= 0 AND availableSeats <= totalSeats)',
    );
    // trips (+ a day or a price range) is the common search. Both route indexes hold every sort column
    // (and the primary key), so a page of ids is found and sorted inside the index before rows are read.
    const route = ['departureAirportCode', 'arrivalAirportCode'];
    await queryInterface.addIndex('flights', [...route, 'departureTime', 'price'], {
      name: 'flights_route_departure',
    });
    await queryInterface.addIndex('flights', [...route, 'price', 'departureTime'], {
      name: 'flights_route_price',
    });
    await queryInterface.addIndex('flights', ['departureTime'], { name: 'flights_departure' });
    await queryInterface.addIndex('flights', ['price'], { name: 'flights_price' });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('flights');
    await queryInterface.dropTable('airplanes');
    await queryInterface.dropTable('airports');
    await queryInterface.dropTable('cities');
  },
};
