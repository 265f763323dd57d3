import type { Sequelize } from 'sequelize';

/** The readiness probe's database check. */
export const pingDatabase = (sequelize: Sequelize): Promise<unknown> => sequelize.query('SELECT 1');
