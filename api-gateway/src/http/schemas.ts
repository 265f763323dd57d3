import { z } from 'zod';

const email = z.string().trim().toLowerCase().max(254).pipe(z.email('must be an email address'));

export const signUpBody = z.object({
  email,
  password: z
    .string()
    .min(8, 'must be at least 8 characters')
    // bcrypt reads only the first 72 bytes; a longer password would be silently shortened.
    .refine((p) => Buffer.byteLength(p) <= 72, 'must be at most 72 bytes'),
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
