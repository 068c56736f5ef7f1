import { CoreApp, dateTime, DataQueryRequest, ScopedVars } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, setBackendSrv } from '@grafana/runtime';
import { lastValueFrom, of } from 'rxjs';

import { DataSource } from './datasource';
import { escapeRegex } from './interpolate';
import { DISPLAY_NAMES, installFakeBackend, newDataSource, REPORTS } from './test/fixtures';
import { DEFAULT_QUERY, FlowQuery, FlowVariableQuery } from './types';

const range = {
  from: dateTime(1_700_000_000_000),
  to: dateTime(1_700_003_600_000),
  raw: { from: 'now-1h', to: 'now' },
};

describe('DataSource defaults and filterQuery', () => {
  it('defaults a new query to the action report, bytes, rate, top 10, time series', () => {
    expect(newDataSource().getDefaultQuery(CoreApp.PanelEditor)).toEqual({
      report: 'action',
      metric: 'bytes',
      mode: 'rate',
      top: 10,
      filters: [],
      format: 'time_series',
    });
  });

  it('does not share the default filters array between queries', () => {
    const ds = newDataSource();
    const a = ds.getDefaultQuery(CoreApp.PanelEditor);
    a.filters!.push({ label: 'vpc_id', op: '=', value: 'x' });
    expect(ds.getDefaultQuery(CoreApp.PanelEditor).filters).toEqual([]);
    expect(DEFAULT_QUERY.filters).toEqual([]);
  });

  it.each<[string, FlowQuery, boolean]>([
    ['a bare query (defaults apply)', { refId: 'A' }, true],
    ['a complete query', { refId: 'A', report: 'vpcs', top: 5 }, true],
    ['a hidden query', { refId: 'A', hide: true }, false],
    ['no report', { refId: 'A', report: '' }, false],
    ['top 0: every row', { refId: 'A', top: 0 }, true],
    ['top 0 as a time series (the backend answers whether it fits)', { refId: 'A', top: 0, format: 'time_series' }, true],
    ['a table of more than 10,000 rows', { refId: 'A', top: 25_000, format: 'table' }, true],
    ['a time series over MAX_SERIES (the backend says what to change)', { refId: 'A', top: 5000 }, true],
    ['a negative top', { refId: 'A', top: -1 }, false],
    ['a fractional top', { refId: 'A', top: 2.5 }, false],
    ['a top that is not a number', { refId: 'A', top: NaN }, false],
    ['a blank filter row', { refId: 'A', filters: [{ label: '', op: '=', value: '' }] }, true],
    ['a filter without a value', { refId: 'A', filters: [{ label: 'vpc_id', op: '=', value: '' }] }, false],
    ['a filter without a label', { refId: 'A', filters: [{ label: '', op: '=', value: 'vpc-1' }] }, false],
    ['a complete filter', { refId: 'A', filters: [{ label: 'vpc_id', op: '!=', value: 'vpc-1' }] }, true],
  ])('filterQuery: %s', (_name, query, want) => {
    expect(newDataSource().filterQuery(query)).toBe(want);
  });
});

