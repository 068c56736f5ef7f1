import React from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { REPORTS } from '../test/fixtures';
import { openOptions } from '../test/render';
import { ReportPicker } from './ReportPicker';
import { ReportsState } from './useReports';

function setup(registry: ReportsState, value: string) {
  const onChange = jest.fn();
  const user = userEvent.setup();
  render(<ReportPicker inputId="p-report" registry={registry} value={value} labelWidth={10} onChange={onChange} />);
  return { onChange, user };
}

describe('ReportPicker', () => {
  it('offers the reports by title with their descriptions and shows the stored one', async () => {
    const { user } = setup({ reports: REPORTS, loading: false }, 'src-service');
    expect(screen.getByText('Src Service')).toBeInTheDocument();
    const menu = await openOptions(user, 'Report');
    const titles = within(menu)
      .getAllByRole('option')
      .map((o) => within(o).getAllByText(/./)[0].textContent);
    expect(titles).toEqual(['Action', 'Src Service', 'Log Status', 'Pair Interface']);
    expect(within(menu).getByText('Traffic by ACCEPT and REJECT')).toBeInTheDocument();
  });

  it('hands back the picked id with its registry entry', async () => {
    const { user, onChange } = setup({ reports: REPORTS, loading: false }, 'action');
    const menu = await openOptions(user, 'Report');
    await user.click(within(menu).getByText('Log Status'));
    expect(onChange).toHaveBeenCalledWith('log-status', REPORTS[2]);
  });

  it('keeps a stored id the backend does not list, and takes one typed by hand', async () => {
    const { user, onChange } = setup({ reports: REPORTS, loading: false }, '$report');
    expect(screen.getByText('$report')).toBeInTheDocument();
    const menu = await openOptions(user, 'Report');
    expect(within(menu).getAllByRole('option')).toHaveLength(REPORTS.length + 1);
    await user.keyboard('custom-report');
    await user.keyboard('{Enter}');
    expect(onChange).toHaveBeenCalledWith('custom-report', undefined);
  });

  it('says why the reports could not be loaded', () => {
    setup({ reports: [], loading: false, error: 'VictoriaMetrics unreachable' }, 'action');
    expect(screen.getByText('Could not load reports: VictoriaMetrics unreachable')).toBeInTheDocument();
    expect(screen.getByText('action')).toBeInTheDocument();
  });
});
