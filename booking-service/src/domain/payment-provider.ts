import { randomUUID } from 'node:crypto';

export interface ChargeRequest {
  bookingId: number;
  /** Minor units. */
  amount: number;
  /** The provider must charge at most once per key, however often it is called with it. */
  idempotencyKey: string;
}

export interface ChargeResult {
  providerRef: string;
}

/** The card was refused: a final answer for this attempt (the client may try again with another key). */
export class PaymentDeclinedError extends Error {
  override name = 'PaymentDeclinedError';
}

/**
 * A payment gateway. Anything thrown other than PaymentDeclinedError means "unknown or unavailable":
 * the booking goes back to INITIATED and the client may retry with the same Idempotency-Key.
 */
export interface PaymentProvider {
  charge(req: ChargeRequest): Promise<ChargeResult>;
}

/**
 * The built-in provider: approves every charge, remembers its idempotency keys like a real gateway
 * does, and keeps a ledger of the charges it made (what a test or an operator can inspect).
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  readonly charges: Array<ChargeRequest & ChargeResult> = [];
  private readonly byKey = new Map<string, ChargeResult>();

  async charge(req: ChargeRequest): Promise<ChargeResult> {
    const seen = this.byKey.get(req.idempotencyKey);
    if (seen) return seen;
    const result = { providerRef: `sim_${randomUUID()}` };
    this.byKey.set(req.idempotencyKey, result);
    this.charges.push({ ...req, ...result });
    return result;
  }
}
