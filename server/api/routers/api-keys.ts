import { createApiKey, CreateApiKeyInput } from '../../services/api-keys/create-api-key';
import { listApiKeys } from '../../services/api-keys/list-api-keys';
import { revokeApiKey, RevokeApiKeyInput } from '../../services/api-keys/revoke-api-key';
import { ProjectRef } from '../../services/projects/schemas';
import { policies, procedure, router } from '../trpc';

export const apiKeysRouter = router({
  list: procedure.meta({ policy: policies.admin }).input(ProjectRef).query(({ ctx, input }) => listApiKeys({ ctx, input })),
  create: procedure.meta({ policy: policies.admin }).input(CreateApiKeyInput).mutation(({ ctx, input }) => createApiKey({ ctx, input })),
  revoke: procedure.meta({ policy: policies.admin }).input(RevokeApiKeyInput).mutation(({ ctx, input }) => revokeApiKey({ ctx, input })),
});
