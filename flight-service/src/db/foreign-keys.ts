import type { Noun, Refusal } from '../domain/refusals';
import { Abort } from './abort';

/**
 * Catalog writes check that what they refer to exists before they write, but a concurrent delete can land between
 * that check and the INSERT/UPDATE (and a delete never pre-checks its referrers): then MySQL refuses the write on a
 * foreign key. These turn that refusal into a typed refusal that names the resource (a 409), instead of a 500.
 */

/** ER_NO_REFERENCED_ROW_2 (and its pre-5.1 form): a row refers to a parent that does not exist. */
const NO_REFERENCED_ROW = new Set([1452, 1216]);
/** ER_ROW_IS_REFERENCED_2 (and its pre-5.1 form): a parent still has rows referring to it. */
const ROW_IS_REFERENCED = new Set([1451, 1217]);

/** `(`db`.`airports`, CONSTRAINT `airports_ibfk_1` FOREIGN KEY (`cityId`) REFERENCES `cities` (`id`) …)` */
const CONSTRAINT_TEXT = /`([^`]+)`, CONSTRAINT `[^`]*` FOREIGN KEY \(`([^`]+)`\) REFERENCES `([^`]+)`/;

const SINGULAR: Record<string, string> = {
  cities: 'city',
  airports: 'airport',
  airplanes: 'airplane',
  flights: 'flight',
};

export interface ForeignKeyViolation {
  /** `missing`: the written row refers to a row that is gone (1452); `referenced`: rows still refer to it (1451). */
  kind: 'missing' | 'referenced';
  /** The referring table, its foreign-key column and the referenced table, when the message names them. */
  childTable?: string;
  column?: string;
  parentTable?: string;
}

/** The foreign-key violation behind an error — Sequelize's (which wraps the driver's) or mysql2's own — if any. */
export function foreignKeyViolation(err: unknown): ForeignKeyViolation | undefined {
  const e = err as {
    parent?: DriverError;
    original?: DriverError;
    name?: string;
    reltype?: string;
  } & DriverError;
  const driver = [e?.parent, e?.original, e].find((d) => typeof d?.errno === 'number');
  const errno = driver?.errno ?? -1;
  // Sequelize's own classification, should a driver error come without its errno.
  const sequelizeKind =
    e?.name === 'SequelizeForeignKeyConstraintError'
      ? e.reltype === 'child'
        ? 'missing'
        : 'referenced'
      : undefined;
  const kind = NO_REFERENCED_ROW.has(errno)
    ? 'missing'
    : ROW_IS_REFERENCED.has(errno)
      ? 'referenced'
      : sequelizeKind;
  if (!kind) return undefined;
  const m = CONSTRAINT_TEXT.exec(driver?.sqlMessage ?? driver?.message ?? '');
  return m ? { kind, childTable: m[1], column: m[2], parentTable: m[3] } : { kind };
}

interface DriverError {
  errno?: number;
  sqlMessage?: string;
  message?: string;
}

export interface ForeignKeyWrite {
  /** The written resource. */
  noun: Noun;
  /** Its id, for a change or a delete. */
  id?: number;
  /** The values written (the whole record after the change), to name the value a missing reference had. */
  values?: object;
  /** Fallback for the referrers of a delete when the driver's message does not name them (`flights`). */
  referencedBy?: string;
}

/** The refusal for `err` when it is a foreign-key violation of `write`; otherwise undefined. */
export function foreignKeyRefusal(err: unknown, write: ForeignKeyWrite): Refusal | undefined {
  const v = foreignKeyViolation(err);
  if (!v) return undefined;
  if (v.kind === 'referenced') {
    const by = v.childTable ?? write.referencedBy ?? 'other resources';
    return { code: 'still-referenced', noun: write.noun, id: write.id, by };
  }
  const parent = v.parentTable ? (SINGULAR[v.parentTable] ?? v.parentTable) : 'resource';
  if (!v.column) return { code: 'reference-missing', noun: write.noun, parent };
  const value = (write.values as Record<string, unknown> | undefined)?.[v.column];
  return {
    code: 'reference-missing',
    noun: write.noun,
    parent,
    column: v.column,
    value: value === undefined ? undefined : String(value),
  };
}

/** Runs a write; a foreign-key violation aborts it with its refusal, anything else is rethrown unchanged. */
export async function guardingReferences<T>(write: ForeignKeyWrite, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const refusal = foreignKeyRefusal(err, write);
    throw refusal ? new Abort(refusal) : err;
  }
}
