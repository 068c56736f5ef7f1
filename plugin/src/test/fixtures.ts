// Test doubles for what Grafana provides at run time: the backend service the resources go
// through, the template service and a data source's instance settings. The data source and the
// editors under test are the real ones.
import { DataSourceInstanceSettings, PluginType, ScopedVars } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, setBackendSrv, TemplateSrv } from '@grafana/runtime';
import { Observable, of, throwError } from 'rxjs';

import { DataSource } from '../datasource';
import { DisplayNames, FlowOptions, ReportInfo } from '../types';
import DISPLAY_NAMES_JSON from '../../testdata/displayNames.json';

const COMMON = ['account_id', 'region', 'vpc_id'];

export const REPORTS: ReportInfo[] = [
  {
    id: 'action',
    title: 'Action',
    description: 'Traffic by ACCEPT and REJECT',
    family: 'vpcflow_interface',
    groupBy: ['action'],
    labels: [
      ...COMMON,
      'subnet_id',
      'az_id',
      'interface_id',
      'instance_id',
      'action',
      'flow_direction',
      'traffic_path',
      'reject_reason',
    ],
    metrics: ['bytes', 'packets', 'flows'],
  },
  {
    id: 'src-service',
    title: 'Src Service',
    description: 'Traffic by the AWS service it comes from',
    family: 'vpcflow_service',
    groupBy: ['src_service'],
    labels: [...COMMON, 'src_service', 'dst_service', 'action', 'flow_direction'],
    metrics: ['bytes', 'packets', 'flows'],
  },
  {
    id: 'log-status',
    title: 'Log Status',
    description: 'Records per log status (OK, NODATA, SKIPDATA)',
    family: 'vpcflow_status_records',
    groupBy: ['log_status'],
    labels: [...COMMON, 'interface_id', 'log_status'],
    metrics: ['records'],
  },
  {
    id: 'pair-interface',
    title: 'Pair Interface',
    description: 'Traffic between network interfaces',
    family: 'vpcflow_pair',
    groupBy: ['src_interface', 'dst_interface'],
    labels: [...COMMON, 'src_interface', 'dst_interface', 'action'],
    metrics: ['bytes', 'packets', 'flows'],
  },
];

export const VALUES: Record<string, string[]> = {
  vpc_id: ['vpc-0a1', 'vpc-0b2'],
  action: ['ACCEPT', 'REJECT'],
  traffic_path: ['1', '8'],
  src_addr: ['10.0.0.1', 'other', '-'],
};

/** The names of ids, as the entity sync gives them: label → id → name. */
export const ENTITY_NAMES: Record<string, Record<string, string>> = {
  vpc_id: { 'vpc-0a1': 'prod' },
};

/**
 * The Go backend's answer to `display-names`, as its test (TestDisplayNamesResource) writes it
 * and checks it.
 */
export const DISPLAY_NAMES: DisplayNames = DISPLAY_NAMES_JSON;

export interface FakeBackend {
  fetch: jest.Mock<Observable<{ data: unknown }>, [BackendSrvRequest]>;
  /** Requests to resources, in order: path and params. */
  calls: Array<{ path: string; params: Record<string, string> }>;
}

export interface FakeBackendOptions {
  failReports?: boolean;
  /** Answer display-names with an error. */
  failDisplayNames?: boolean;
  /** Answer display-names with these names instead of DISPLAY_NAMES. */
  displayNames?: unknown;
}

/**
 * Installs a backend service that answers the plugin's resources like the Go backend:
 * `reports`, `display-names` and `label-values` (values of VALUES, whatever the filters; with
 * `names=true` as {value, text, name} with the names of ENTITY_NAMES, else as plain values).
 */
export function installFakeBackend(opts: FakeBackendOptions = {}): FakeBackend {
  const calls: FakeBackend['calls'] = [];
  const fetch = jest.fn((req: BackendSrvRequest): Observable<{ data: unknown }> => {
    const m = /^\/api\/datasources\/uid\/[^/]+\/resources\/(.+)$/.exec(req.url);
    if (!m) {
      return throwError(() => ({ status: 404, data: { message: `no route ${req.url}` } }));
    }
    const path = m[1];
    const params = (req.params ?? {}) as Record<string, string>;
    calls.push({ path, params });
    if (path === 'reports') {
      if (opts.failReports) {
        return throwError(() => ({ status: 500, data: { message: 'VictoriaMetrics unreachable' } }));
      }
      return of({ data: REPORTS });
    }
    if (path === 'display-names') {
      if (opts.failDisplayNames) {
        return throwError(() => ({ status: 500, data: { message: 'names unavailable' } }));
      }
      return of({ data: 'displayNames' in opts ? opts.displayNames : DISPLAY_NAMES });
    }
    if (path === 'label-values') {
      const values = VALUES[params.label] ?? [];
      if (params.names !== 'true') {
        return of({ data: values });
      }
      return of({
        data: values.map((value) => {
          const name = ENTITY_NAMES[params.label]?.[value];
          return name ? { value, text: `${name} (${value})`, name } : { value, text: value };
        }),
      });
    }
    return throwError(() => ({ status: 404, data: { message: `no resource ${path}` } }));
  });
  setBackendSrv({ fetch } as unknown as BackendSrv);
  return { fetch, calls };
}

