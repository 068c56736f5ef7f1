import {
  CoreApp,
  DataSourceInstanceSettings,
  LegacyMetricFindQueryOptions,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { interpolateFilters, isBlankFilter, isCompleteFilter } from './interpolate';
import {
  DEFAULT_QUERY,
  DisplayNames,
  Filter,
  FlowOptions,
  FlowQuery,
  FlowVariableQuery,
  ReportInfo,
  withDefaults,
} from './types';
import { FlowVariableSupport } from './variables';

/**
 * The "VPC Flow Logs" data source. Queries, alerting and health checks go to the Go backend
 * (plugin/pkg); the editors read the report registry and label values through its resources:
 *
 * - `GET reports` → ReportInfo[]
 * - `GET display-names` → DisplayNames: `{values: {label: {value: name}}, absent: {value, name},
 *   other: {value, name}}`, the names the value pickers show beside the raw values
 * - `GET label-values?report=ID&label=L&filter=[...]&from=MS&to=MS&names=true` → LabelValue[]
 *   (`filter` is a JSON array of filters, `[]` when there is none, whose values on id labels may
 *   be names; `from` and `to`, epoch milliseconds, are sent when a time range is known. Without
 *   `names=true` the backend answers a plain string[], as before the parameter.)
 */
/**
 * A value of the `label-values` resource asked with `names=true` (plugin.LabelValue in the Go
 * backend): what Grafana's MetricFindValue holds. For a label holding ids (interface_id, vpc_id,
 * ...) the text of an id with a name is "name (id)" (`web-1 (eni-0a1)`); the value stays the raw
 * id, which queries and filters are given.
 */
export interface LabelValue {
  /** The raw label value. */
  value: string;
  /** What pickers and variable dropdowns show: "name (id)", or the value. */
  text: string;
  /** The name of the entity whose id the value is, when it has one. */
  name?: string;
}

export class DataSource extends DataSourceWithBackend<FlowQuery, FlowOptions> {
  /** Resources fetched once per instance: path → answer. */
  private readonly fetched = new Map<string, Promise<unknown>>();
  private readonly templateSrv: () => TemplateSrv;

  constructor(instanceSettings: DataSourceInstanceSettings<FlowOptions>, templateSrv?: TemplateSrv) {
    super(instanceSettings);
    // Looked up lazily: Grafana sets the template service up before it uses a data source,
    // not necessarily before it constructs one.
    this.templateSrv = () => templateSrv ?? getTemplateSrv();
    this.variables = new FlowVariableSupport(this);
  }

  override getDefaultQuery(_app: CoreApp): Partial<FlowQuery> {
    return { ...DEFAULT_QUERY, filters: [] };
  }

  /**
   * Hidden queries and incomplete ones (no report, a top that is not a whole number of 0 or more,
   * a filter row with a label but no value or the reverse) are not sent. Top 0 is every row. Rows
   * left blank do not make a query incomplete: they are dropped. A time series with a top over
   * MAX_SERIES is sent: the backend's error says what to change.
   */
  override filterQuery(query: FlowQuery): boolean {
    if (query.hide) {
      return false;
    }
    const q = withDefaults(query);
    if (!q.report) {
      return false;
    }
    if (!Number.isInteger(q.top) || q.top < 0) {
      return false;
    }
    return q.filters.every((f) => isBlankFilter(f) || isCompleteFilter(f));
  }

  /** Fills in defaults and replaces template variables in the report id and the filters. */
  override applyTemplateVariables(query: FlowQuery, scopedVars: ScopedVars): FlowQuery {
    const q = withDefaults(query);
    const tpl = this.templateSrv();
    return {
      ...q,
      report: tpl.replace(q.report, scopedVars),
      filters: interpolateFilters(q.filters, scopedVars, tpl),
    };
  }

  override getQueryDisplayText(query: FlowQuery): string {
    const q = withDefaults(query);
    const filters = q.filters.filter(isCompleteFilter).map((f) => `${f.label}${f.op}"${f.value}"`);
    const top = q.top === 0 ? 'all rows' : `top ${q.top}`;
    return `${q.report} · ${q.metric} ${q.mode} · ${top}` + (filters.length ? ` · ${filters.join(', ')}` : '');
  }

  /** The report registry, fetched once per data source instance (again after a failure). */
  getReports(): Promise<ReportInfo[]> {
    return this.fetchOnce('reports', (r) => {
      if (!Array.isArray(r)) {
        throw new Error('reports: the backend did not answer with a list');
      }
      return r as ReportInfo[];
    });
  }

  /**
   * The names of label values, fetched once per data source instance (again after a failure).
   */
  getDisplayNames(): Promise<DisplayNames> {
    return this.fetchOnce('display-names', (r) => {
      const values = (r as Partial<DisplayNames> | null)?.values;
      if (typeof values !== 'object' || values === null || Array.isArray(values)) {
        throw new Error('display-names: the backend did not answer with names of values');
      }
      return r as DisplayNames;
    });
  }

  /** GETs a resource once and keeps the checked answer; a failure is forgotten, to try again. */
  private fetchOnce<T>(path: string, check: (body: unknown) => T): Promise<T> {
    const known = this.fetched.get(path) as Promise<T> | undefined;
    if (known) {
      return known;
    }
    const p = this.getResource<unknown>(path).then(check);
    this.fetched.set(path, p);
    p.catch(() => {
      if (this.fetched.get(path) === p) {
        this.fetched.delete(path);
      }
    });
    return p;
  }

  /**
   * Values of one label of a report, narrowed by filters (template variables in them are
   * replaced; incomplete rows are left out), each with its text: "name (id)" for an id with a
   * name. Without a range, the dashboard's time range is used when there is one.
   */
  async getLabelValues(
    report: string,
    label: string,
    filters: Filter[] = [],
    scopedVars: ScopedVars = {},
    range?: TimeRange
  ): Promise<LabelValue[]> {
    const tpl = this.templateSrv();
    report = tpl.replace(report, scopedVars);
    label = tpl.replace(label, scopedVars);
    if (!report || !label) {
      return [];
    }
    const params: Record<string, string> = {
      report,
      label,
      filter: JSON.stringify(interpolateFilters(filters.filter(isCompleteFilter), scopedVars, tpl)),
      ...this.rangeParams(range),
      names: 'true',
    };
    const values = await this.getResource<unknown>('label-values', params);
    if (!Array.isArray(values)) {
      throw new Error('label-values: the backend did not answer with a list');
    }
    return values.map(labelValue);
  }

  /** The dashboard's variables as `$name`, offered in the value pickers. */
  getVariableNames(): string[] {
    return this.templateSrv()
      .getVariables()
      .map((v) => '$' + v.name);
  }

  /**
   * Query variables: the values of a report's label; a dropdown of ids shows them as "name (id)"
   * while the variable's value stays the id.
   */
  override async metricFindQuery(
    query: FlowVariableQuery | string,
    options?: LegacyMetricFindQueryOptions
  ): Promise<MetricFindValue[]> {
    if (typeof query === 'string' || !query.report || !query.label) {
      return [];
    }
    const values = await this.getLabelValues(
      query.report,
      query.label,
      query.filters ?? [],
      options?.scopedVars ?? {},
      options?.range
    );
    return values.map((v) => ({ text: v.text, value: v.value }));
  }

  private rangeParams(range?: TimeRange): Record<string, string> {
    if (range) {
      return { from: String(range.from.valueOf()), to: String(range.to.valueOf()) };
    }
    // Outside a query (the editors), the dashboard's range is only known through its variables.
    const tpl = this.templateSrv();
    const from = tpl.replace('$__from');
    const to = tpl.replace('$__to');
    return /^\d+$/.test(from) && /^\d+$/.test(to) ? { from, to } : {};
  }
}

/**
 * An entry of the label-values answer as a LabelValue: an object with a value (its text defaults
 * to the value), or a plain value (from a backend without names).
 */
function labelValue(v: unknown): LabelValue {
  if (typeof v === 'object' && v !== null && 'value' in v) {
    const o = v as { value: unknown; text?: unknown; name?: unknown };
    const value = String(o.value);
    const out: LabelValue = { value, text: typeof o.text === 'string' && o.text !== '' ? o.text : value };
    if (typeof o.name === 'string' && o.name !== '') {
      out.name = o.name;
    }
    return out;
  }
  const value = String(v);
  return { value, text: value };
}
