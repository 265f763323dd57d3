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
    // The test kit (testkit/src): the one door from one workspace's tests into another's code.
    '^@skyway/testkit$': '<rootDir>/testkit/src',
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
  // Two test files at a time (2 cores). Both share one MariaDB (stock max_connections 151): every pool a test
  // opens is sized by TEST_DB_POOL_MAX (common/src/testing.ts), so a run peaks well under 100 (.ci/run prints it).
  maxWorkers: 2,
  testTimeout: 60000,
};
