'use client';

import { NotebooksSection } from './notebooks-section';
import { ProjectFrame } from './project-header';
import { RunsSection } from './runs-section';
import { roleAtLeast } from './types';
import { Card, EmptyState } from './ui';

const laterSections = [
  { title: 'Datasets', empty: 'No datasets yet.', body: 'Uploaded and ingested sources, and the tables the pipeline builds, are listed here.' },
  { title: 'Models', empty: 'No models yet.', body: 'Trained and imported model versions appear here with their metrics and the current champion.' },
  { title: 'Deployments', empty: 'No deployments yet.', body: 'Bundles activated in production, and the history rollback walks, appear here.' },
];

export function ProjectHome({ projectId }: { projectId: string }) {
  return (
    <ProjectFrame projectId={projectId} active={`/projects/${projectId}`}>
      {(_project, myRole) => (
        <div className="stack">
          <NotebooksSection projectId={projectId} canEdit={roleAtLeast(myRole, 'editor')} />
          <RunsSection projectId={projectId} canStart={roleAtLeast(myRole, 'editor')} />
          <div className="grid-3">
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
