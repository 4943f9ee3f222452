// The full Temporal server on PostgreSQL, as TEMPORAL_STORE=postgres runs it.
import type { Topology } from './engine';

export async function postgresTopology(_port: number, _adminUrl: string): Promise<Topology> {
  throw new Error('TEMPORAL_STORE=postgres is not built yet');
}
