/** The closed set of audited actions: `entity.verb`. */
export const auditActions = [
  'user.signup',
  'user.signin',
  'user.signin_failed',
  'user.signout',
  'team.create',
  'team.member_invite',
  'team.invitation_accept',
  'team.invitation_revoke',
  'team.member_role_change',
  'team.member_remove',
  'project.create',
  'apikey.create',
  'apikey.revoke',
  'run.start',
  'run.complete',
  'system.bootstrap',
] as const;
export type AuditAction = (typeof auditActions)[number];
