import { HttpProblem } from '@skyway/common';
import { canonicalJson, requestFingerprint } from '../src/http/idempotency';

/** Defects the whole-system fuzzing found (e2e/test/fuzz.test.ts), pinned here. */
describe('a deeply nested body with an Idempotency-Key', () => {
  // express.json parses 100 kB of `[[[…` or `{"a":{"a":…` fine; fingerprinting it recursed until the stack
  // overflowed, so POST /bookings and /payments answered 500 before validation.
  test.each([
    ['arrays', '['.repeat(40_000) + ']'.repeat(40_000)],
    ['objects', '{"a":'.repeat(16_000) + '1' + '}'.repeat(16_000)],
  ])('of %s is a 400 problem, not a stack overflow', (_kind, text) => {
    const body: unknown = JSON.parse(text);
    let thrown: unknown;
    try {
      requestFingerprint('POST', '/api/v1/payments', body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).status).toBe(400);
  });

  test('ordinary bodies, a little nested, are still fingerprinted', () => {
    const nested = { bookingId: 1, amount: 2, meta: { a: [1, { b: [2, 3] }] } };
    expect(canonicalJson(nested)).toBe('{"amount":2,"bookingId":1,"meta":{"a":[1,{"b":[2,3]}]}}');
  });
});
