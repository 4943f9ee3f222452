export { jobWorkflow } from './job';
export { webhookWorkflow } from './webhook';
export { webhookFanoutWorkflow } from './webhookFanout';
