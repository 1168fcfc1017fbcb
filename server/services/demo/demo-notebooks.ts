import type { CellKind } from '@/server/domain/notebook-doc';

/**
 * The demo projects' notebooks, cell by cell: what a data team would write by hand. Cell ids are
 * fixed so the two projects read the same on every instance (and their bundles hash the same).
 */
export type DemoCell = { id: string; kind: CellKind; source: string };

export const FORECAST = {
  team: 'Demo',
  project: 'Demand forecast',
  description: 'Batch: a nightly scenario rebuilds tomorrow’s demand forecast per location from the sales history, checks it and publishes it.',
  notebook: 'Next-day demand',
  source: 'sales',
  output: 'demand_forecast',
  scenario: 'nightly_forecast',
} as const;

export const CREDIT = {
  project: 'Credit scoring',
  description: 'Real time: credit applications are scored by the credit-demo endpoint; new labelled applications trigger a gated retrain.',
  notebook: 'Credit risk',
  source: 'applications_labelled',
  model: 'credit',
  endpoint: 'credit-demo',
  scenario: 'retrain_on_new_labels',
} as const;

export const forecastCells: DemoCell[] = [
  {
    id: 'about',
    kind: 'markdown',
    source: `# Next-day demand per location

\`sales\` holds daily units sold per location (180 days, uploaded in design and production).
The SQL below forecasts the day after the last day of sales; the check cell keeps a bad forecast
from being published; the scenario \`nightly_forecast\` rebuilds it every night at 05:00 (Paris).`,
  },
  {
    id: 'recent_sales',
    kind: 'sql',
    source: `-- writes: sales_last_8_weeks
-- The last eight weeks of sales per location, with the ISO weekday (1 = Monday ... 7 = Sunday).
select location, day, extract(isodow from day)::int as weekday, units
from sales
where day > (select max(day) from sales) - interval '56 days'`,
  },
  {
    id: 'forecast',
    kind: 'sql',
    source: `-- writes: demand_forecast
-- Tomorrow's demand per location: the last four same-weekday sales weighted 4:3:2:1 (most recent
-- first), plus the trend (mean of the last four weeks against the four before, per day) times the
-- 14 days that weighting lags behind.
with horizon as (
  select max(day) + interval '1 day' as forecast_day from sales_last_8_weeks
),
same_weekday as (
  select s.location, s.units, row_number() over (partition by s.location order by s.day desc) as weeks_ago
  from sales_last_8_weeks s cross join horizon h
  where s.weekday = extract(isodow from h.forecast_day)::int
),
level as (
  select location, sum(units * (5 - weeks_ago))::float8 / sum(5 - weeks_ago) as level
  from same_weekday
  where weeks_ago <= 4
  group by location
),
trend as (
  select s.location,
         (avg(s.units) filter (where s.day > h.forecast_day - interval '29 days')
          - avg(s.units) filter (where s.day <= h.forecast_day - interval '29 days')) / 28.0 as per_day
  from sales_last_8_weeks s cross join horizon h
  group by s.location
)
select l.location,
       h.forecast_day,
       round(greatest(0, l.level + coalesce(t.per_day, 0) * 14)::numeric, 1)::float8 as forecast_units,
       round(l.level::numeric, 1)::float8 as same_weekday_level,
       round(coalesce(t.per_day, 0)::numeric, 3)::float8 as trend_per_day
from level l
cross join horizon h
left join trend t on t.location = l.location
order by l.location`,
  },
  {
    id: 'forecast_checks',
    kind: 'check',
    source: `dataset: demand_forecast
checks:
  - type: row_count
    min: 8
    max: 8
  - type: unique
    columns: [location]
  - type: null_rate
    column: forecast_units
    max: 0
  - type: value_range
    column: forecast_units
    min: 0
  - type: custom_sql
    name: every_location_forecast
    sql: select distinct location from sales where location not in (select location from demand_forecast)
`,
  },
  {
    id: 'nightly',
    kind: 'scenario',
    source: `name: nightly_forecast
description: Rebuilds tomorrow's demand forecast per location from the sales history, checks it and publishes it.
triggers:
  - type: schedule
    cron: "0 5 * * *"
    timezone: Europe/Paris
  - type: manual
overlap: skip
steps:
  - type: build
  - type: checks
    dataset: demand_forecast
`,
  },
];

export const creditCells: DemoCell[] = [
  {
    id: 'about',
    kind: 'markdown',
    source: `# Credit risk

\`applications_labelled\` holds past credit applications with their outcome (\`status\`: good or bad).
The train cell fits a logistic regression; the endpoint \`credit-demo\` serves its champion
(\`POST /api/v1/endpoints/credit-demo/predict\` with a key of scope \`score:credit-demo\`).
When labelled applications are appended in production, \`retrain_on_new_labels\` trains a
challenger and promotes it only if its AUC is at least the champion's on the same holdout.`,
  },
  {
    id: 'train',
    kind: 'train',
    source: `model: credit
dataset: applications_labelled
target: status
positiveClass: bad
algorithm: logistic_regression
# a quarter held out: the retrain gate wants at least 1,000 holdout rows (4,454 applications)
holdout: { fraction: 0.25, seed: 42 }
`,
  },
  {
    id: 'endpoint',
    kind: 'endpoint',
    source: `name: credit-demo
model: credit
description: Scores credit applications (demo)
`,
  },
  {
    id: 'retrain',
    kind: 'scenario',
    source: `name: retrain_on_new_labels
description: When labelled applications arrive, retrain the credit model; the gate keeps the better one.
triggers:
  - type: dataset_change
    dataset: applications_labelled
    every: 30s
  - type: manual
overlap: queue_one
steps:
  - type: metrics
    dataset: applications_labelled
  - type: retrain
    model: credit
    gate:
      metric: auc
      minImprovement: 0.005
      minRows: 250
    shadow:
      for: 15s
      minRecords: 50
`,
  },
];