describe('DataSource.applyTemplateVariables', () => {
  const vars = {
    vpc: 'vpc-0a1',
    vpcs: ['vpc-0a1', 'vpc-0b2'],
    one: ['vpc-0a1'],
    addrs: ['10.0.0.1', '10.0.0.2'],
    report: 'src-service',
    re: 'vpc-0.*',
  };

  it('fills in the defaults and keeps refId and the fields it does not know', () => {
    const q = newDataSource().applyTemplateVariables({ refId: 'B', datasource: { uid: 'x' } }, {});
    expect(q).toEqual({ refId: 'B', datasource: { uid: 'x' }, ...DEFAULT_QUERY, filters: [] });
  });

  it('replaces a single-value variable in a filter value as it is', () => {
    const q = newDataSource(vars).applyTemplateVariables(
      { refId: 'A', report: 'action', filters: [{ label: 'vpc_id', op: '=', value: '$vpc' }] },
      {}
    );
    expect(q.filters).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
  });

  it('does not regex-escape a single value, so a text box may hold a regex', () => {
    const q = newDataSource(vars).applyTemplateVariables(
      { refId: 'A', filters: [{ label: 'vpc_id', op: '=~', value: '${re}' }] },
      {}
    );
    expect(q.filters).toEqual([{ label: 'vpc_id', op: '=~', value: 'vpc-0.*' }]);
  });

  it('treats a multi-value variable with one value selected as a single value', () => {
    const q = newDataSource(vars).applyTemplateVariables(
      { refId: 'A', filters: [{ label: 'vpc_id', op: '=', value: '$one' }] },
      {}
    );
    expect(q.filters).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
  });

  it('turns several values into an escaped alternation and = into =~, != into !~', () => {
    const q = newDataSource(vars).applyTemplateVariables(
      {
        refId: 'A',
        filters: [
          { label: 'vpc_id', op: '=', value: '$vpcs' },
          { label: 'src_addr', op: '!=', value: '$addrs' },
          { label: 'src_addr', op: '=~', value: '$addrs' },
        ],
      },
      {}
    );
    expect(q.filters).toEqual([
      { label: 'vpc_id', op: '=~', value: '(vpc-0a1|vpc-0b2)' },
      { label: 'src_addr', op: '!~', value: '(10\\.0\\.0\\.1|10\\.0\\.0\\.2)' },
      { label: 'src_addr', op: '=~', value: '(10\\.0\\.0\\.1|10\\.0\\.0\\.2)' },
    ]);
  });

  it('uses scoped variables first (repeated panels) and replaces the report id', () => {
    const scoped: ScopedVars = { vpc: { text: 'vpc-9', value: 'vpc-9' } };
    const q = newDataSource(vars).applyTemplateVariables(
      { refId: 'A', report: '$report', filters: [{ label: 'vpc_id', op: '=', value: '$vpc' }] },
      scoped
    );
    expect(q.report).toBe('src-service');
    expect(q.filters).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-9' }]);
  });

  it('leaves quoting to the backend: quotes and backslashes pass through unchanged', () => {
    const q = newDataSource({ v: 'a"b\\c' }).applyTemplateVariables(
      { refId: 'A', filters: [{ label: 'vpc_id', op: '=', value: 'x-$v' }] },
      {}
    );
    expect(q.filters![0].value).toBe('x-a"b\\c');
  });

  it('drops blank filter rows and does not change the query it is given', () => {
    const query: FlowQuery = {
      refId: 'A',
      filters: [
        { label: '', op: '=', value: '' },
        { label: 'vpc_id', op: '=', value: '$vpc' },
      ],
    };
    const before = JSON.stringify(query);
    const q = newDataSource(vars).applyTemplateVariables(query, {});
    expect(q.filters).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
    expect(JSON.stringify(query)).toBe(before);
  });

  it('escapes every regex metacharacter', () => {
    expect(escapeRegex('a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o')).toBe(
      'a\\.b\\*c\\+d\\?e\\(f\\)g\\[h\\]i\\{j\\}k\\|l\\^m\\$n\\\\o'
    );
  });
});

