/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // hyparquet and hyparquet-writer ship ES modules only: swc turns them into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer)/)'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 120000,
  // Integration tests share one PostgreSQL server and Redis; keep workers few on 2 cores.
  maxWorkers: 2,
};
