export { jobWorkflow } from './job';
export { webhookWorkflow } from './webhook';
export { webhookFanoutWorkflow } from './webhookFanout';
export { crawlWorkflow } from './crawl';
export { crawlEventsWorkflow } from './crawlEvents';
export { eventDeliveryWorkflow } from './eventDelivery';
