import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { Filter, FilterOp } from './types';

/** Escapes the characters a regular expression (RE2 / MetricsQL) treats as special. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

const REGEX_OF: Record<FilterOp, FilterOp> = { '=': '=~', '!=': '!~', '=~': '=~', '!~': '!~' };

/** A row the user added but left empty: ignored rather than an error. */
export function isBlankFilter(f: Filter): boolean {
  return !f.label && !f.value;
}

/** A row that names a label and a value. */
export function isCompleteFilter(f: Filter): boolean {
  return !!f.label && !!f.op && f.value !== undefined && f.value !== '';
}

/**
 * Replaces template variables in the filters' labels and values. Blank rows are dropped.
 *
 * Quoting and escaping for MetricsQL is the backend's job: values go out as the raw text the
 * user means. Variables are formatted so the matcher keeps its meaning:
 * - a single value is inserted as it is (a text-box variable may hold a regex for `=~`);
 * - several values (a multi-value variable or "All" without a custom all value) become
 *   `(a|b)` with each value regex-escaped, and an `=` / `!=` filter becomes `=~` / `!~`, so
 *   `vpc_id = $vpc` with two VPCs selected matches either of them.
 */
export function interpolateFilters(
  filters: Filter[] | undefined,
  scopedVars: ScopedVars,
  templateSrv: TemplateSrv
): Filter[] {
  return (filters ?? []).filter((f) => !isBlankFilter(f)).map((f) => interpolateFilter(f, scopedVars, templateSrv));
}

/** A variable's value as text: strings and numbers as they are. */
function text(v: unknown): string {
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

function interpolateFilter(f: Filter, scopedVars: ScopedVars, templateSrv: TemplateSrv): Filter {
  let multi = false;
  const format = (value: unknown): string => {
    if (Array.isArray(value)) {
      const values = value.map(text);
      if (values.length === 1) {
        return values[0];
      }
      multi = true;
      return '(' + values.map(escapeRegex).join('|') + ')';
    }
    return text(value);
  };
  const label = templateSrv.replace(f.label, scopedVars);
  const value = templateSrv.replace(f.value, scopedVars, format);
  return { label, op: multi ? REGEX_OF[f.op] : f.op, value };
}
