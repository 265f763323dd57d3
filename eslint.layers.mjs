/**
 * The shape inside every service, as lint rules (ARCHITECTURE.md; issue "One shape inside every service"):
 * http → app → domain, app → db / clients / events, db → domain, jobs / events → app; main.ts and app.ts wire
 * everything. Each folder lists what it may NOT import; domain/ imports nothing of its service but domain/, and
 * no framework, driver or HTTP error type.
 */
const SERVICES = ['api-gateway', 'flight-service', 'booking-service', 'notification-service'];

/** Relative imports that reach a sibling folder of src/ (from any depth below src/). */
const folder = (name) => [`../${name}`, `../${name}/**`, `../../${name}`, `../../${name}/**`];

/** The HTTP error type and the helpers that build one: only http/ (and the app builder) answer in HTTP terms. */
const HTTP_PROBLEMS = {
  name: '@skyway/common',
  importNames: [
    'HttpProblem',
    'badRequest',
    'unauthorized',
    'forbidden',
    'notFound',
    'conflict',
    'gone',
    'unprocessable',
    'serviceUnavailable',
  ],
  message: 'answer with a typed refusal; http/problems.ts maps it to a status',
};

const layer = (dir, { folders, packages = [], problems = true }) => ({
  files: SERVICES.map((s) => `${s}/src/${dir}/**/*.ts`),
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: problems ? [HTTP_PROBLEMS] : [],
        patterns: [
          ...folders.map((f) => ({
            group: folder(f),
            message: `src/${dir}/ may not import src/${f}/ (imports point downwards: http → app → domain ← db)`,
          })),
          ...(packages.length
            ? [{ group: packages, message: `src/${dir}/ holds pure decisions: no framework or driver` }]
            : []),
        ],
      },
    ],
  },
});

export const layers = [
  layer('domain', {
    folders: ['db', 'events', 'clients', 'http', 'app', 'jobs'],
    packages: ['sequelize', 'express', 'amqplib', 'mysql2', 'mysql2/*', 'axios', 'nodemailer', 'redis'],
  }),
  layer('app', { folders: ['http', 'jobs'] }),
  layer('db', { folders: ['http', 'app', 'jobs', 'clients', 'events'] }),
  layer('clients', { folders: ['http', 'app', 'db', 'jobs', 'events'] }),
  layer('http', { folders: ['db', 'jobs', 'events', 'clients'], problems: false }),
  layer('events', { folders: ['http', 'jobs'] }),
  layer('jobs', { folders: ['http'] }),
];
