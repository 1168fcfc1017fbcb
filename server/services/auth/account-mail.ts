import { linkTo, mailSettings, type MailSettings } from '../mail-settings';

export type AccountMail = { kind: 'verify_email'; token: string } | { kind: 'reset_password'; token: string } | { kind: 'signup_existing' };

// The token travels in the fragment: browsers do not send it to the server or in a Referer, so it
// never reaches an access log; the page reads it, drops it from the address bar and posts it.
function message(mail: AccountMail, settings: MailSettings): { subject: string; text: string } {
  switch (mail.kind) {
    case 'verify_email':
      return {
        subject: 'Confirm your email for Stagebook',
        text: `Confirm this address to join the teams that invited you:\n\n${linkTo(settings, `/verify-email#token=${mail.token}`)}\n\nThe link works once, for 48 hours. If you did not sign up, ignore this email.`,
      };
    case 'reset_password':
      return {
        subject: 'Reset your Stagebook password',
        text: `Choose a new password here:\n\n${linkTo(settings, `/reset-password#token=${mail.token}`)}\n\nThe link works once, for one hour, and signs you out everywhere. If you did not ask, ignore this email.`,
      };
    case 'signup_existing':
      return {
        subject: 'Someone tried to sign up with your email',
        text: `Someone tried to create a Stagebook account with this address, which already has one. If it was you, sign in, or reset your password:\n\n${linkTo(settings, '/reset-password')}`,
      };
  }
}

/** Whether account email can be sent at all (SMTP_URL set); without it, admins approve members. */
export function accountMailEnabled(settings = mailSettings()): boolean {
  return settings.smtpUrl !== null;
}

/**
 * Sends one account email. Failures are logged, not thrown: the caller's answer must not depend on
 * whether the mailbox exists or the SMTP server is up (that would tell who has an account).
 */
export async function sendAccountMail(to: string, mail: AccountMail, settings = mailSettings()): Promise<boolean> {
  if (!settings.smtpUrl) return false;
  // Loaded on first use: most instances send no mail, and nothing at start needs it.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({ url: settings.smtpUrl, connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs * 2 });
  try {
    const { subject, text } = message(mail, settings);
    await transport.sendMail({ from: settings.smtpFrom, to, subject, text, headers: { 'X-Stagebook-Event': `account.${mail.kind}` } });
    return true;
  } catch (err) {
    // The error names the mail kind and the server's reply, never the token.
    console.error(`account email (${mail.kind}) could not be sent`, (err as Error).message);
    return false;
  } finally {
    transport.close();
  }
}
