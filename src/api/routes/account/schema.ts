import { z } from 'zod';

// Neither route takes parameters; strict, so a stray one is named in a 400.
export const AccountQuery = z.strictObject({});
