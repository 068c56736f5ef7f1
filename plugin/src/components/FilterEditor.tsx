import React, { useEffect, useRef, useState } from 'react';
import { SelectableValue } from '@grafana/data';
import { Button, IconButton, InlineField, InlineFieldRow, Select, Stack } from '@grafana/ui';

import type { DataSource, LabelValue } from '../datasource';
import { isCompleteFilter } from '../interpolate';
import { DisplayNames, Filter, FILTER_OPS, FilterOp } from '../types';
import { errorMessage } from './useReports';

const OP_DESCRIPTIONS: Record<FilterOp, string> = {
  '=': 'equals',
  '!=': 'does not equal',
  '=~': 'matches the regular expression',
  '!~': 'does not match the regular expression',
};
const OP_OPTIONS: Array<SelectableValue<FilterOp>> = FILTER_OPS.map((op) => ({
  label: op,
  value: op,
  description: OP_DESCRIPTIONS[op],
}));

export interface FilterEditorProps {
  datasource: DataSource;
  /** Report id (as stored: may hold a template variable). */
  report: string;
  /** Labels the report's family has; undefined while unknown (any label may then be typed). */
  labels?: string[];
  filters: Filter[];
  onChange: (filters: Filter[]) => void;
  /** Prefix for element ids, unique on the page (e.g. the query's refId). */
  idPrefix: string;
}

/**
 * Label matchers: one row per filter (label, operator, value), with add and remove. The value
 * picker suggests the label's values from the backend, an id with a name as "name (id)"; picking
 * one stores the raw id. A value typed by hand is stored as typed: on a label holding ids it may
 * be a name (or, with =~ and !~, an expression on names), which the backend matches to the ids
 * that had it over the query's range.
 */
export function FilterEditor({ datasource, report, labels, filters, onChange, idPrefix }: FilterEditorProps) {
  const update = (index: number, f: Filter) => onChange(filters.map((old, i) => (i === index ? f : old)));
  const remove = (index: number) => onChange(filters.filter((_, i) => i !== index));
  const add = () => onChange([...filters, { label: '', op: '=', value: '' }]);

  return (
    <Stack direction="column" gap={0.5}>
      {filters.map((f, i) => (
        <FilterRow
          key={i}
          index={i}
          id={`${idPrefix}-filter-${i}`}
          datasource={datasource}
          report={report}
          labels={labels}
          filter={f}
          others={filters.filter((o, j) => j !== i && isCompleteFilter(o))}
          onChange={(nf) => update(i, nf)}
          onRemove={() => remove(i)}
        />
      ))}
      <div>
        <Button icon="plus" variant="secondary" size="sm" onClick={add} aria-label="Add filter">
          Filter
        </Button>
      </div>
    </Stack>
  );
}

interface FilterRowProps {
  index: number;
  id: string;
  datasource: DataSource;
  report: string;
  labels?: string[];
  filter: Filter;
  others: Filter[];
  onChange: (f: Filter) => void;
  onRemove: () => void;
}

interface LoadedValues {
  key: string;
  /** The label's values, each with its text ("name (id)" for an id with a name). */
  values: LabelValue[];
  /** The names of values, undefined when they could not be loaded: values then go without. */
  names?: DisplayNames;
  error?: string;
}

function FilterRow({ index, id, datasource, report, labels, filter, others, onChange, onRemove }: FilterRowProps) {
  const n = index + 1;
  const [values, setValues] = useState<LoadedValues>();
  const [loading, setLoading] = useState(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  // Values depend on the report, the label and the other filters: reload when one changes.
  const key = JSON.stringify([report, filter.label, others]);
  const loadValues = () => {
    if (!filter.label || values?.key === key) {
      return;
    }
    setLoading(true);
    const names = datasource.getDisplayNames().catch(() => undefined);
    Promise.all([datasource.getLabelValues(report, filter.label, others), names]).then(
      ([vs, ns]) => {
        if (mounted.current) {
          setValues({ key, values: vs, names: ns });
          setLoading(false);
        }
      },
      (err: unknown) => {
        if (mounted.current) {
          setValues({ key, values: [], error: errorMessage(err) });
          setLoading(false);
        }
      }
    );
  };

  const names = values?.names;
  const loaded = values?.key === key ? values.values : [];
  const labelOptions: Array<SelectableValue<string>> = (labels ?? []).map((l) => ({ label: l, value: l }));
  const valueOptions: Array<SelectableValue<string>> = [
    ...loaded.map((v) => valueOption(names, filter.label, v)),
    ...datasource.getVariableNames().map((v) => ({ label: v, value: v, description: 'dashboard variable' })),
  ];
  // The value shown: a suggestion's text ("name (id)") when it is one, else as typed.
  const current = loaded.find((v) => v.value === filter.value) ?? { value: filter.value, text: filter.value };

  return (
    <InlineFieldRow>
      <InlineField label={index === 0 ? 'Filter' : 'and'} labelWidth={10} htmlFor={`${id}-label`}>
        <Select
          inputId={`${id}-label`}
          aria-label={`Filter ${n} label`}
          width={24}
          placeholder="label"
          options={labelOptions}
          value={filter.label ? { label: filter.label, value: filter.label } : null}
          allowCustomValue={labels === undefined}
          onChange={(v) => onChange({ ...filter, label: v?.value ?? '', value: '' })}
        />
      </InlineField>
      <Select
        aria-label={`Filter ${n} operator`}
        width={8}
        options={OP_OPTIONS}
        value={filter.op}
        onChange={(v) => onChange({ ...filter, op: v?.value ?? '=' })}
      />
      <Select
        aria-label={`Filter ${n} value`}
        width={32}
        placeholder="value"
        options={valueOptions}
        value={filter.value ? valueOption(names, filter.label, current) : null}
        allowCustomValue
        isLoading={loading}
        noOptionsMessage={values?.error ? `Could not load values: ${values.error}` : 'No values'}
        onOpenMenu={loadValues}
        onChange={(v) => onChange({ ...filter, value: v?.value ?? '' })}
      />
      <IconButton name="trash-alt" aria-label={`Remove filter ${n}`} tooltip={`Remove filter ${n}`} onClick={onRemove} />
    </InlineFieldRow>
  );
}

/**
 * A value's option: its text ("web-1 (eni-0a1)" for an id with a name) as the label, the raw value
 * as what is stored, and the display name of the value (TCP for protocol 6) as the description.
 */
function valueOption(names: DisplayNames | undefined, label: string, v: LabelValue): SelectableValue<string> {
  return { label: v.text, value: v.value, description: valueName(names, label, v.value) };
}

/**
 * The name of a label's value from the backend's display-names (as schema.ValueName gives it):
 * the label's own name for the value, else that of the absent or folded value; undefined when
 * there is none, or no names.
 */
function valueName(names: DisplayNames | undefined, label: string, value: string): string | undefined {
  const own = <T,>(o: Record<string, T> | undefined, key: string) => (o && Object.hasOwn(o, key) ? o[key] : undefined);
  const named = own(own(names?.values, label), value);
  if (typeof named === 'string') {
    return named;
  }
  return [names?.absent, names?.other].find((s) => s?.value === value)?.name;
}
