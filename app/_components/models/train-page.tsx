'use client';

import './models.css';
import { ProjectSubpage } from '../datasets/project-subpage';
import { EmptyState } from '../ui';
import { ImportForm } from './import-form';
import { TrainForm } from './train-form';

/** Where new model versions come from: training on a dataset, or an ONNX file. */
export function TrainPage({ projectId, model }: { projectId: string; model?: string }) {
  return (
    <ProjectSubpage projectId={projectId} section="Models" title={model ? `New version of ${model}` : 'New model'}>
      {({ canEdit }) =>
        canEdit ? (
          <div className="grid-2-1">
            <TrainForm projectId={projectId} {...(model ? { initialModel: model } : {})} />
            <ImportForm projectId={projectId} {...(model ? { initialModel: model } : {})} />
          </div>
        ) : (
          <EmptyState title="Editors train and import models.">Ask a team admin for the editor role.</EmptyState>
        )
      }
    </ProjectSubpage>
  );
}
