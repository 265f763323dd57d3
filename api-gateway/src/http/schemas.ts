import { z } from 'zod';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS, passwordFitsHash } from '../domain/accounts';

const email = z.string().trim().toLowerCase().max(254).pipe(z.email('must be an email address'));

export const signUpBody = z.object({
  email,
  password: z
    .string()
    .min(PASSWORD_MIN_CHARS, `must be at least ${PASSWORD_MIN_CHARS} characters`)
    .refine(passwordFitsHash, `must be at most ${PASSWORD_MAX_BYTES} bytes`),
  name: z.string().trim().min(1, 'must not be empty').max(100).optional(),
});

export const signInBody = z.object({
  email: z.string().max(254),
  password: z.string().max(1024),
});

export const userIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a positive integer')
    .transform(Number),
});

export const roleBody = z.object({
  role: z.enum(['customer', 'admin'], { message: 'must be customer or admin' }),
});
