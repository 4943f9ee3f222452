// Typed search attribute keys. @temporalio/common is workflow-safe (no Node APIs).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from './names';

export const SA_WEBHOOK_NAME = defineSearchAttributeKey(SEARCH_ATTRIBUTES.webhookName, SearchAttributeType.KEYWORD);
export const SA_PROJECT_NAME = defineSearchAttributeKey(SEARCH_ATTRIBUTES.projectName, SearchAttributeType.KEYWORD);
export const SA_JOB_STATUS = defineSearchAttributeKey(SEARCH_ATTRIBUTES.jobStatus, SearchAttributeType.KEYWORD);
export const SA_JOB_KIND = defineSearchAttributeKey(SEARCH_ATTRIBUTES.jobKind, SearchAttributeType.KEYWORD);
