'use client';

import { BuildsSection } from './builds/builds-section';
import { DatasetsSection } from './datasets/datasets-section';
import { ModelsSection } from './models/models-section';
import { NotebooksSection } from './notebooks-section';
import { ProjectFrame } from './project-header';
import { RunsSection } from './runs-section';
import { roleAtLeast } from './types';
import { Card, EmptyState } from './ui';

const laterSections = [
  { title: 'Deployments', empty: 'No deployments yet.', body: 'Bundles activated in production, and the history rollback walks, appear here.' },
];

export function ProjectHome({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}`}>
      {(_project, myRole) => (
        <div className="stack">
          <NotebooksSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} />
          <DatasetsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} />
          <BuildsSection projectId={projectId} />
          <ModelsSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} />
          <RunsSection projectId={projectId} canStart={roleAtLeast(myRole, 'editor')} />
          <div className="grid-2">
            {laterSections.map((s) => (
              <Card key={s.title} title={s.title} id={`section-${s.title.toLowerCase()}`}>
                <EmptyState title={s.empty}>{s.body}</EmptyState>
              </Card>
            ))}
          </div>
        </div>
      )}
    </ProjectFrame>
  );
}
