import { VERSION } from '../../version';
import { policies, procedure, router } from '../trpc';

export const systemRouter = router({
  version: procedure.meta({ policy: policies.public }).query(() => ({ name: 'stagebook', version: VERSION })),
});
