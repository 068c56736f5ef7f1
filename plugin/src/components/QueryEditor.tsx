import React, { useState } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import {
  CompleteFlowQuery,
  DEFAULT_QUERY,
  Filter,
  FlowOptions,
  FlowQuery,
  Format,
  MAX_EDGES,
  MAX_SERIES,
  Metric,
  Mode,
  NODE_GRAPH_REPORTS,
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
const NODE_GRAPH_OPTION: SelectableValue<Format> = {
  label: 'Node graph',
  value: 'node_graph',
  description: 'Nodes and edges for the Node graph panel: the top N edges, the rest summarised',
};
const LABEL_WIDTH = 10;

/**
 * The query editor: a report from the backend's registry, the metric, rate or total, the top N
 * groups or all of them, label filters and the result format (a node graph for the reports
 * between two ends). Every change is applied to a query
 * with its defaults filled in, so the stored model is complete for the backend and alerting.
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
  // The node graph is offered for the reports between two ends (and shown for a query that has it).
  const formatOptions =
    NODE_GRAPH_REPORTS.includes(q.report) || q.format === 'node_graph'
      ? [...FORMAT_OPTIONS, NODE_GRAPH_OPTION]
      : FORMAT_OPTIONS;

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
        <TopField id={`${id}-top`} top={q.top} format={q.format} onChange={(top) => change({ ...q, top })} />
        <InlineField label="Format" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<Format>
            options={formatOptions}
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
 * dropped, a metric it does not have becomes its first one, and a node graph becomes the default
 * format when the new report has none.
 */
export function switchReport(q: CompleteFlowQuery, id: string, report?: ReportInfo): CompleteFlowQuery {
  const labels = report?.labels;
  const filters = labels ? q.filters.filter((f) => !f.label || labels.includes(f.label)) : q.filters;
  const metrics = report?.metrics;
  const metric = metrics?.length && !metrics.includes(q.metric) ? metrics[0] : q.metric;
  const format = q.format === 'node_graph' && !NODE_GRAPH_REPORTS.includes(id) ? DEFAULT_QUERY.format : q.format;
  return { ...q, report: id, metric, filters, format };
}

/**
 * What is wrong with a typed top N, if anything: it must be a whole number of 1 or more, at most
 * MAX_SERIES for a time series and MAX_EDGES for a node graph.
 */
function topProblem(text: string, format: Format): string | undefined {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1) {
    return 'A whole number, 1 or more';
  }
  if (format === 'time_series' && n > MAX_SERIES) {
    return `At most ${MAX_SERIES} for a time series (a table takes any number, or All rows)`;
  }
  if (format === 'node_graph' && n > MAX_EDGES) {
    return `At most ${MAX_EDGES} edges for a node graph (the rest is summarised)`;
  }
  return undefined;
}

/** The most a top N may be in a format, if there is a bound. */
function topMax(format: Format): number | undefined {
  switch (format) {
    case 'time_series':
      return MAX_SERIES;
    case 'node_graph':
      return MAX_EDGES;
    default:
      return undefined;
  }
}

/**
 * Top N, and the "All rows" switch beside it, which stores top 0 (every group, no Other); turned
 * off again, it gives back the N it replaced.
 */
function TopField({
  id,
  top,
  format,
  onChange,
}: {
  id: string;
  top: number;
  format: Format;
  onChange: (top: number) => void;
}) {
  // What is being typed; the stored value shows when nothing is.
  const [draft, setDraft] = useState<string>();
  // The N "All rows" replaced, given back when it is turned off.
  const [lastN, setLastN] = useState(top > 0 ? top : DEFAULT_QUERY.top);
  const all = top === 0;
  const text = all ? '' : (draft ?? String(top));
  const problem = all ? undefined : topProblem(text, format);
  return (
    <>
      <InlineField
        label="Top"
        labelWidth={LABEL_WIDTH}
        htmlFor={id}
        invalid={!!problem}
        error={problem}
        disabled={all}
        tooltip={`Keep the N groups with the largest values over the time range and sum the rest into Other. A time series shows at most ${MAX_SERIES} series; a table any number of rows; a node graph the N largest edges (at most ${MAX_EDGES}), the rest summarised into edges to and from the Other nodes.`}
      >
        <Input
          id={id}
          type="number"
          min={1}
          max={topMax(format)}
          step={1}
          width={10}
          value={text}
          placeholder={all ? 'all' : undefined}
          onChange={(e) => setDraft(e.currentTarget.value)}
          onBlur={() => {
            if (problem) {
              return;
            }
            setDraft(undefined);
            const n = Number(text);
            if (n !== top) {
              setLastN(n);
              onChange(n);
            }
          }}
        />
      </InlineField>
      <InlineField
        label="All rows"
        htmlFor={`${id}-all`}
        tooltip={`Every group, without Other (top 0): a table of thousands of rows, which the table panel pages. A time series shows at most ${MAX_SERIES} series: over a range with more groups the query fails. A node graph shows its ${MAX_EDGES} largest edges and summarises the rest.`}
      >
        <InlineSwitch
          id={`${id}-all`}
          value={all}
          onChange={(e) => {
            if (e.currentTarget.checked) {
              setDraft(undefined);
              onChange(0);
            } else {
              onChange(lastN);
            }
          }}
        />
      </InlineField>
    </>
  );
}
