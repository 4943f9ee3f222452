import type Router from '@koa/router';
import type { AppState } from '../../context';
import type { DashboardDeps, DashboardGuards } from './dashboard';

/** (to be built) */
export function mountHistoryPages(_r: Router<AppState>, _deps: DashboardDeps, _g: DashboardGuards): void {}
