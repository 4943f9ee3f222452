export { jobWorkflow } from './job';
export { webhookWorkflow } from './webhook';
