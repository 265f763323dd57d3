import type { Identity } from '@skyway/common';
import { Refused } from './refusals';

const READS = new Set(['GET', 'HEAD']);

/** Catalog reads are public; every other method is for an admin (the role stored now, see roles.ts). */
export function checkCatalogAccess(method: string, identity: Identity | undefined): void {
  if (READS.has(method)) return;
  if (!identity) throw new Refused({ code: 'catalog-write-anonymous' });
  if (identity.role !== 'admin') throw new Refused({ code: 'catalog-write-not-admin' });
}
