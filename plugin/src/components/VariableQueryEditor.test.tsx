import { screen, waitFor, within } from '@testing-library/react';

import { installFakeBackend, newDataSource } from '../test/fixtures';
import { openOptions, pick, renderControlled } from '../test/render';
import { FlowVariableQuery } from '../types';
import { Props, VariableQueryEditor } from './VariableQueryEditor';

function setup(query: FlowVariableQuery) {
  const backend = installFakeBackend();
  const datasource = newDataSource();
  const r = renderControlled<FlowVariableQuery, Props>(VariableQueryEditor, query, {
    datasource,
    onRunQuery: jest.fn(),
  });
  return { ...r, backend, datasource };
}

describe('VariableQueryEditor', () => {
  it('shows the stored report and label', async () => {
    setup({ refId: 'V', report: 'action', label: 'vpc_id', filters: [] });
    expect(await screen.findByText('Action')).toBeInTheDocument();
    expect(screen.getByText('vpc_id')).toBeInTheDocument();
  });

  it('builds report + label + filters, and the data source answers it with label values', async () => {
    const { user, last, backend, datasource } = setup({ refId: 'V' });
    await waitFor(() => expect(backend.calls).toHaveLength(1));

    await pick(user, 'Report', 'Action');
    expect(last()).toEqual({ refId: 'V', report: 'action', label: undefined, filters: [] });

    const menu = await openOptions(user, 'Label');
    expect(within(menu).getByText('traffic_path')).toBeInTheDocument();
    await user.click(within(menu).getByText('action'));
    expect(last()).toMatchObject({ report: 'action', label: 'action' });

    await user.click(screen.getByRole('button', { name: 'Add filter' }));
    await pick(user, 'Filter 1 label', 'vpc_id');
    await pick(user, 'Filter 1 value', 'prod (vpc-0a1)');
    const query = last();
    expect(query).toEqual({
      refId: 'V',
      report: 'action',
      label: 'action',
      filters: [{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }],
    });

    expect(await datasource.metricFindQuery(query)).toEqual([
      { text: 'ACCEPT', value: 'ACCEPT' },
      { text: 'REJECT', value: 'REJECT' },
    ]);
    expect(backend.calls[backend.calls.length - 1]).toEqual({
      path: 'label-values',
      params: {
        report: 'action',
        label: 'action',
        filter: JSON.stringify([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]),
        names: 'true',
      },
    });
  });

  it('lists ids as "name (id)" with the raw ids as values, and filters by a name typed by hand', async () => {
    const { user, last, backend, datasource } = setup({ refId: 'V', report: 'action', label: 'vpc_id', filters: [] });
    await screen.findByText('Action');
    await user.click(screen.getByRole('button', { name: 'Add filter' }));
    await pick(user, 'Filter 1 label', 'vpc_id');
    const menu = await openOptions(user, 'Filter 1 value');
    await waitFor(() => expect(within(menu).getByText('prod (vpc-0a1)')).toBeInTheDocument());
    await user.keyboard('staging{Enter}');
    const query = last();
    expect(query.filters).toEqual([{ label: 'vpc_id', op: '=', value: 'staging' }]);

    expect(await datasource.metricFindQuery(query)).toEqual([
      { text: 'prod (vpc-0a1)', value: 'vpc-0a1' },
      { text: 'vpc-0b2', value: 'vpc-0b2' },
    ]);
    expect(backend.calls[backend.calls.length - 1].params).toEqual({
      report: 'action',
      label: 'vpc_id',
      filter: JSON.stringify([{ label: 'vpc_id', op: '=', value: 'staging' }]),
      names: 'true',
    });
  });

  it('clears a label and drops filters the new report lacks when the report changes', async () => {
    const { user, last } = setup({
      refId: 'V',
      report: 'action',
      label: 'traffic_path',
      filters: [
        { label: 'vpc_id', op: '=', value: 'vpc-0a1' },
        { label: 'subnet_id', op: '=', value: 'subnet-1' },
      ],
    });
    await screen.findByText('Action');
    await pick(user, 'Report', 'Src Service');
    expect(last()).toEqual({
      refId: 'V',
      report: 'src-service',
      label: '',
      filters: [{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }],
    });
  });
});
