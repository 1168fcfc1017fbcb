import { z } from 'zod';
import { teamRoles } from '@/db/schema';
import { Email } from '../auth/sign-up';

export const Uuid = (field: string) => z.uuid({ error: `${field} must be a UUID` });
export const TeamRoleSchema = z.enum(teamRoles, { error: `role must be one of ${teamRoles.join(', ')}` });
export const TeamName = z.string().trim().min(1, 'name is required').max(80, 'name must be at most 80 characters');

export const CreateTeamInput = z.object({ name: TeamName });
export const TeamRef = z.object({ teamId: Uuid('teamId') });
export const InviteMemberInput = z.object({ teamId: Uuid('teamId'), email: Email, role: TeamRoleSchema });
export const ChangeMemberRoleInput = z.object({ teamId: Uuid('teamId'), userId: Uuid('userId'), role: TeamRoleSchema });
export const RemoveMemberInput = z.object({ teamId: Uuid('teamId'), userId: Uuid('userId') });
export const RevokeInvitationInput = z.object({ teamId: Uuid('teamId'), invitationId: Uuid('invitationId') });
export const ApproveInvitationInput = RevokeInvitationInput;
