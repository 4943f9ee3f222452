import { z } from 'zod';

// Form fields arrive as strings (application/x-www-form-urlencoded).
export const LoginForm = z.object({ key: z.string().trim().min(1, 'enter an API key').max(200), next: z.string().max(2000).optional(), _csrf: z.string().optional() });
