/** The claim a request owns on an Idempotency-Key: its row and the fencing token that proves it is still the owner. */
export interface ClaimFence {
  id: number;
  token: string;
}

/** A stored answer, replayed as it was first sent: status, Content-Type, Location (201s) and body. */
export interface StoredAnswer {
  status: number;
  type: string;
  location: string | null;
  body: string;
}

export type Claim =
  | ({ kind: 'claimed' } & ClaimFence)
  | ({ kind: 'replay' } & StoredAnswer)
  | { kind: 'mismatch' }
  | { kind: 'in-flight' };

/**
 * The answer a fenced booking stores for its Idempotency-Key in the same transaction as the booking itself, so
 * no retry can take the key over between the two (and make a second booking).
 */
export interface FencedAnswer {
  fence: ClaimFence;
  answer: StoredAnswer;
}
