import type { Claim, ClaimFence, StoredAnswer } from '../domain/idempotency';

export type { Claim, ClaimFence, FencedAnswer, StoredAnswer } from '../domain/idempotency';

/** Idempotency-Key claims as the HTTP middleware uses them (db/idempotency-store.ts implements it). */
export interface IdempotencyKeys {
  claim(
    userId: number,
    scope: string,
    key: string,
    fingerprint: string,
    token: string,
    now?: Date,
  ): Promise<Claim>;
  complete(fence: ClaimFence, answer: StoredAnswer): Promise<boolean>;
  abandon(userId: number, scope: string, key: string, token: string): Promise<void>;
  release(fence: ClaimFence): Promise<boolean>;
}
