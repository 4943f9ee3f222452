import { Client, Connection, type WorkflowSignalWithStartOptions, type WorkflowStartOptions } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';

export async function createTemporalClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

/**
 * The part of the Temporal client that activities and the capture slots use
 * (start, signal-with-start, a signal to a running workflow). A Client is
 * one; a test's fake implements only this, and stops compiling when it changes.
 */
export interface WorkflowStarter {
  workflow: {
    start(workflowType: string, options: WorkflowStartOptions): Promise<unknown>;
    signalWithStart<SignalArgs extends unknown[]>(
      workflowType: string,
      options: WorkflowSignalWithStartOptions<SignalArgs> & { args: unknown[] },
    ): Promise<unknown>;
    getHandle(workflowId: string): { signal(def: SignalDefinition<[]>): Promise<void> };
  };
}
