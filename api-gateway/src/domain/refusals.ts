/**
 * Every reason the gateway says no, as data. Use cases throw {@link Refused} with one of these;
 * `src/http/problems.ts` is the one place that turns a code into a status, problem type and detail.
 */
export type Refusal =
  | { code: 'email-taken' }
  | { code: 'bad-credentials' }
  | { code: 'signup-queue-full' }
  | { code: 'account-gone' }
  | { code: 'user-not-found'; userId: number }
  | { code: 'not-signed-in' }
  | { code: 'bad-authorization-header' }
  | { code: 'token-expired' }
  | { code: 'token-invalid' }
  | { code: 'not-admin' }
  | { code: 'no-longer-admin' }
  | { code: 'catalog-write-anonymous' }
  | { code: 'catalog-write-not-admin' };

export type RefusalCode = Refusal['code'];

/** A typed refusal thrown by a use case (an expected outcome, not a fault). */
export class Refused extends Error {
  override name = 'Refused';
  constructor(readonly refusal: Refusal) {
    super(refusal.code);
  }
}
