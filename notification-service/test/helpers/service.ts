import request from 'supertest';
import type { Sequelize } from 'sequelize';
import { QueryTypes } from 'sequelize';
import { createSequelize, DEV_INTERNAL_TOKEN, dropDatabase } from '@skyway/common';
import { TEST_DB_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { startNotificationService, type NotificationService } from '../../src/main';
import type { Notification } from '../../src/domain/notifications';
import { AMQP_URL, TestBroker } from './amqp';

/** One test file's world: its own database prefix and AMQP name prefix, services started on port 0. */
export class TestWorld {
  readonly dbPrefix = uniquePrefix('ns');
  readonly amqpPrefix = `test.${this.dbPrefix}`;
  readonly services: NotificationService[] = [];
  broker!: TestBroker;
  private sequelize: Sequelize | null = null;

  env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      NODE_ENV: 'test',
      NOTIFICATION_SERVICE_PORT: '0',
      DB_NAME_PREFIX: this.dbPrefix,
      DB_POOL_MAX: String(TEST_DB_POOL_MAX),
      AMQP_URL,
      AMQP_NAME_PREFIX: this.amqpPrefix,
      // Fast back-off, and crons that never fire on their own during a test (jobs are run explicitly).
      RETRY_BASE_DELAY_MS: '100',
      RETRY_MAX_DELAY_MS: '400',
      FAILED_RETRY_CRON: '0 0 0 1 1 *',
      REMINDER_CRON: '0 0 0 1 1 *',
      ...overrides,
    };
  }

  async start(overrides: Record<string, string> = {}): Promise<NotificationService> {
    const service = await startNotificationService(this.env(overrides));
    this.services.push(service);
    this.broker ??= await TestBroker.open();
    return service;
  }

  /** Lists a booking's notifications through the service's internal API. */
  async notifications(service: NotificationService, bookingId: number): Promise<Notification[]> {
    const res = await request(service.url)
      .get(`/internal/v1/notifications?bookingId=${bookingId}`)
      .set('X-Internal-Token', DEV_INTERNAL_TOKEN)
      .expect(200);
    return res.body.data;
  }

  /** Reads the service's tables directly (what an operator would look at). */
  async query<T extends object>(sql: string, replacements: unknown[] = []): Promise<T[]> {
    this.sequelize ??= createSequelize(testDbServer(), `${this.dbPrefix}notifications`, { poolMax: 2 });
    return this.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  }

  async cleanup(): Promise<void> {
    await this.sequelize?.close();
    for (const s of this.services) await s.close();
    if (this.broker) {
      const done = new Set<string>();
      for (const { amqp } of this.services) {
        const key = JSON.stringify(amqp);
        if (!done.has(key)) await this.broker.deleteTopology(amqp);
        done.add(key);
      }
      await this.broker.close();
    }
    await dropDatabase(testDbServer(), `${this.dbPrefix}notifications`);
  }
}
