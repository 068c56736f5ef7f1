import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/**
 * The query model shared with the Go backend: the JSON of report.Query, which plugin/pkg/models
 * reads (with the defaults of DEFAULT_QUERY) and the dashboards generator writes. The JSON field
 * names are a contract: TestFrontendQueryModel (plugin/pkg/models) checks that FlowQuery,
 * Filter, the value types and DEFAULT_QUERY match the Go model.
 *
 * Every field but refId is optional here because a query saved by an older version, typed into
 * a provisioned dashboard or created by Grafana itself (`{refId: "A"}`) may lack it;
 * {@link withDefaults} completes a query before it is used.
 */
export interface FlowQuery extends DataQuery {
  /** Report registry id, e.g. "action", "pair-interface". */
  report?: string;
  metric?: Metric;
  mode?: Mode;
  /**
   * Keep the top N groups by value over the range and sum the rest into Other; 0 keeps every
   * group. Tables take any N; time series at most {@link MAX_SERIES}. A node graph keeps the N
   * largest edges (0: {@link MAX_EDGES}, at most that) and summarises the rest.
   */
  top?: number;
  filters?: Filter[];
  format?: Format;
}

export type Metric = 'bytes' | 'packets' | 'flows' | 'records';
/** total: the amount per step (sum_over_time); rate: per second. */
export type Mode = 'total' | 'rate';
/** node_graph: only for the reports in {@link NODE_GRAPH_REPORTS}. */
export type Format = 'time_series' | 'table' | 'node_graph';
export type FilterOp = '=' | '!=' | '=~' | '!~';

/** One label matcher. Values are the raw label values (`protocol="6"`, absent is `-`). */
export interface Filter {
  label: string;
  op: FilterOp;
  value: string;
}

/** A query with every field set. */
export type CompleteFlowQuery = FlowQuery & Required<Omit<FlowQuery, keyof DataQuery>>;

export const DEFAULT_QUERY = {
  report: 'action',
  metric: 'bytes',
  mode: 'rate',
  top: 10,
  filters: [],
  format: 'time_series',
} as const satisfies Partial<FlowQuery>;

/**
 * The most series a time series query keeps (report.MaxSeries, which TestFrontendQueryModel
 * checks): its top N is at most this, and with top 0 (every group) a range holding more groups
 * fails. Each series is a frame Grafana holds and draws. Tables have no bound.
 */
export const MAX_SERIES = 1000;

/**
 * The most edges a node graph shows besides the summary of the rest (report.MaxEdges, which
 * TestFrontendQueryModel checks): its top N is at most this, and top 0 means this many.
 */
export const MAX_EDGES = 1000;

/**
 * The reports with a node graph format: traffic between two ends (report.Report.GraphEnds, which
 * TestFrontendQueryModel checks).
 */
export const NODE_GRAPH_REPORTS: readonly string[] = ['pair-interface', 'pair-interface-action'];

export const METRICS: readonly Metric[] = ['bytes', 'packets', 'flows', 'records'];
export const MODES: readonly Mode[] = ['total', 'rate'];
export const FORMATS: readonly Format[] = ['time_series', 'table', 'node_graph'];
export const FILTER_OPS: readonly FilterOp[] = ['=', '!=', '=~', '!~'];

/** Fills in the defaults of every missing field; never mutates its argument. */
export function withDefaults(query: FlowQuery): CompleteFlowQuery {
  return {
    ...query,
    report: query.report ?? DEFAULT_QUERY.report,
    metric: query.metric ?? DEFAULT_QUERY.metric,
    mode: query.mode ?? DEFAULT_QUERY.mode,
    top: query.top ?? DEFAULT_QUERY.top,
    filters: query.filters ?? [],
    format: query.format ?? DEFAULT_QUERY.format,
  };
}

/**
 * The model of a query variable: the values of one label of a report, narrowed by filters.
 * Answered by the `label-values` resource.
 */
export interface FlowVariableQuery extends DataQuery {
  report?: string;
  label?: string;
  filters?: Filter[];
}

/** An entry of the backend's `GET reports` resource. */
export interface ReportInfo {
  id: string;
  title: string;
  description?: string;
  /** Metric family the report reads, e.g. "vpcflow_interface". */
  family?: string;
  /** Labels the report groups by. */
  groupBy?: string[];
  /** Every label of the family: what a filter or variable may use. */
  labels?: string[];
  /** Metrics the family has, e.g. ["bytes","packets","flows"]. */
  metrics?: Metric[];
}

/**
 * The backend's `GET display-names` resource: readable names of raw label values (AWS writes
 * numbers and codes), which the value pickers show as descriptions; stored values stay raw.
 */
export interface DisplayNames {
  /** Label → value → name, e.g. `{ protocol: { '6': 'TCP' }, action: { REJECT: 'Rejected' } }`. */
  values: Record<string, Record<string, string>>;
  /** The value of a label whose field a record lacks (`-`), and its name. */
  absent?: SpecialValue;
  /** The value of the label sets a top-K family folds together (`other`), and its name. */
  other?: SpecialValue;
}

/** A value any label may take, and its name. */
export interface SpecialValue {
  value: string;
  name: string;
}

export type AuthType = 'none' | 'basic' | 'bearer';
export const AUTH_TYPES: readonly AuthType[] = ['none', 'basic', 'bearer'];

/** Data source settings (jsonData), never secret. */
export interface FlowOptions extends DataSourceJsonData {
  /**
   * VictoriaMetrics URL: a single node (http://victoriametrics:8428) or a cluster's vmselect
   * (http://vmselect:8481, with tenant). The editor keeps the data source's top-level url in
   * step with it.
   */
  url?: string;
  /** Cluster tenant ("0", "12:34"): queries go to /select/<tenant>/prometheus. Empty for a single node. */
  tenant?: string;
  authType?: AuthType;
  basicAuthUser?: string;
  tlsSkipVerify?: boolean;
}

/** Secrets (secureJsonData): write-only from the frontend, stored encrypted by Grafana. */
export interface FlowSecureOptions {
  basicAuthPassword?: string;
  bearerToken?: string;
}
