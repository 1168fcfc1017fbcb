import { listAlgorithms } from '../../services/models/algorithms';
import { evaluateModelVersion, listModelEvaluations } from '../../services/models/evaluate-version';
import { GateDecisionsInput, listGateDecisions } from '../../services/models/gate-decisions';
import { getModel, getModelVersion, listModels, listModelVersions } from '../../services/models/list-models';
import { EvaluateVersionInput, ListEvaluationsInput, ListModelsInput, ModelRef, ModelVersionRef, ScoreDatasetInput, SetChampionInput, TrainingRef, TrainModelInput } from '../../services/models/schemas';
import { scoreDataset } from '../../services/models/score-dataset';
import { setChampion } from '../../services/models/set-champion';
import { cancelTraining, getTraining, startTraining } from '../../services/models/trainings';
import { policies, procedure, router } from '../trpc';

const read = { kind: 'member', role: 'viewer', scope: 'read' } as const;
const editor = { kind: 'member', role: 'editor' } as const;

/** The model registry. ONNX files are imported over REST (`POST /api/v1/projects/{projectId}/models/{name}/versions`). */
export const modelsRouter = router({
  /** The model kinds (registry order) with their labels and the train form's parameters and defaults. */
  algorithms: procedure.meta({ policy: policies.signedIn }).query(() => listAlgorithms()),
  list: procedure.meta({ policy: read }).input(ListModelsInput).query(({ ctx, input }) => listModels({ ctx, input })),
  get: procedure.meta({ policy: read }).input(ModelRef).query(({ ctx, input }) => getModel({ ctx, input })),
  versions: procedure.meta({ policy: read }).input(ModelRef).query(({ ctx, input }) => listModelVersions({ ctx, input })),
  versionDetail: procedure.meta({ policy: read }).input(ModelVersionRef).query(({ ctx, input }) => getModelVersion({ ctx, input })),
  /** Retrain gate decisions of scenarios (audited `model.gate_decision`), newest first. */
  gateDecisions: procedure.meta({ policy: read }).input(GateDecisionsInput).query(({ ctx, input }) => listGateDecisions({ ctx, input })),
  setChampion: procedure
    .meta({ policy: { kind: 'member', role: 'deployer' } })
    .input(SetChampionInput)
    .mutation(({ ctx, input }) => setChampion({ ctx, input })),
  /** Starts training in the background; poll `training` for progress and the new version. */
  train: procedure.meta({ policy: editor }).input(TrainModelInput).mutation(({ ctx, input }) => startTraining({ ctx, input })),
  training: procedure.meta({ policy: { kind: 'member', role: 'viewer' } }).input(TrainingRef).query(({ ctx, input }) => getTraining({ ctx, input })),
  cancelTraining: procedure.meta({ policy: editor }).input(TrainingRef).mutation(({ ctx, input }) => cancelTraining({ ctx, input })),
  /** Scores a dataset with one version and stores the evaluation (audited `model.evaluate`); CI/CD may run it with a `run` key. */
  evaluate: procedure
    .meta({ policy: { kind: 'member', role: 'editor', scope: 'run' } })
    .input(EvaluateVersionInput)
    .mutation(({ ctx, input }) => evaluateModelVersion({ ctx, input })),
  evaluations: procedure.meta({ policy: read }).input(ListEvaluationsInput).query(({ ctx, input }) => listModelEvaluations({ ctx, input })),
  /** Batch scoring into a new dataset; CI/CD may run it with a `run` key. */
  scoreDataset: procedure
    .meta({ policy: { kind: 'member', role: 'editor', scope: 'run' } })
    .input(ScoreDatasetInput)
    .mutation(({ ctx, input }) => scoreDataset({ ctx, input })),
});
