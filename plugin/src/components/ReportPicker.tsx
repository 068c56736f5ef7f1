import React from 'react';
import { SelectableValue } from '@grafana/data';
import { InlineField, Select } from '@grafana/ui';

import { ReportInfo } from '../types';
import { ReportsState } from './useReports';

export interface ReportPickerProps {
  /** The Select's input id, unique on the page. */
  inputId: string;
  /** The report registry as useReports loads it. */
  registry: ReportsState;
  /** The stored report id (may be a template variable, or a report the backend no longer lists). */
  value: string;
  /** Called with the picked id and its registry entry (none for an id typed by hand). */
  onChange: (id: string, report?: ReportInfo) => void;
  labelWidth: number;
  tooltip?: string;
}

/**
 * The report picker of the query and variable editors: the registry's reports by title with
 * their descriptions, ids typed by hand allowed, and the stored id kept visible when the backend
 * does not list it. A registry that cannot be loaded shows its error.
 */
export function ReportPicker({ inputId, registry, value, onChange, labelWidth, tooltip }: ReportPickerProps) {
  const { reports, loading, error } = registry;
  return (
    <InlineField
      label="Report"
      labelWidth={labelWidth}
      htmlFor={inputId}
      invalid={!!error}
      error={error ? `Could not load reports: ${error}` : undefined}
      tooltip={tooltip}
    >
      <Select
        inputId={inputId}
        aria-label="Report"
        width={40}
        isLoading={loading}
        options={reportOptions(reports, value)}
        value={value || null}
        allowCustomValue
        onChange={(v: SelectableValue<string>) => {
          const id = v.value ?? '';
          onChange(id, reports.find((r) => r.id === id));
        }}
      />
    </InlineField>
  );
}

function reportOptions(reports: ReportInfo[], current: string): Array<SelectableValue<string>> {
  const options: Array<SelectableValue<string>> = reports.map((r) => ({
    label: r.title || r.id,
    value: r.id,
    description: r.description,
  }));
  // A report the backend does not list (a template variable, or a report since removed)
  // stays visible instead of leaving the picker blank.
  if (current && !reports.some((r) => r.id === current)) {
    options.push({ label: current, value: current });
  }
  return options;
}
