import { deployBundle, listDeployments, rollbackDeployment } from '../../services/activation/deploy-bundle';
import { DeployBundleInput, ListDeploymentsInput, RollbackInput } from '../../services/deployments/schemas';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
/** Changing what production runs: deployers, or CI/CD with a `deploy` key. */
const deployer = { kind: 'member', role: 'deployer', scope: 'deploy' } as const;

/** Bundles activated in a project's production, and the history rollback walks. */
export const deploymentsRouter = router({
  list: procedure.meta({ policy: read }).input(ListDeploymentsInput).query(({ ctx, input }) => listDeployments({ ctx, input })),
  deploy: procedure.meta({ policy: deployer }).input(DeployBundleInput).mutation(({ ctx, input }) => deployBundle({ ctx, input })),
  rollback: procedure.meta({ policy: deployer }).input(RollbackInput).mutation(({ ctx, input }) => rollbackDeployment({ ctx, input })),
});
