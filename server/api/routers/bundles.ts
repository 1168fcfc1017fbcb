import { getBundle, listBundles } from '../../services/bundles/list-bundles';
import { previewBundle } from '../../services/bundles/preview-bundle';
import { promoteBundle } from '../../services/bundles/promote-bundle';
import { BundleRef, ListBundlesInput, PreviewBundleInput, PromoteBundleInput } from '../../services/bundles/schemas';
import { procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
/** Promoting (and importing, over REST): editors, or CI/CD with a `deploy` key. */
const promoter = { kind: 'member', role: 'editor', scope: 'deploy' } as const;

/** Immutable bundles: what promote seals and deployments activate (services/bundles/README.md). */
export const bundlesRouter = router({
  preview: procedure.meta({ policy: read }).input(PreviewBundleInput).query(({ ctx, input }) => previewBundle({ ctx, input })),
  promote: procedure.meta({ policy: promoter }).input(PromoteBundleInput).mutation(({ ctx, input }) => promoteBundle({ ctx, input })),
  list: procedure.meta({ policy: read }).input(ListBundlesInput).query(({ ctx, input }) => listBundles({ ctx, input })),
  get: procedure.meta({ policy: read }).input(BundleRef).query(({ ctx, input }) => getBundle({ ctx, input })),
});
