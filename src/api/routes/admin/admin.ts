import Router from '@koa/router';
import { AppError } from '../../../errors';
import { concurrencyOf, createApiKey, createProject, getProjectByName, revokeApiKey, updateProject } from '../../../db/repositories/projects';
import type { Project } from '../../../db/rows';
import type { ApiDeps, AppState } from '../../context';
import { requireAdmin } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { CreateKey, CreateProject, RevokeKey, UpdateProject } from './schema';

/** A project as the operator API shows it: its own limit and the one in force. */
const presentProject = (p: Project) => ({ ...p, effective_concurrency: concurrencyOf(p) });

const projectNotFound = (name: string) => new AppError('ERR::PROJECT::NOT_FOUND', `project "${name}" does not exist`);

export function adminRoutes({ db, config, slots, logger }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/admin', sensitive: true });
  r.use(requireAdmin(config.adminToken));

  r.post(
    '/projects',
    withInput(CreateProject, async (ctx, body) => {
      if (await getProjectByName(db, body.name)) {
        throw new AppError('ERR::PROJECT::ALREADY_EXISTS', `project "${body.name}" already exists`);
      }
      try {
        ctx.body = presentProject(await createProject(db, body));
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          throw new AppError('ERR::PROJECT::ALREADY_EXISTS', `project "${body.name}" already exists`);
        }
        throw err;
      }
      ctx.status = 201;
    }),
  );

  r.patch(
    '/projects/:name',
    withInput(UpdateProject, async (ctx, { name, ...patch }) => {
      const project = await updateProject(db, name, patch);
      if (!project) throw projectNotFound(name);
      // A raised limit (or a plan with more slots) lets waiting captures start now.
      if (patch.concurrency !== undefined || patch.plan) {
        await slots.refill(project).catch((err) => logger.warn({ project: name, err: (err as Error).message }, 'waiting captures not granted yet'));
      }
      ctx.body = presentProject(project);
    }),
  );

  r.post(
    '/projects/:name/keys',
    withInput(CreateKey, async (ctx, { name, env }) => {
      const project = await getProjectByName(db, name);
      if (!project) throw projectNotFound(name);
      const { key, prefix } = await createApiKey(db, project.id, env);
      ctx.status = 201;
      ctx.body = { key, prefix, project: project.name, env };
    }),
  );

  r.delete(
    '/keys/:prefix',
    withInput(RevokeKey, async (ctx, { prefix }) => {
      if (!(await revokeApiKey(db, prefix))) {
        throw new AppError('ERR::AUTH::KEY_NOT_FOUND', `no active key with prefix "${prefix}"`);
      }
      ctx.status = 204;
    }),
  );

  return r;
}
