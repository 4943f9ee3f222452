import { z } from 'zod';

// Request rules that need a body as a whole (or the server's limits) run
// after its shape is checked: a reader throws a Refusal naming the element
// that breaks a rule, and byRules turns the first one into the body's one
// validation issue, so the answer names `urls[3]` or `webhook.url`.

class Refusal {
  constructor(
    readonly path: PropertyKey[],
    readonly message: string,
  ) {}
}

export function refuse(path: PropertyKey[], message: string): never {
  throw new Refusal(path, message);
}

/** A zod transform from a reader: its value, or the first Refusal as an issue. */
export function byRules<I, O>(read: (body: I) => O) {
  return (body: I, ctx: z.RefinementCtx): O => {
    try {
      return read(body);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      ctx.addIssue({ code: 'custom', path: err.path, message: err.message, input: body });
      return z.NEVER;
    }
  };
}
