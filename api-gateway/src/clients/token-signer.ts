import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface SignerOptions {
  secret: string;
  lifetimeSeconds: number;
  issuer: string;
  audience: string;
}

/** What a token's signature check found; the claims themselves are judged by the domain. */
export type Verified = { payload: unknown } | { failure: 'expired' | 'invalid' };

/** HS256 signing and signature checks of the gateway's access tokens (jsonwebtoken). */
export class TokenSigner {
  /**
   * A KeyObject made once: given the secret as a string, jsonwebtoken first tries to parse it as a PEM
   * public key on every verify, and that failed parse was a fifth of the gateway's CPU per request.
   */
  private readonly secret: KeyObject;
  readonly lifetimeSeconds: number;

  constructor(private readonly opts: SignerOptions) {
    this.secret = createSecretKey(Buffer.from(opts.secret, 'utf8'));
    this.lifetimeSeconds = opts.lifetimeSeconds;
  }

  sign(claims: { sub: string; role: string; email: string }): string {
    return jwt.sign({ role: claims.role, email: claims.email }, this.secret, {
      algorithm: 'HS256',
      expiresIn: this.lifetimeSeconds,
      issuer: this.opts.issuer,
      audience: this.opts.audience,
      subject: claims.sub,
    });
  }

  /** Only HS256 with our secret, issuer and audience passes. */
  verify(token: string): Verified {
    try {
      const payload: unknown = jwt.verify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: this.opts.issuer,
        audience: this.opts.audience,
      });
      return { payload };
    } catch (err) {
      return { failure: err instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
    }
  }
}
