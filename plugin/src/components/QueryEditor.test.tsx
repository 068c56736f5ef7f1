import { screen, waitFor, within } from '@testing-library/react';

import { installFakeBackend, newDataSource } from '../test/fixtures';
import { openOptions, pick, renderControlled } from '../test/render';
import { FlowQuery } from '../types';
import { Props, QueryEditor } from './QueryEditor';

const DEFAULTS = {
  report: 'action',
  metric: 'bytes',
  mode: 'rate',
  top: 10,
  filters: [],
  format: 'time_series',
};

function setup(query: FlowQuery = { refId: 'A' }, vars: Record<string, string | string[]> = {}) {
  const backend = installFakeBackend();
  const datasource = newDataSource(vars);
  const onRunQuery = jest.fn();
  const r = renderControlled<FlowQuery, Props>(QueryEditor, query, { datasource, onRunQuery });
  return { ...r, backend, onRunQuery };
}

describe('QueryEditor', () => {
  it('loads the reports and shows the query with its defaults', async () => {
    const { backend } = setup();
    expect(await screen.findByText('Action')).toBeInTheDocument();
    expect(backend.calls.filter((c) => c.path === 'reports')).toHaveLength(1);
    expect(screen.getByRole('radio', { name: 'bytes' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Rate' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Time series' })).toBeChecked();
    expect(screen.getByLabelText('Top')).toHaveValue(10);
    expect(screen.queryByLabelText('Filter 1 label')).not.toBeInTheDocument();
  });

  it('offers the reports by title with their descriptions', async () => {
    const { user } = setup();
    await screen.findByText('Action');
    const menu = await openOptions(user, 'Report');
    expect(within(menu).getByText('Src Service')).toBeInTheDocument();
    expect(within(menu).getByText('Traffic by the AWS service it comes from')).toBeInTheDocument();
    expect(within(menu).getByText('Log Status')).toBeInTheDocument();
  });

  it('changes the report, keeps filters the new family has and drops the others', async () => {
    const { user, last, onRunQuery } = setup({
      refId: 'A',
      report: 'action',
      filters: [
        { label: 'vpc_id', op: '=', value: 'vpc-0a1' },
        { label: 'traffic_path', op: '=', value: '8' },
      ],
    });
    await screen.findByText('Action');
    await pick(user, 'Report', 'Src Service');
    expect(last()).toEqual({
      refId: 'A',
      ...DEFAULTS,
      report: 'src-service',
      filters: [{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }],
    });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('switches to the metric a report has when the current one is not among them', async () => {
    const { user, last } = setup();
    await screen.findByText('Action');
    await pick(user, 'Report', 'Log Status');
    expect(last()).toMatchObject({ report: 'log-status', metric: 'records' });
    expect(screen.getByRole('radio', { name: 'records' })).toBeChecked();
    expect(screen.queryByRole('radio', { name: 'bytes' })).not.toBeInTheDocument();
  });

  it('keeps a report the backend does not list visible', async () => {
    const { backend } = setup({ refId: 'A', report: '$report' });
    await waitFor(() => expect(backend.calls).toHaveLength(1));
    await waitFor(() => expect(screen.getByText('$report')).toBeInTheDocument());
  });

  it('changes metric, mode and format', async () => {
    const { user, last, onRunQuery } = setup();
    await screen.findByText('Action');
    await user.click(screen.getByRole('radio', { name: 'packets' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, metric: 'packets' });
    await user.click(screen.getByRole('radio', { name: 'Total' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, metric: 'packets', mode: 'total' });
    await user.click(screen.getByRole('radio', { name: 'Table' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, metric: 'packets', mode: 'total', format: 'table' });
    expect(onRunQuery).toHaveBeenCalledTimes(3);
  });

  it('applies top N on blur and refuses what is not a whole number of 1 or more', async () => {
    const { user, last, onChange } = setup();
    await screen.findByText('Action');
    const top = screen.getByLabelText('Top');
    await user.clear(top);
    await user.type(top, '0');
    await user.tab();
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByText('A whole number, 1 or more')).toBeInTheDocument();
    await user.clear(top);
    await user.type(top, '25');
    await user.tab();
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, top: 25 });
  });

  it('shows a query of every row (top 0) with All rows on and no top N to edit', async () => {
    setup({ refId: 'A', report: 'action', top: 0, format: 'table' });
    await screen.findByText('Action');
    expect(screen.getByRole('switch', { name: 'All rows' })).toBeChecked();
    expect(screen.getByLabelText('Top')).toBeDisabled();
    expect(screen.getByLabelText('Top')).toHaveValue(null);
    expect(screen.queryByText('A whole number, 1 or more')).not.toBeInTheDocument();
  });

  it('turns All rows on (top 0) and off again, giving back the top N it replaced', async () => {
    const { user, last, onRunQuery } = setup({ refId: 'A', format: 'table' });
    await screen.findByText('Action');
    const all = screen.getByRole('switch', { name: 'All rows' });
    expect(all).not.toBeChecked();
    const top = screen.getByLabelText('Top');
    await user.clear(top);
    await user.type(top, '25');
    await user.click(all);
    // The typed N was applied on blur, then replaced by every row.
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, format: 'table', top: 0 });
    expect(screen.getByRole('switch', { name: 'All rows' })).toBeChecked();
    expect(onRunQuery).toHaveBeenCalledTimes(2);
    await user.click(screen.getByRole('switch', { name: 'All rows' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, format: 'table', top: 25 });
    expect(screen.getByLabelText('Top')).toHaveValue(25);
    await user.click(screen.getByRole('switch', { name: 'All rows' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, format: 'table', top: 0 });
  });

  it('gives back the default top N when a query saved with every row turns All rows off', async () => {
    const { user, last } = setup({ refId: 'A', top: 0 });
    await screen.findByText('Action');
    await user.click(screen.getByRole('switch', { name: 'All rows' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, top: 10 });
  });

  it('takes any top N for a table, at most MAX_SERIES for a time series', async () => {
    const { user, last, onChange } = setup();
    await screen.findByText('Action');
    const top = screen.getByLabelText('Top');
    await user.clear(top);
    await user.type(top, '1001');
    await user.tab();
    expect(onChange).not.toHaveBeenCalled();
    expect(
      screen.getByText('At most 1000 for a time series (a table takes any number, or All rows)')
    ).toBeInTheDocument();
    await user.clear(top);
    await user.type(top, '1000');
    await user.tab();
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, top: 1000 });
    await user.click(screen.getByRole('radio', { name: 'Table' }));
    await user.clear(top);
    await user.type(top, '25000');
    await user.tab();
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, format: 'table', top: 25000 });
    // Back to a time series: the top N is flagged, the backend would refuse it.
    await user.click(screen.getByRole('radio', { name: 'Time series' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, top: 25000 });
    expect(
      screen.getByText('At most 1000 for a time series (a table takes any number, or All rows)')
    ).toBeInTheDocument();
  });

  it('offers the node graph for the pair reports only, and leaves it for a report without one', async () => {
    const { user, last } = setup();
    await screen.findByText('Action');
    expect(screen.queryByRole('radio', { name: 'Node graph' })).not.toBeInTheDocument();
    await pick(user, 'Report', 'Pair Interface');
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, report: 'pair-interface' });
    await user.click(screen.getByRole('radio', { name: 'Node graph' }));
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, report: 'pair-interface', format: 'node_graph' });
    expect(screen.getByRole('radio', { name: 'Node graph' })).toBeChecked();
    // Another report has no node graph: back to the default format.
    await pick(user, 'Report', 'Src Service');
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, report: 'src-service' });
    expect(screen.queryByRole('radio', { name: 'Node graph' })).not.toBeInTheDocument();
  });

  it('shows a saved node graph of a report it does not offer one for, so that it can be changed', async () => {
    setup({ refId: 'A', report: 'action', format: 'node_graph' });
    await screen.findByText('Action');
    expect(screen.getByRole('radio', { name: 'Node graph' })).toBeChecked();
  });

  it('takes a top N of at most MAX_EDGES for a node graph', async () => {
    const { user, last, onChange } = setup({ refId: 'A', report: 'pair-interface', format: 'node_graph' });
    await screen.findByText('Pair Interface');
    const top = screen.getByLabelText('Top');
    await user.clear(top);
    await user.type(top, '1001');
    await user.tab();
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByText('At most 1000 edges for a node graph (the rest is summarised)')).toBeInTheDocument();
    await user.clear(top);
    await user.type(top, '50');
    await user.tab();
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, report: 'pair-interface', format: 'node_graph', top: 50 });
  });

  it('adds a filter row, picks a label, an operator and a value loaded from label-values', async () => {
    const { user, last, backend } = setup();
    await screen.findByText('Action');
    await user.click(screen.getByRole('button', { name: 'Add filter' }));
    expect(last().filters).toEqual([{ label: '', op: '=', value: '' }]);

    await pick(user, 'Filter 1 label', 'vpc_id');
    expect(last().filters).toEqual([{ label: 'vpc_id', op: '=', value: '' }]);

    await pick(user, 'Filter 1 operator', '!=');
    expect(last().filters).toEqual([{ label: 'vpc_id', op: '!=', value: '' }]);

    await pick(user, 'Filter 1 value', 'vpc-0b2');
    expect(last()).toEqual({ refId: 'A', ...DEFAULTS, filters: [{ label: 'vpc_id', op: '!=', value: 'vpc-0b2' }] });
    expect(backend.calls.filter((c) => c.path === 'label-values')).toEqual([
      { path: 'label-values', params: { report: 'action', label: 'vpc_id', filter: '[]', names: 'true' } },
    ]);
  });

  it('offers only the labels of the report in the label picker', async () => {
    const { user } = setup({ refId: 'A', report: 'log-status', filters: [{ label: '', op: '=', value: '' }] });
    await screen.findByText('Log Status');
    const menu = await openOptions(user, 'Filter 1 label');
    const labels = within(menu)
      .getAllByRole('option')
      .map((o) => o.textContent);
    expect(labels).toEqual(['account_id', 'region', 'vpc_id', 'interface_id', 'log_status']);
  });

  it('narrows a row’s values by the other complete filters and offers dashboard variables', async () => {
    const { user, backend } = setup(
      {
        refId: 'A',
        filters: [
          { label: 'vpc_id', op: '=', value: '$vpc' },
          { label: 'traffic_path', op: '=', value: '' },
        ],
      },
      { vpc: 'vpc-0a1' }
    );
    await screen.findByText('Action');
    const menu = await openOptions(user, 'Filter 2 value');
    await waitFor(() => expect(within(menu).getByText('8')).toBeInTheDocument());
    expect(within(menu).getByText('Internet gateway (Nitro)')).toBeInTheDocument();
    expect(within(menu).getByText('$vpc')).toBeInTheDocument();
    expect(backend.calls.find((c) => c.path === 'label-values')?.params).toEqual({
      report: 'action',
      label: 'traffic_path',
      filter: JSON.stringify([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]),
      names: 'true',
    });
  });

  it('accepts a value typed by hand', async () => {
    const { user, last } = setup({ refId: 'A', filters: [{ label: 'vpc_id', op: '=~', value: '' }] });
    await screen.findByText('Action');
    const menu = await openOptions(user, 'Filter 1 value');
    await user.keyboard('vpc-0.*');
    await waitFor(() => expect(within(menu).getByText('vpc-0.*')).toBeInTheDocument());
    await user.keyboard('{Enter}');
    expect(last().filters).toEqual([{ label: 'vpc_id', op: '=~', value: 'vpc-0.*' }]);
  });

  it('removes a filter row', async () => {
    const { user, last } = setup({
      refId: 'A',
      filters: [
        { label: 'vpc_id', op: '=', value: 'vpc-0a1' },
        { label: 'action', op: '=', value: 'REJECT' },
      ],
    });
    await screen.findByText('Action');
    await user.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(last().filters).toEqual([{ label: 'action', op: '=', value: 'REJECT' }]);
    expect(screen.queryByLabelText('Filter 2 label')).not.toBeInTheDocument();
  });

  it('says when the reports cannot be loaded', async () => {
    installFakeBackend({ failReports: true });
    const datasource = newDataSource();
    renderControlled<FlowQuery, Props>(QueryEditor, { refId: 'A' }, { datasource, onRunQuery: jest.fn() });
    expect(await screen.findByText('Could not load reports: VictoriaMetrics unreachable')).toBeInTheDocument();
  });
});
