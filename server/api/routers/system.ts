import { getInstanceSettings, pythonSandboxStatus, SetPythonUnsandboxedInput, setPythonUnsandboxed } from '../../services/system/instance-settings';
import { VERSION } from '../../version';
import { policies, procedure, router } from '../trpc';

export const systemRouter = router({
  version: procedure.meta({ policy: policies.public }).query(() => ({ name: 'stagebook', version: VERSION })),
  /** How Python cells run here (bubblewrap, unsandboxed, unavailable): every Python cell shows it. */
  pythonSandbox: procedure.meta({ policy: policies.signedIn }).query(({ ctx }) => pythonSandboxStatus(ctx.db)),
  instanceSettings: procedure.meta({ policy: policies.instanceAdmin }).query(({ ctx }) => getInstanceSettings({ ctx })),
  setPythonUnsandboxed: procedure.meta({ policy: policies.instanceAdmin }).input(SetPythonUnsandboxedInput).mutation(({ ctx, input }) => setPythonUnsandboxed({ ctx, input })),
});
