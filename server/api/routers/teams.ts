import { approveInvitation } from '../../services/teams/approve-invitation';
import { createTeam } from '../../services/teams/create-team';
import { changeMemberRole } from '../../services/teams/change-member-role';
import { getTeam, listMembers } from '../../services/teams/get-team';
import { inviteMember } from '../../services/teams/invite-member';
import { listTeams } from '../../services/teams/list-teams';
import { removeMember, revokeInvitation } from '../../services/teams/remove-member';
import {
  ApproveInvitationInput,
  ChangeMemberRoleInput,
  CreateTeamInput,
  InviteMemberInput,
  RemoveMemberInput,
  RevokeInvitationInput,
  TeamRef,
} from '../../services/teams/schemas';
import { policies, procedure, router } from '../trpc';

export const teamsRouter = router({
  list: procedure.meta({ policy: policies.signedIn }).query(({ ctx }) => listTeams({ ctx })),
  create: procedure.meta({ policy: policies.signedIn }).input(CreateTeamInput).mutation(({ ctx, input }) => createTeam({ ctx, input })),
  get: procedure.meta({ policy: policies.viewer }).input(TeamRef).query(({ ctx, input }) => getTeam({ ctx, input })),
  members: procedure.meta({ policy: policies.viewer }).input(TeamRef).query(({ ctx, input }) => listMembers({ ctx, input })),
  invite: procedure.meta({ policy: policies.admin }).input(InviteMemberInput).mutation(({ ctx, input }) => inviteMember({ ctx, input })),
  changeRole: procedure
    .meta({ policy: policies.admin })
    .input(ChangeMemberRoleInput)
    .mutation(({ ctx, input }) => changeMemberRole({ ctx, input })),
  removeMember: procedure
    .meta({ policy: policies.admin })
    .input(RemoveMemberInput)
    .mutation(({ ctx, input }) => removeMember({ ctx, input })),
  revokeInvitation: procedure
    .meta({ policy: policies.admin })
    .input(RevokeInvitationInput)
    .mutation(({ ctx, input }) => revokeInvitation({ ctx, input })),
  approveInvitation: procedure
    .meta({ policy: policies.admin })
    .input(ApproveInvitationInput)
    .mutation(({ ctx, input }) => approveInvitation({ ctx, input })),
});
