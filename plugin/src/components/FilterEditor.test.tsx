import React, { useState } from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { FakeBackendOptions, installFakeBackend, newDataSource } from '../test/fixtures';
import { Filter } from '../types';
import { FilterEditor } from './FilterEditor';

const LABELS = ['vpc_id', 'action', 'traffic_path', 'src_addr'];

function setup(filters: Filter[], opts: FakeBackendOptions = {}) {
  const backend = installFakeBackend(opts);
  const datasource = newDataSource();
  const changes = jest.fn<void, [Filter[]]>();
  function Harness() {
    const [fs, setFilters] = useState(filters);
    const onChange = (next: Filter[]) => {
      setFilters(next);
      changes(next);
    };
    return <FilterEditor datasource={datasource} report="action" labels={LABELS} filters={fs} idPrefix="t" onChange={onChange} />;
  }
  /** The filters the editor last reported. */
  const last = (): Filter[] => changes.mock.calls[changes.mock.calls.length - 1][0];
  const user = userEvent.setup();
  render(<Harness />);
  /** Opens the value picker of row n and returns its options' texts once values are there. */
  const openValues = async (n: number, first: string) => {
    await user.click(screen.getByLabelText(`Filter ${n} value`));
    const menu = await screen.findByLabelText('Select options menu');
    await waitFor(() => expect(within(menu).getByText(first)).toBeInTheDocument());
    return menu;
  };
  return { backend, user, openValues, last };
}

describe('FilterEditor value pickers', () => {
  it('describe the values with the names of the display-names resource', async () => {
    const { openValues } = setup([{ label: 'traffic_path', op: '=', value: '' }]);
    const menu = await openValues(1, '8');
    expect(within(menu).getByText('Internet gateway (Nitro)')).toBeInTheDocument();
    expect(within(menu).getByText('Another resource in the same VPC')).toBeInTheDocument();
  });

  it('take the names from the resource, those of the absent and folded values too', async () => {
    const { openValues } = setup([{ label: 'src_addr', op: '=', value: '' }], {
      displayNames: {
        values: { src_addr: { '10.0.0.1': 'the bastion' } },
        absent: { value: '-', name: 'no address' },
        other: { value: 'other', name: 'the rest' },
      },
    });
    const menu = await openValues(1, '10.0.0.1');
    expect(within(menu).getByText('the bastion')).toBeInTheDocument();
    expect(within(menu).getByText('no address')).toBeInTheDocument();
    expect(within(menu).getByText('the rest')).toBeInTheDocument();
    expect(within(menu).queryByText('absent')).not.toBeInTheDocument();
  });

  it('fetch the names once for every picker of the data source', async () => {
    const { backend, user, openValues } = setup([
      { label: 'action', op: '=', value: '' },
      { label: 'src_addr', op: '=', value: '' },
    ]);
    let menu = await openValues(1, 'REJECT');
    expect(within(menu).getByText('Rejected')).toBeInTheDocument();
    await user.keyboard('{Escape}');
    menu = await openValues(2, 'other');
    expect(within(menu).getByText('everything outside the top K')).toBeInTheDocument();
    expect(within(menu).getByText('absent')).toBeInTheDocument();
    expect(backend.calls.filter((c) => c.path === 'display-names')).toHaveLength(1);
    expect(backend.calls.filter((c) => c.path === 'label-values')).toHaveLength(2);
  });

  it('still offer the values, without descriptions, when the names cannot be loaded', async () => {
    const { backend, user, openValues } = setup([{ label: 'action', op: '=', value: '' }], { failDisplayNames: true });
    const menu = await openValues(1, 'ACCEPT');
    expect(within(menu).getByText('REJECT')).toBeInTheDocument();
    expect(within(menu).queryByText('Rejected')).not.toBeInTheDocument();
    expect(within(menu).queryByText(/Could not load/)).not.toBeInTheDocument();
    expect(backend.calls.filter((c) => c.path === 'display-names')).toHaveLength(1);
    await user.click(within(menu).getByText('REJECT'));
    expect(screen.getByText('REJECT')).toBeInTheDocument();
  });
});

describe('FilterEditor values of id labels', () => {
  it('suggest ids as "name (id)", store the raw id when one is picked, and show it with its name', async () => {
    const { backend, user, openValues, last } = setup([{ label: 'vpc_id', op: '=', value: '' }]);
    const menu = await openValues(1, 'prod (vpc-0a1)');
    expect(within(menu).getByText('vpc-0b2')).toBeInTheDocument();
    expect(within(menu).queryByText('vpc-0a1')).not.toBeInTheDocument();
    expect(backend.calls.find((c) => c.path === 'label-values')?.params).toMatchObject({
      label: 'vpc_id',
      names: 'true',
    });
    await user.click(within(menu).getByText('prod (vpc-0a1)'));
    expect(last()).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
    expect(screen.getByText('prod (vpc-0a1)')).toBeInTheDocument();
  });

  it('send a name typed by hand as typed, and a suggestion picked while typing as its id', async () => {
    const { user, openValues, last } = setup([{ label: 'vpc_id', op: '=', value: '' }]);
    let menu = await openValues(1, 'prod (vpc-0a1)');
    await user.keyboard('staging');
    await waitFor(() => expect(within(menu).getByText('staging')).toBeInTheDocument());
    await user.keyboard('{Enter}');
    expect(last()).toEqual([{ label: 'vpc_id', op: '=', value: 'staging' }]);
    expect(screen.getByText('staging')).toBeInTheDocument();

    // Typing part of a name narrows the suggestions to it: both the name typed and the id's
    // suggestion are offered.
    await user.click(screen.getByLabelText('Filter 1 value'));
    menu = await screen.findByLabelText('Select options menu');
    await user.keyboard('prod');
    await waitFor(() => expect(within(menu).getByText('prod (vpc-0a1)')).toBeInTheDocument());
    expect(within(menu).queryByText('vpc-0b2')).not.toBeInTheDocument();
    await user.click(within(menu).getByText('prod'));
    expect(last()).toEqual([{ label: 'vpc_id', op: '=', value: 'prod' }]);

    await user.click(screen.getByLabelText('Filter 1 value'));
    menu = await screen.findByLabelText('Select options menu');
    await user.keyboard('prod');
    await user.click(await within(menu).findByText('prod (vpc-0a1)'));
    expect(last()).toEqual([{ label: 'vpc_id', op: '=', value: 'vpc-0a1' }]);
  });

  it('show a stored value as it is when it is not among the values', async () => {
    const { openValues } = setup([{ label: 'vpc_id', op: '=~', value: 'prod|vpc-0b2' }]);
    expect(screen.getByText('prod|vpc-0b2')).toBeInTheDocument();
    await openValues(1, 'prod (vpc-0a1)');
    expect(screen.getAllByText('prod|vpc-0b2').length).toBeGreaterThan(0);
  });
});
