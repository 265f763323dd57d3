import type { Model, ModelStatic } from 'sequelize';
import { inTransaction } from '@skyway/common';
import type { AirplaneRecord, AirportRecord, CityRecord } from '../domain/catalog';
import type { Noun, Outcome } from '../domain/refusals';
import { Abort, settled } from './abort';
import { foreignKeyRefusal, guardingReferences } from './foreign-keys';
import type { Models } from './models';
import { airplaneHasLiveSeats } from './reservations-store';
import type { Sequelize } from 'sequelize';

/** The five operations every catalog resource has, over one model (its rows as plain records). */
export interface CrudStore<R extends { id: number }> {
  find(id: number): Promise<R | null>;
  list(page: number, limit: number): Promise<{ rows: R[]; total: number }>;
  /** Inserts; answers the new id and the row as read back. */
  create(values: object): Promise<Outcome<{ id: number; row: R | null }>>;
  /** Loads the row, lets `plan` rule on it (returning the changes), writes them and reads the row back. */
  change(id: number, plan: (current: R) => Promise<Outcome<object>>): Promise<Outcome<R | null>>;
  remove(id: number): Promise<Outcome<void>>;
}

const isUniqueViolation = (err: unknown) =>
  (err as { name?: string }).name === 'SequelizeUniqueConstraintError';

/**
 * A generic catalog store. A create or change has checked what it refers to, but a concurrent delete may remove
 * that before the write reaches MySQL: its foreign-key refusal names the missing resource, like a taken value.
 */
export function crudStore<R extends { id: number }>(
  model: ModelStatic<Model>,
  noun: Noun,
  /** What a row may still be referenced by, for a refused delete (when MySQL's message does not say). */
  referencedBy: string,
): CrudStore<R> {
  const plain = (m: Model | null): R | null => (m ? (m.get({ plain: true }) as R) : null);
  const load = async (id: number): Promise<Model> => {
    const found = await model.findByPk(id);
    if (!found) throw new Abort({ code: 'not-found', noun, id });
    return found;
  };
  const writing = async <T>(write: { id?: number; values: object }, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isUniqueViolation(err)) throw new Abort({ code: 'duplicate', noun });
      const refusal = foreignKeyRefusal(err, { noun, ...write, referencedBy });
      throw refusal ? new Abort(refusal) : err;
    }
  };

  return {
    find: async (id) => plain(await model.findByPk(id)),
    async list(page, limit) {
      const { rows, count } = await model.findAndCountAll({
        order: [['id', 'ASC']],
        limit,
        offset: (page - 1) * limit,
      });
      return { rows: rows.map((r) => plain(r) as R), total: count };
    },
    create: (values) =>
      settled(async () => {
        const created = await writing({ values }, () => model.create(values as Model['_creationAttributes']));
        const id = created.get('id') as number;
        return { id, row: plain(await model.findByPk(id)) };
      }),
    change: (id, plan) =>
      settled(async () => {
        const current = await load(id);
        const record = plain(current) as R;
        const planned = await plan(record);
        if (!planned.ok) throw new Abort(planned.refusal);
        const changes = planned.value;
        await writing({ id: record.id, values: { ...record, ...changes } }, () =>
          current.update(changes as Partial<Model['_attributes']>),
        );
        return plain(await model.findByPk(record.id));
      }),
    remove: (id) =>
      settled(async () => {
        const current = await load(id);
        // No pre-check of the referrers: the foreign keys decide, so a reference added meanwhile still counts.
        await guardingReferences({ noun, id: current.get('id') as number, referencedBy }, () =>
          current.destroy(),
        );
      }),
  };
}

export function catalogStores({ City, Airport, Airplane }: Pick<Models, 'City' | 'Airport' | 'Airplane'>) {
  return {
    cities: {
      ...crudStore<CityRecord>(City, 'City', 'airports'),
      exists: async (id: number): Promise<boolean> => (await City.findByPk(id)) !== null,
    },
    airports: {
      ...crudStore<AirportRecord>(Airport, 'Airport', 'flights'),
      /** Which of these codes are airports. */
      async knownCodes(codes: string[]): Promise<Set<string>> {
        const found = await Airport.findAll({ where: { code: codes }, attributes: ['code'] });
        return new Set(found.map((a) => a.code));
      },
    },
    airplanes: {
      ...crudStore<AirplaneRecord>(Airplane, 'Airplane', 'flights'),
      /**
       * A change in one transaction holding the airplane's row and, when its row width changes, every flight row of
       * it: `plan` is told whether any of those flights has a seat taken (a hold in flight either committed before or
       * waits for the flight row, and then sees the new width).
       */
      change: (
        id: number,
        plan: (current: AirplaneRecord, hasLiveSeats: () => Promise<boolean>) => Promise<Outcome<object>>,
      ): Promise<Outcome<AirplaneRecord | null>> =>
        settled(() =>
          inTransaction(Airplane.sequelize as Sequelize, async (transaction) => {
            const current = await Airplane.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
            if (!current) throw new Abort({ code: 'not-found', noun: 'Airplane', id });
            const record = current.get({ plain: true }) as AirplaneRecord;
            const planned = await plan(record, () =>
              airplaneHasLiveSeats(Airplane.sequelize as Sequelize, id, transaction),
            );
            if (!planned.ok) throw new Abort(planned.refusal);
            await current.update(planned.value, { transaction });
            const row = await Airplane.findByPk(id, { transaction });
            return row ? (row.get({ plain: true }) as AirplaneRecord) : null;
          }),
        ),
      /** The airplane's capacity, or undefined when there is no such airplane. */
      capacityOf: async (id: number): Promise<number | undefined> => (await Airplane.findByPk(id))?.capacity,
      /** The airplane's capacity and row width, or undefined when there is no such airplane. */
      layoutOf: async (id: number): Promise<{ capacity: number; seatsPerRow: number } | undefined> => {
        const plane = await Airplane.findByPk(id);
        return plane ? { capacity: plane.capacity, seatsPerRow: plane.seatsPerRow } : undefined;
      },
    },
  };
}

export type CatalogStores = ReturnType<typeof catalogStores>;
