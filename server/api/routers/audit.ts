import { listAuditEvents, ListAuditInput } from '../../services/audit/list-audit-events';
import { policies, procedure, router } from '../trpc';

export const auditRouter = router({
  list: procedure.meta({ policy: policies.viewer }).input(ListAuditInput).query(({ ctx, input }) => listAuditEvents({ ctx, input })),
});
