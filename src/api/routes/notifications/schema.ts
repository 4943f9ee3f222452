import { z } from 'zod';

export const ListNotifications = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().positive({ error: 'must be the next_cursor of a previous page' }).optional(),
});
