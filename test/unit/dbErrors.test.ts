import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { isDatabaseUnavailable } from '../../src/db/errors';
import { createPool } from '../../src/db/pool';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('knows the failures that mean the server is away', () => {
    for (const e of [
      withCode('ECONNREFUSED'),
      withCode('ECONNRESET'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P02'),
      withCode('57P03', 'the database system is starting up'),
      withCode('08006'),
      withCode('08001'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('the database system is starting up'),
      new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]),
      new Error('wrapped', { cause: withCode('ECONNRESET') }),
    ]) {
      assert.equal(isDatabaseUnavailable(e), true, `${(e as { code?: string }).code ?? ''} ${e.message}`);
    }
  });

  it('leaves query errors and bugs alone', () => {
    for (const e of [
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('42P01', 'relation "x" does not exist'),
      withCode('57014', 'canceling statement due to statement timeout'),
      new TypeError('cannot read properties of undefined'),
      new AggregateError([]),
      null,
      'ECONNREFUSED',
      undefined,
    ]) {
      assert.equal(isDatabaseUnavailable(e), false, String(e));
    }
  });

  it('matches what node-postgres really throws on a closed port and on a socket cut mid-query', async () => {
    // A port nobody listens on: take one, then free it.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const pool = createPool(`postgres://u:p@127.0.0.1:${port}/db`, 1);
    const refused = await pool.query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    );
    await pool.end();
    assert.ok(refused, 'the query failed');
    assert.equal(isDatabaseUnavailable(refused), true, String(refused));

    // A "server" that accepts and hangs up: the client sees the connection end.
    const rude = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => rude.listen(0, '127.0.0.1', () => r()));
    const client = new pg.Client({ connectionString: `postgres://u:p@127.0.0.1:${(rude.address() as net.AddressInfo).port}/db` });
    client.on('error', () => undefined);
    const cut = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise<void>((r) => rude.close(() => r()));
    assert.ok(cut, 'the connect failed');
    assert.equal(isDatabaseUnavailable(cut), true, String(cut));
  });
});
