import { recentWork } from '../../services/projects/recent-work';
import { search, SearchInput } from '../../services/search/search';
import { policies, procedure, router } from '../trpc';

/** Across teams: each service reads only what the signed-in user's team memberships allow. */
export const searchRouter = router({
  query: procedure.meta({ policy: policies.signedIn }).input(SearchInput).query(({ ctx, input }) => search({ ctx, input })),
  recent: procedure.meta({ policy: policies.signedIn }).query(({ ctx }) => recentWork({ ctx })),
});