/** A dashboard variable of the fake template service. */
export interface FakeVariable {
  /** The current value: text, an array of the selected values, or `$__all` ("All"). */
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
  /** The custom all value ("All" then stands for this text, a regex by design). */
  allValue?: string;
  /** What "All" stands for without a custom all value: every option but "All". */
  options?: string[];
}

const ALL = '$__all';

/** A variable given as text is a text box; as an array, a multi-value variable. */
function variableOf(v: string | string[] | FakeVariable): FakeVariable {
  if (typeof v === 'string') {
    return { value: v };
  }
  return Array.isArray(v) ? { value: v, multi: true } : v;
}

/**
 * A template service like Grafana's for `$name` and `${name}`: a variable's value is a string,
 * or an array for a multi-value variable, or `$__all`; scoped variables win; a format function
 * gets the value and the variable's multi and includeAll as Grafana passes them; "All" is the
 * variable's options, or its custom all value inserted as it is, without the format function (as
 * Grafana does); without a format function, arrays render as `{a,b}` (Grafana's glob format).
 */
export function fakeTemplateSrv(vars: Record<string, string | string[] | FakeVariable> = {}): TemplateSrv {
  const variables = new Map(Object.entries(vars).map(([name, v]) => [name, variableOf(v)]));
  type Format = (value: string | string[], variable: { name: string; multi?: boolean; includeAll?: boolean }) => string;
  return {
    getVariables: () =>
      [...variables].map(
        ([name, v]) =>
          ({
            name,
            type: 'custom',
            multi: !!v.multi,
            includeAll: !!v.includeAll,
            allValue: v.allValue ?? null,
            current: { value: v.value, text: v.value, selected: true },
            options: [],
          }) as unknown as ReturnType<TemplateSrv['getVariables']>[number]
      ),
    containsTemplate: (target?: string) => !!target && /\$(\w+|\{\w+\})/.test(target),
    updateTimeRange: () => {},
    replace: (target?: string, scopedVars?: ScopedVars, format?: string | Format) =>
      (target ?? '').replace(/\$(\w+)|\$\{(\w+)\}/g, (match: string, a?: string, b?: string) => {
        const name = (a ?? b) as string;
        const variable = variables.get(name);
        const info = { name, multi: variable?.multi, includeAll: variable?.includeAll };
        let value: string | string[];
        const scoped = scopedVars?.[name];
        if (scoped) {
          value = scoped.value as string | string[];
        } else if (!variable) {
          return match;
        } else if (variable.value === ALL || (Array.isArray(variable.value) && variable.value[0] === ALL)) {
          if (variable.allValue) {
            return variable.allValue;
          }
          value = variable.options ?? [];
        } else {
          value = variable.value;
        }
        if (typeof format === 'function') {
          return format(value, info);
        }
        return Array.isArray(value) ? `{${value.join(',')}}` : value;
      }),
  };
}

export function instanceSettings(jsonData: FlowOptions = {}): DataSourceInstanceSettings<FlowOptions> {
  return {
    id: 1,
    uid: 'vpcflow-uid',
    type: 'vpcflow-flowlogs-datasource',
    name: 'VPC Flow Logs',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'vpcflow-flowlogs-datasource',
      name: 'VPC Flow Logs',
      type: PluginType.datasource,
      module: 'public/plugins/vpcflow-flowlogs-datasource/module.js',
      baseUrl: 'public/plugins/vpcflow-flowlogs-datasource',
      info: {
        author: { name: 'vpcflow' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '',
      },
    },
  };
}

export function newDataSource(vars: Record<string, string | string[] | FakeVariable> = {}): DataSource {
  return new DataSource(instanceSettings(), fakeTemplateSrv(vars));
}
