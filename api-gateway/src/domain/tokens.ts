import { z } from 'zod';
import type { Identity, Role } from '@skyway/common';

export const TOKEN_ISSUER = 'skyway-api-gateway';
export const TOKEN_AUDIENCE = 'skyway-api';

export interface IssuedToken {
  token: string;
  tokenType: 'Bearer';
  /** Lifetime in seconds. */
  expiresIn: number;
}

/** What a token says about its user: `sub` is the user id. */
export interface TokenClaims {
  sub: string;
  role: Role;
  email: string;
}

export const claimsFor = (user: { id: number; email: string; role: Role }): TokenClaims => ({
  sub: String(user.id),
  role: user.role,
  email: user.email,
});

const claimsSchema = z.object({
  sub: z.string().regex(/^[1-9]\d{0,15}$/),
  role: z.enum(['customer', 'admin']),
  email: z.string().min(3).max(254),
  // jsonwebtoken checks `exp` only when present; a token without one must not live forever.
  exp: z.number(),
});

/** The identity a correctly signed payload proves, or undefined when its claims are not ours. */
export function identityFromClaims(payload: unknown): Identity | undefined {
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) return undefined;
  return { userId: Number(claims.data.sub), role: claims.data.role, email: claims.data.email };
}
