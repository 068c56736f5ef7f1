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
 * Quoting for MetricsQL is the backend's job: values go out as the raw text the user means, and
 * a regex value is RE2, which VictoriaMetrics anchors at both ends. Variables are formatted so
 * that the matcher keeps its meaning:
 * - `=` / `!=` compare text. When every variable in the value has one value, the value is the
 *   text with the variables replaced, and the operator stays. When a variable has several values
 *   (a multi-value variable, or "All" without a custom all value) or is "All" with a custom all
 *   value (a regex by design, such as `.*`), the filter becomes `=~` / `!~`: the text around the
 *   variables and every single value are regex-escaped, several values become `(a|b)` with each
 *   value escaped, and a custom all value goes in as `(regex)`. So `src_addr = 10.0.0.$host`
 *   with hosts 5 and 6 is `src_addr =~ 10\.0\.0\.(5|6)`, which does not match `10.0.0x5`.
 * - `=~` / `!~` take the text around the variables as the user's regex, unchanged. Several values
 *   become `(a|b)` with each value escaped; a single value picked from a list (a multi-value or
 *   "All" variable) is escaped too, while the value of another variable (a text box, a constant)
 *   goes in as it is, so that it may hold a regex; a custom all value goes in as `(regex)`.
 * - A reference with an explicit format (`${name:csv}`) and built-in variables go in as Grafana
 *   formats them, like the text around them.
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

/**
 * Grafana's pattern of a variable reference: `$name`, `[[name]]`, `[[name:format]]`,
 * `${name}`, `${name.fieldPath}`, `${name:format}`. Groups: 1 name; 2 name, 3 format;
 * 4 name, 5 field path, 6 format.
 */
const VARIABLE_REF = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** The variable model fields a format function is given (Grafana's, or the scene's). */
interface VariableInfo {
  multi?: boolean;
  includeAll?: boolean;
}

/** One piece of a filter value: text, or the value(s) of one variable reference. */
type Part =
  /** Text the user typed, or what Grafana made of a reference without the plugin's format. */
  | { kind: 'text'; text: string }
  /** A variable's values; listed when picked from a list (a multi-value or "All" variable). */
  | { kind: 'values'; values: string[]; listed: boolean }
  /** A custom all value: a regex. */
  | { kind: 'regex'; regex: string };

function interpolateFilter(f: Filter, scopedVars: ScopedVars, templateSrv: TemplateSrv): Filter {
  const label = templateSrv.replace(f.label, scopedVars);
  const parts = valueParts(f.value, scopedVars, templateSrv);
  const literal = f.op === '=' || f.op === '!=';
  const regex =
    !literal || parts.some((p) => p.kind === 'regex' || (p.kind === 'values' && p.values.length !== 1));
  if (!regex) {
    const value = parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'values' ? p.values[0] : p.regex));
    return { label, op: f.op, value: value.join('') };
  }
  const value = parts
    .map((p) => {
      switch (p.kind) {
        case 'text':
          return literal ? escapeRegex(p.text) : p.text;
        case 'regex':
          return '(' + p.regex + ')';
        case 'values':
          if (p.values.length === 1) {
            return literal || p.listed ? escapeRegex(p.values[0]) : p.values[0];
          }
          return '(' + p.values.map(escapeRegex).join('|') + ')';
      }
    })
    .join('');
  return { label, op: REGEX_OF[f.op], value };
}

/** Splits a filter value into its text and its variable references, each replaced. */
function valueParts(value: string, scopedVars: ScopedVars, templateSrv: TemplateSrv): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of value.matchAll(VARIABLE_REF)) {
    if (m.index > last) {
      parts.push({ kind: 'text', text: value.slice(last, m.index) });
    }
    const name = m[1] ?? m[2] ?? m[4];
    const explicitFormat = m[3] !== undefined || m[6] !== undefined;
    parts.push(reference(m[0], name, explicitFormat, scopedVars, templateSrv));
    last = m.index + m[0].length;
  }
  if (last < value.length) {
    parts.push({ kind: 'text', text: value.slice(last) });
  }
  return parts;
}

/** Replaces one variable reference, keeping its values apart. */
function reference(
  ref: string,
  name: string,
  explicitFormat: boolean,
  scopedVars: ScopedVars,
  templateSrv: TemplateSrv
): Part {
  let part: Part | undefined;
  const format = (v: unknown, variable?: VariableInfo): string => {
    const values = Array.isArray(v) ? v.map(text) : [text(v)];
    part = { kind: 'values', values, listed: !!variable && (!!variable.multi || !!variable.includeAll) };
    return values.join(',');
  };
  const replaced = templateSrv.replace(ref, scopedVars, format);
  if (part) {
    return part;
  }
  // Grafana inserts a custom all value without calling the format function.
  if (!explicitFormat && !scopedVars[name] && customAllSelected(name, templateSrv)) {
    return { kind: 'regex', regex: replaced };
  }
  return { kind: 'text', text: replaced };
}

/** Whether the dashboard variable name has "All" selected and a custom all value. */
function customAllSelected(name: string, templateSrv: TemplateSrv): boolean {
  const v = templateSrv.getVariables().find((v) => v.name === name);
  if (!v || !('allValue' in v) || !v.allValue) {
    return false;
  }
  const current: unknown = v.current?.value;
  return current === ALL_VALUE || (Array.isArray(current) && current[0] === ALL_VALUE);
}

/** The value of a variable with "All" selected. */
const ALL_VALUE = '$__all';