describe('DataSource resources', () => {
  it.each([
    ['reports', { failReports: true }, (ds: DataSource) => ds.getReports(), REPORTS],
    ['display-names', { failDisplayNames: true }, (ds: DataSource) => ds.getDisplayNames(), DISPLAY_NAMES],
  ] as const)('reads %s once per instance and again after a failure', async (path, failing, get, want) => {
    const broken = installFakeBackend(failing);
    const ds = newDataSource();
    await expect(get(ds)).rejects.toMatchObject({ status: 500 });
    expect(broken.calls).toEqual([{ path, params: {} }]);

    const backend = installFakeBackend();
    const [a, b] = await Promise.all([get(ds), get(ds)]);
    expect(a).toEqual(want);
    expect(b).toBe(a);
    expect(await get(ds)).toBe(a);
    expect(backend.calls).toEqual([{ path, params: {} }]);
    expect(backend.fetch.mock.calls[0][0]).toMatchObject({
      method: 'GET',
      url: `/api/datasources/uid/vpcflow-uid/resources/${path}`,
    });
    // Another instance fetches its own.
    await get(newDataSource());
    expect(backend.calls).toHaveLength(2);
  });

  it('refuses display names that are not names of values, and asks again next time', async () => {
    for (const answer of [[], null, { values: [] }, { absent: { value: '-', name: 'absent' } }]) {
      installFakeBackend({ displayNames: answer });
      const ds = newDataSource();
      await expect(ds.getDisplayNames()).rejects.toThrow('display-names: the backend did not answer with names of values');
      const backend = installFakeBackend();
      expect(await ds.getDisplayNames()).toEqual(DISPLAY_NAMES);
      expect(backend.calls).toHaveLength(1);
    }
  });

  it('asks label-values with the report, the label, the interpolated complete filters and the range', async () => {
    const backend = installFakeBackend();
    const ds = newDataSource({ vpcs: ['vpc-0a1', 'vpc-0b2'] });
    const values = await ds.getLabelValues(
      'action',
      'action',
      [
        { label: 'vpc_id', op: '=', value: '$vpcs' },
        { label: 'az_id', op: '=', value: '' },
      ],
      {},
      range
    );
    expect(values).toEqual([
      { value: 'ACCEPT', text: 'ACCEPT' },
      { value: 'REJECT', text: 'REJECT' },
    ]);
    expect(backend.calls).toEqual([
      {
        path: 'label-values',
        params: {
          report: 'action',
          label: 'action',
          filter: JSON.stringify([{ label: 'vpc_id', op: '=~', value: '(vpc-0a1|vpc-0b2)' }]),
          from: '1700000000000',
          to: '1700003600000',
          names: 'true',
        },
      },
    ]);
  });

  it('sends an empty filter list as [] and takes the dashboard range from $__from and $__to', async () => {
    const backend = installFakeBackend();
    const ds = newDataSource({ __from: '1700000000000', __to: '1700000600000' });
    await ds.getLabelValues('action', 'vpc_id');
    expect(backend.calls[0].params).toEqual({
      report: 'action',
      label: 'vpc_id',
      filter: '[]',
      from: '1700000000000',
      to: '1700000600000',
      names: 'true',
    });
  });

  it('answers query variables with text/value pairs', async () => {
    const backend = installFakeBackend();
    const ds = newDataSource({ vpc: 'vpc-0a1' });
    const query: FlowVariableQuery = {
      refId: 'V',
      report: 'action',
      label: 'traffic_path',
      filters: [{ label: 'vpc_id', op: '=', value: '$vpc' }],
    };
    expect(await ds.metricFindQuery(query, { range })).toEqual([
      { text: '1', value: '1' },
      { text: '8', value: '8' },
    ]);
    expect(JSON.parse(backend.calls[0].params.filter)).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
    expect(await ds.metricFindQuery({ refId: 'V', report: 'action' })).toEqual([]);
  });

  it('answers query variables of id labels with "name (id)" texts and the raw ids as values', async () => {
    const backend = installFakeBackend();
    const ds = newDataSource();
    const query: FlowVariableQuery = {
      refId: 'V',
      report: 'action',
      label: 'vpc_id',
      filters: [{ label: 'vpc_id', op: '!=', value: 'staging' }],
    };
    expect(await ds.metricFindQuery(query, { range })).toEqual([
      { text: 'prod (vpc-0a1)', value: 'vpc-0a1' },
      { text: 'vpc-0b2', value: 'vpc-0b2' },
    ]);
    // A filter by name goes to the backend as typed.
    expect(backend.calls[0].params).toMatchObject({
      label: 'vpc_id',
      names: 'true',
      filter: JSON.stringify([{ label: 'vpc_id', op: '!=', value: 'staging' }]),
    });
  });

  it('reads label values from a backend answering a plain list, or values without a text', async () => {
    for (const answer of [
      ['vpc-0a1', 'vpc-0b2'],
      [{ value: 'vpc-0a1' }, { value: 'vpc-0b2', text: '' }],
    ]) {
      setBackendSrv({ fetch: jest.fn(() => of({ data: answer })) } as unknown as BackendSrv);
      const ds = newDataSource();
      expect(await ds.getLabelValues('action', 'vpc_id')).toEqual([
        { value: 'vpc-0a1', text: 'vpc-0a1' },
        { value: 'vpc-0b2', text: 'vpc-0b2' },
      ]);
    }
    setBackendSrv({
      fetch: jest.fn(() => of({ data: [{ value: 'eni-0a1', text: 'web (eni-0a1)', name: 'web' }] })),
    } as unknown as BackendSrv);
    expect(await newDataSource().getLabelValues('action', 'interface_id')).toEqual([
      { value: 'eni-0a1', text: 'web (eni-0a1)', name: 'web' },
    ]);
  });

  it('runs variable queries through its CustomVariableSupport', async () => {
    installFakeBackend();
    const ds = newDataSource();
    const support = ds.variables as unknown as {
      query: (r: DataQueryRequest<FlowVariableQuery>) => import('rxjs').Observable<{ data: unknown[] }>;
      getDefaultQuery: () => Partial<FlowVariableQuery>;
    };
    expect(support.getDefaultQuery()).toEqual({ report: 'vpcs', label: 'vpc_id', filters: [] });
    const request = {
      targets: [{ refId: 'V', report: 'action', label: 'vpc_id', filters: [] }],
      range,
      scopedVars: {},
    } as unknown as DataQueryRequest<FlowVariableQuery>;
    const response = await lastValueFrom(support.query(request));
    expect(response.data).toEqual([
      { text: 'prod (vpc-0a1)', value: 'vpc-0a1' },
      { text: 'vpc-0b2', value: 'vpc-0b2' },
    ]);
  });

  it('sends top 0 (every row) to the backend as it is, the way Grafana runs queries', async () => {
    const posted: unknown[] = [];
    setBackendSrv({
      fetch: jest.fn((req: BackendSrvRequest) => {
        posted.push(req.data);
        return of({ data: { results: { A: { frames: [] } } }, status: 200, ok: true });
      }),
    } as unknown as BackendSrv);
    const ds = newDataSource();
    // Grafana's query runners leave out the queries filterQuery refuses, then call query.
    const query: FlowQuery = { refId: 'A', report: 'action-interface-dst', top: 0, format: 'table' };
    const request = {
      targets: [query].filter((q) => ds.filterQuery(q)),
      range,
      scopedVars: {},
      requestId: 'r',
      interval: '1m',
      intervalMs: 60_000,
      timezone: 'utc',
      app: CoreApp.Explore,
      startTime: 0,
    } as unknown as DataQueryRequest<FlowQuery>;
    await lastValueFrom(ds.query(request));
    expect(posted).toHaveLength(1);
    const queries = (posted[0] as { queries: FlowQuery[] }).queries;
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({ refId: 'A', report: 'action-interface-dst', top: 0, format: 'table' });
  });

  it('shows a one-line summary of a query', () => {
    expect(
      newDataSource().getQueryDisplayText({
        refId: 'A',
        report: 'interface',
        filters: [{ label: 'action', op: '=', value: 'REJECT' }],
      })
    ).toBe('interface · bytes rate · top 10 · action="REJECT"');
    expect(newDataSource().getQueryDisplayText({ refId: 'A', report: 'pair-interface', top: 0 })).toBe(
      'pair-interface · bytes rate · all rows'
    );
  });
});
