import React, { useState } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import {
  CompleteFlowQuery,
  Filter,
  FlowOptions,
  FlowQuery,
  Format,
  Metric,
  Mode,
  ReportInfo,
  withDefaults,
} from '../types';
import { FilterEditor } from './FilterEditor';
import { ReportPicker } from './ReportPicker';
import { useReports } from './useReports';

export type Props = QueryEditorProps<DataSource, FlowQuery, FlowOptions>;

/** Metrics every flow family has; a report's own list (from the backend) wins. */
const FAMILY_METRICS: Metric[] = ['bytes', 'packets', 'flows'];
const MODE_OPTIONS: Array<SelectableValue<Mode>> = [
  { label: 'Rate', value: 'rate', description: 'Per second' },
  { label: 'Total', value: 'total', description: 'Sum per interval' },
];
const FORMAT_OPTIONS: Array<SelectableValue<Format>> = [
  { label: 'Time series', value: 'time_series' },
  { label: 'Table', value: 'table' },
];
const LABEL_WIDTH = 10;

/**
 * The query editor: a report from the backend's registry, the metric, rate or total, the top N
 * groups, label filters and the result format. Every change is applied to a query with its
 * defaults filled in, so the stored model is complete for the backend and alerting.
 */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const q = withDefaults(query);
  const registry = useReports(datasource);
  const report = registry.reports.find((r) => r.id === q.report);
  const id = `vpcflow-${query.refId}`;

  const change = (next: CompleteFlowQuery) => {
    onChange(next);
    onRunQuery();
  };

  const metrics: Metric[] = report?.metrics?.length ? report.metrics : FAMILY_METRICS;
  const metricOptions = (metrics.includes(q.metric) ? metrics : [...metrics, q.metric]).map((m) => ({
    label: m,
    value: m,
  }));

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <ReportPicker
          inputId={`${id}-report`}
          registry={registry}
          value={q.report}
          labelWidth={LABEL_WIDTH}
          tooltip="A report of the vpcflow registry: what it groups by and which metric family it reads"
          onChange={(reportId, info) => change(switchReport(q, reportId, info))}
        />
        <InlineField label="Metric" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<Metric>
            options={metricOptions}
            value={q.metric}
            onChange={(metric) => change({ ...q, metric })}
          />
        </InlineField>
        <InlineField label="Mode" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<Mode> options={MODE_OPTIONS} value={q.mode} onChange={(mode) => change({ ...q, mode })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <TopField id={`${id}-top`} top={q.top} onChange={(top) => change({ ...q, top })} />
        <InlineField label="Format" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<Format>
            options={FORMAT_OPTIONS}
            value={q.format}
            onChange={(format) => change({ ...q, format })}
          />
        </InlineField>
      </InlineFieldRow>
      <FilterEditor
        datasource={datasource}
        report={q.report}
        labels={report?.labels}
        filters={q.filters}
        idPrefix={id}
        onChange={(filters: Filter[]) => change({ ...q, filters })}
      />
    </Stack>
  );
}

/**
 * The query after picking another report: filters on labels the new report's family lacks are
 * dropped, and a metric it does not have becomes its first one.
 */
export function switchReport(q: CompleteFlowQuery, id: string, report?: ReportInfo): CompleteFlowQuery {
  const labels = report?.labels;
  const filters = labels ? q.filters.filter((f) => !f.label || labels.includes(f.label)) : q.filters;
  const metrics = report?.metrics;
  const metric = metrics?.length && !metrics.includes(q.metric) ? metrics[0] : q.metric;
  return { ...q, report: id, metric, filters };
}

function TopField({ id, top, onChange }: { id: string; top: number; onChange: (top: number) => void }) {
  // What is being typed; the stored value shows when nothing is.
  const [draft, setDraft] = useState<string>();
  const text = draft ?? String(top);
  const n = Number(text);
  const valid = Number.isInteger(n) && n >= 1;
  return (
    <InlineField
      label="Top"
      labelWidth={LABEL_WIDTH}
      htmlFor={id}
      invalid={!valid}
      error={valid ? undefined : 'A whole number, 1 or more'}
      tooltip="Keep the N groups with the largest values over the time range"
    >
      <Input
        id={id}
        type="number"
        min={1}
        step={1}
        width={10}
        value={text}
        onChange={(e) => setDraft(e.currentTarget.value)}
        onBlur={() => {
          if (!valid) {
            return;
          }
          setDraft(undefined);
          if (n !== top) {
            onChange(n);
          }
        }}
      />
    </InlineField>
  );
}
