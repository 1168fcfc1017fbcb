import type { RouterOutputs } from '../types';

export type ModelSummary = RouterOutputs['models']['list'][number];
export type ModelVersionSummary = RouterOutputs['models']['versions'][number];
export type ModelVersionDetail = RouterOutputs['models']['versionDetail'];
export type Evaluation = NonNullable<ModelVersionDetail['metrics']>['evaluation'];
export type Training = RouterOutputs['models']['training'];
export type Endpoint = RouterOutputs['endpoints']['list'][number];
export type PredictResult = RouterOutputs['scoring']['predict'];

export const modelHref = (projectId: string, name: string, version?: number) =>
  `/projects/${projectId}/models/${encodeURIComponent(name)}${version ? `?version=${version}` : ''}`;
export const trainHref = (projectId: string, model?: string) => `/projects/${projectId}/train${model ? `?model=${encodeURIComponent(model)}` : ''}`;
export const modelsHref = (projectId: string) => `/projects/${projectId}/models`;
export const endpointsHref = (projectId: string) => `/projects/${projectId}/endpoints`;
export const endpointHref = (projectId: string, name: string) => `/projects/${projectId}/endpoints/${encodeURIComponent(name)}`;

/** Model and endpoint names: what the server accepts (and API key scopes name). */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const NAME_RULE = 'Lowercase letters, digits, - and _, starting with a letter.';
