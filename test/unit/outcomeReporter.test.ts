// The batching of outcome reports to webhook entities: order, grouping, and
// that no caller is answered before the signal carrying its outcome is.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOutcomeReporter } from '../../src/temporal/outcomeReporter';
import type { AttemptOutcome } from '../../src/shared/workflowApi';

const o = (n: number, success = false): AttemptOutcome => ({ jobId: `j${n}`, series: 0, attempt: 1, success });

/** A send whose calls finish only when the test says so. */
function gatedSend() {
  const calls: Array<{ webhookId: string; outcomes: AttemptOutcome[]; finish(err?: Error): void }> = [];
  const send = (webhookId: string, outcomes: AttemptOutcome[]) =>
    new Promise<void>((resolve, reject) => calls.push({ webhookId, outcomes, finish: (err) => (err ? reject(err) : resolve()) }));
  return { calls, send };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('outcome reporter', () => {
  it('sends a lone outcome at once, and what arrives meanwhile in the next signal, in order', async () => {
    const g = gatedSend();
    const r = createOutcomeReporter(g.send);
    const settled: string[] = [];
    const p1 = r.report('w', o(1)).then(() => settled.push('j1'));
    assert.equal(g.calls.length, 1, 'the first report goes out without waiting');
    const rest = [2, 3, 4].map((n) => r.report('w', o(n)).then(() => settled.push(`j${n}`)));
    await tick();
    assert.equal(g.calls.length, 1, 'nothing else is sent while the first is in flight');
    assert.deepEqual(settled, [], 'no caller is answered before its signal is accepted');
    g.calls[0]!.finish();
    await p1;
    await tick();
    assert.equal(g.calls.length, 2);
    assert.deepEqual(
      g.calls[1]!.outcomes.map((x) => x.jobId),
      ['j2', 'j3', 'j4'],
    );
    assert.deepEqual(settled, ['j1']);
    g.calls[1]!.finish();
    await Promise.all(rest);
    assert.deepEqual(settled, ['j1', 'j2', 'j3', 'j4']);
  });

  it('keeps webhooks apart: one busy webhook does not hold another', async () => {
    const g = gatedSend();
    const r = createOutcomeReporter(g.send);
    void r.report('a', o(1));
    void r.report('a', o(2));
    void r.report('b', o(3));
    assert.deepEqual(
      g.calls.map((c) => [c.webhookId, c.outcomes.length]),
      [
        ['a', 1],
        ['b', 1],
      ],
    );
    g.calls.forEach((c) => c.finish());
    await tick();
    await tick();
    assert.deepEqual(
      g.calls.map((c) => [c.webhookId, c.outcomes.length]),
      [
        ['a', 1],
        ['b', 1],
        ['a', 1],
      ],
    );
    g.calls[2]!.finish();
  });

  it('fails every caller of a failed signal, and the next report starts afresh', async () => {
    const g = gatedSend();
    const r = createOutcomeReporter(g.send);
    const first = r.report('w', o(1));
    const second = r.report('w', o(2));
    g.calls[0]!.finish(new Error('server unavailable'));
    await assert.rejects(first, /server unavailable/);
    await tick();
    g.calls[1]!.finish(new Error('still unavailable'));
    await assert.rejects(second, /still unavailable/);
    await tick();
    const third = r.report('w', o(3));
    assert.equal(g.calls.length, 3);
    g.calls[2]!.finish();
    await third;
  });

  it('caps a batch', async () => {
    const g = gatedSend();
    const r = createOutcomeReporter(g.send, 2);
    const all = [1, 2, 3, 4, 5, 6].map((n) => r.report('w', o(n)));
    for (let i = 0; i < 4; i++) {
      g.calls[i]!.finish();
      await tick();
      await tick();
    }
    await Promise.all(all);
    assert.deepEqual(
      g.calls.map((c) => c.outcomes.length),
      [1, 2, 2, 1],
    );
  });
});
