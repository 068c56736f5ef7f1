import React from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Select, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { Filter, FlowOptions, FlowQuery, FlowVariableQuery } from '../types';
import { FilterEditor } from './FilterEditor';
import { useReports } from './useReports';

export type Props = QueryEditorProps<DataSource, FlowQuery, FlowOptions, FlowVariableQuery>;

const LABEL_WIDTH = 10;

/** Query variables: the values of one label of a report, narrowed by filters. */
export function VariableQueryEditor({ query, onChange, datasource }: Props) {
  const { reports, loading, error } = useReports(datasource);
  const reportId = query.report ?? '';
  const report = reports.find((r) => r.id === reportId);
  const filters = query.filters ?? [];
  const id = `vpcflow-variable-${query.refId ?? 'query'}`;

  const reportOptions: Array<SelectableValue<string>> = reports.map((r) => ({
    label: r.title || r.id,
    value: r.id,
    description: r.description,
  }));
  if (reportId && !report) {
    reportOptions.push({ label: reportId, value: reportId });
  }
  const labels = report?.labels;
  const labelOptions: Array<SelectableValue<string>> = (labels ?? []).map((l) => ({ label: l, value: l }));
  if (query.label && !labels?.includes(query.label)) {
    labelOptions.push({ label: query.label, value: query.label });
  }

  const onReportChange = (v: SelectableValue<string>) => {
    const next = reports.find((r) => r.id === v.value);
    const keep = (l?: string) => !l || !next?.labels || next.labels.includes(l);
    onChange({
      ...query,
      report: v.value ?? '',
      label: keep(query.label) ? query.label : '',
      filters: filters.filter((f) => keep(f.label)),
    });
  };

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <InlineField
          label="Report"
          labelWidth={LABEL_WIDTH}
          htmlFor={`${id}-report`}
          invalid={!!error}
          error={error ? `Could not load reports: ${error}` : undefined}
        >
          <Select
            inputId={`${id}-report`}
            aria-label="Report"
            width={40}
            isLoading={loading}
            options={reportOptions}
            value={reportId || null}
            allowCustomValue
            onChange={onReportChange}
          />
        </InlineField>
        <InlineField
          label="Label"
          labelWidth={LABEL_WIDTH}
          htmlFor={`${id}-label`}
          tooltip="The variable's values are this label's values"
        >
          <Select
            inputId={`${id}-label`}
            aria-label="Label"
            width={28}
            options={labelOptions}
            value={query.label || null}
            allowCustomValue={labels === undefined}
            onChange={(v) => onChange({ ...query, label: v.value ?? '' })}
          />
        </InlineField>
      </InlineFieldRow>
      <FilterEditor
        datasource={datasource}
        report={reportId}
        labels={labels}
        filters={filters}
        idPrefix={id}
        onChange={(f: Filter[]) => onChange({ ...query, filters: f })}
      />
    </Stack>
  );
}
