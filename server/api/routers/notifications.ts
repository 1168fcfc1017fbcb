import { createChannel } from '../../services/notifications/create-channel';
import { deleteChannel } from '../../services/notifications/delete-channel';
import { listChannels } from '../../services/notifications/list-channels';
import { listDeliveries } from '../../services/notifications/list-deliveries';
import { ChannelRef, CreateChannelInput, ListDeliveriesInput } from '../../services/notifications/schemas';
import { testChannel } from '../../services/notifications/test-channel';
import { roleRank } from '../../services/policy';
import { ProjectRef } from '../../services/projects/schemas';
import { policies, procedure, router } from '../trpc';

export const notificationsRouter = router({
  list: procedure
    .meta({ policy: policies.viewer })
    .input(ProjectRef)
    .query(({ ctx, input }) => listChannels({ ctx, input, showFullTargets: ctx.authz.role !== null && roleRank(ctx.authz.role) >= roleRank('deployer') })),
  create: procedure.meta({ policy: policies.deployer }).input(CreateChannelInput).mutation(({ ctx, input }) => createChannel({ ctx, input })),
  delete: procedure.meta({ policy: policies.deployer }).input(ChannelRef).mutation(({ ctx, input }) => deleteChannel({ ctx, input })),
  test: procedure.meta({ policy: policies.deployer }).input(ChannelRef).mutation(({ ctx, input }) => testChannel({ ctx, input })),
  deliveries: procedure.meta({ policy: policies.viewer }).input(ListDeliveriesInput).query(({ ctx, input }) => listDeliveries({ ctx, input })),
});
