'use client';

import './datasets/datasets.css';
import { BuildsSection } from './builds/builds-section';
import { DatasetsSection } from './datasets/datasets-section';
import { ModelsSection } from './models/models-section';
import { NotebooksSection } from './notebooks-section';
import { EndpointsTrafficCard, LatestScenarioRunsCard, ProductionSummaryCard } from './project-overview-cards';
import { ProjectFrame } from './project-header';
import { roleAtLeast } from './types';

/**
 * A project at a glance, every card read from the project's own records: what production runs (the
 * active bundle and its last deploy), the latest builds and scenario runs, the endpoints with their
 * traffic, then the notebooks, datasets and models to work on.
 */
export function ProjectHome({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}`}>
      {(_project, myRole) => (
        <div className="stack">
          <div className="grid-2">
            <ProductionSummaryCard projectId={projectId} />
            <EndpointsTrafficCard projectId={projectId} />
          </div>
          <NotebooksSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} />
          <BuildsSection projectId={projectId} limit={5} showAll />
          <LatestScenarioRunsCard projectId={projectId} />
          <DatasetsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} showAll />
          <ModelsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} showAll />
        </div>
      )}
    </ProjectFrame>
  );
}
