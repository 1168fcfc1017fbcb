import { asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { endpoints } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { EndpointView } from '../models/model-view';
import { endpointViews, findEndpoint } from './find-endpoint';
import type { EndpointRef, ListEndpointsInput } from './schemas';

export async function listEndpoints({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListEndpointsInput> }): Promise<EndpointView[]> {
  const rows = await ctx.db.select().from(endpoints).where(eq(endpoints.projectId, input.projectId)).orderBy(asc(endpoints.name));
  return endpointViews(ctx.db, rows);
}

export async function getEndpoint({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof EndpointRef> }): Promise<EndpointView> {
  const [view] = await endpointViews(ctx.db, [await findEndpoint(ctx.db, input)]);
  return view!;
}
