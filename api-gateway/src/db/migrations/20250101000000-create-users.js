'use strict';

/** The gateway's users: sign-in identities with a bcrypt hash and a role. */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('users', {
      id: { type: Sequelize.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true, allowNull: false },
      // Stored lower-cased; the unique index is what makes a duplicate signup a 409, even under a race.
      email: { type: Sequelize.STRING(254), allowNull: false, unique: true },
      name: { type: Sequelize.STRING(100), allowNull: true },
      passwordHash: { type: Sequelize.STRING(100), allowNull: false },
      role: { type: Sequelize.ENUM('customer', 'admin'), allowNull: false, defaultValue: 'customer' },
      createdAt: { type: Sequelize.DATE(3), allowNull: false },
      updatedAt: { type: Sequelize.DATE(3), allowNull: false },
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('users');
  },
};
