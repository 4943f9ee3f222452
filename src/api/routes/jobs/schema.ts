import { z } from 'zod';

export const JobByUuid = z.strictObject({ uuid: z.uuid({ error: 'must be a job uuid' }) });
