import { describe, expect, it } from 'vitest';
import { describeRequirementProblems, parsePythonRequirements } from '@/server/domain/python-requirements';

const managed = new Map([['numpy', '2.4.6'], ['scikit-learn', '1.9.1']]);
const problems = (text: string) => {
  const r = parsePythonRequirements(text, managed);
  return r.ok ? [] : r.problems.map((p) => [p.line, p.message.split(':')[0]]);
};

describe('project Python requirements', () => {
  it('accepts pinned name==version lines with comments, normalised and sorted', () => {
    const r = parsePythonRequirements('# for the report\nTabulate == 0.9.0   # tables\n\npython_slugify==8.0.4\nattrs==23.2.0.post1\nfoo==1.0rc2\n', managed);
    expect(r).toEqual({
      ok: true,
      pins: [
        { name: 'attrs', version: '23.2.0.post1' },
        { name: 'foo', version: '1.0rc2' },
        { name: 'python-slugify', version: '8.0.4' },
        { name: 'tabulate', version: '0.9.0' },
      ],
      text: 'attrs==23.2.0.post1\nfoo==1.0rc2\npython-slugify==8.0.4\ntabulate==0.9.0\n',
    });
  });

  it('names every line that is not a plain pin, and why', () => {
    expect(
      problems(
        [
          '-e .',
          '-r other.txt',
          'pkg==1.0 --hash=sha256:abc',
          'pkg @ https://example.com/pkg.whl',
          'git+https://github.com/a/b.git',
          'https://example.com/pkg-1.0.tar.gz',
          '/opt/wheels/pkg-1.0-py3-none-any.whl',
          '../pkg',
          'pkg>=1.0',
          'pkg==1.*',
          'pkg==1.0+local',
          'pkg[extra]==1.0',
          'pkg==1.0; python_version>"3"',
          'pkg',
          'NumPy==1.26.0',
          'scikit_learn==1.9.1',
          'ok==1.0',
          'OK==2.0',
          'bad name==1',
        ].join('\n'),
      ),
    ).toEqual([
      [1, 'pip options are not allowed (-e, -r, -c, --index-url, --find-links, ...)'],
      [2, 'pip options are not allowed (-e, -r, -c, --index-url, --find-links, ...)'],
      [3, 'pip options are not allowed (-e, -r, -c, --index-url, --find-links, ...)'],
      [4, 'URLs and direct references are not allowed'],
      [5, 'URLs and direct references are not allowed'],
      [6, 'URLs and direct references are not allowed'],
      [7, 'local paths and files are not allowed'],
      [8, 'local paths and files are not allowed'],
      [9, 'must be pinned to one version with == (no ranges)'],
      [10, 'must be pinned to one version with == (no wildcards)'],
      [11, 'local versions (+...) are not allowed'],
      [12, 'extras ([...]) are not allowed'],
      [13, 'environment markers (;) are not allowed'],
      [14, 'must be pinned to one version'],
      [15, 'NumPy is part of the managed Python (numpy==2.4.6)'],
      [16, 'scikit_learn is part of the managed Python (scikit-learn==1.9.1)'],
      [18, 'OK is already listed on line 17'],
      [19, 'not a name==version line'],
    ]);
  });

  it('describes problems one a line with the line number and text', () => {
    const r = parsePythonRequirements('ok==1\n-e .\n', managed);
    expect(r.ok ? '' : describeRequirementProblems(r.problems)).toBe('line 2 (-e .): pip options are not allowed (-e, -r, -c, --index-url, --find-links, ...): write one name==version');
  });

  it('an empty text is no requirements', () => {
    expect(parsePythonRequirements('\n# nothing yet\n', managed)).toEqual({ ok: true, pins: [], text: '' });
  });
});
