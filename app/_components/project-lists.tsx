'use client';

import { buildSorts, buildsHref, BuildsSection } from './builds/builds-section';
import { datasetSorts, datasetsHref, DatasetsSection } from './datasets/datasets-section';
import { ListControls, useListView } from './list-view';
import { modelSorts, ModelsSection } from './models/models-section';
import { modelsHref } from './models/types';
import { ProjectFrame } from './project-header';
import { roleAtLeast } from './types';

/** Builds, Datasets and Models as pages of their own (breadcrumbs lead here): a search and a sort above the list. */
export function BuildsListPage({ projectId }: { projectId: string }) {
  const [view, setView] = useListView('newest');
  return (
    <ProjectFrame projectId={projectId} active={buildsHref(projectId)}>
      {() => (
        <div className="stack">
          <ListControls view={view} onChange={setView} sorts={buildSorts} label="builds" placeholder="Notebook, status, who started it, target…" />
          <BuildsSection projectId={projectId} view={view} limit={200} />
        </div>
      )}
    </ProjectFrame>
  );
}

export function DatasetsListPage({ projectId }: { projectId: string }) {
  const [view, setView] = useListView('name');
  return (
    <ProjectFrame projectId={projectId} active={datasetsHref(projectId)}>
      {(_project, myRole) => (
        <div className="stack">
          <ListControls view={view} onChange={setView} sorts={datasetSorts} label="datasets" placeholder="Name, kind or a column…" />
          <DatasetsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} view={view} />
        </div>
      )}
    </ProjectFrame>
  );
}

export function ModelsListPage({ projectId }: { projectId: string }) {
  const [view, setView] = useListView('name');
  return (
    <ProjectFrame projectId={projectId} active={modelsHref(projectId)}>
      {(_project, myRole) => (
        <div className="stack">
          <ListControls view={view} onChange={setView} sorts={modelSorts} label="models" placeholder="Name, algorithm or an endpoint…" />
          <ModelsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} view={view} />
        </div>
      )}
    </ProjectFrame>
  );
}
