import React from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Select, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { Filter, FlowOptions, FlowQuery, FlowVariableQuery, ReportInfo } from '../types';
import { FilterEditor } from './FilterEditor';
import { ReportPicker } from './ReportPicker';
import { useReports } from './useReports';

export type Props = QueryEditorProps<DataSource, FlowQuery, FlowOptions, FlowVariableQuery>;

const LABEL_WIDTH = 10;

/** Query variables: the values of one label of a report, narrowed by filters. */
export function VariableQueryEditor({ query, onChange, datasource }: Props) {
  const registry = useReports(datasource);
  const reportId = query.report ?? '';
  const report = registry.reports.find((r) => r.id === reportId);
  const filters = query.filters ?? [];
  const id = `vpcflow-variable-${query.refId ?? 'query'}`;

  const labels = report?.labels;
  const labelOptions: Array<SelectableValue<string>> = (labels ?? []).map((l) => ({ label: l, value: l }));
  if (query.label && !labels?.includes(query.label)) {
    labelOptions.push({ label: query.label, value: query.label });
  }

  const onReportChange = (picked: string, next?: ReportInfo) => {
    const keep = (l?: string) => !l || !next?.labels || next.labels.includes(l);
    onChange({
      ...query,
      report: picked,
      label: keep(query.label) ? query.label : '',
      filters: filters.filter((f) => keep(f.label)),
    });
  };

  return (
    <Stack direction="column" gap={0.5}>
      <InlineFieldRow>
        <ReportPicker
          inputId={`${id}-report`}
          registry={registry}
          value={reportId}
          labelWidth={LABEL_WIDTH}
          onChange={onReportChange}
        />
        <InlineField
          label="Label"
          labelWidth={LABEL_WIDTH}
          htmlFor={`${id}-label`}
          tooltip="The variable's values are this label's values; ids of VPCs, subnets, interfaces, instances and zones are listed as “name (id)”, and the variable's value is the id"
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
