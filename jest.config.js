/** One jest run for the whole repository: `npm test`. Tests use real MariaDB/RabbitMQ on localhost. */
/** @type {import('jest').Config} */
const project = (name) => ({
  displayName: name,
  rootDir: __dirname,
  roots: [`<rootDir>/${name}/test`],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: {
    '^@skyway/common$': '<rootDir>/common/src',
    '^@skyway/common/(.*)$': '<rootDir>/common/src/$1',
  },
  testMatch: ['**/*.test.ts'],
});
const fs = require('node:fs');
const path = require('node:path');
const names = [
  'common',
  'flight-service',
  'booking-service',
  'api-gateway',
  'notification-service',
  'e2e',
].filter((n) => fs.existsSync(path.join(__dirname, n, 'test')));
module.exports = {
  projects: names.map(project),
  maxWorkers: 2,
  testTimeout: 60000,
};
