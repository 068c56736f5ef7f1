import React from 'react';
import { DataSourceSettings } from '@grafana/data';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { renderControlled } from '../test/render';
import { FlowOptions, FlowSecureOptions } from '../types';
import { ConfigEditor, Props, validTenant, validURL } from './ConfigEditor';

type Settings = DataSourceSettings<FlowOptions, FlowSecureOptions>;

function settings(patch: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'vpcflow-uid',
    orgId: 1,
    name: 'VPC Flow Logs',
    type: 'vpcflow-flowlogs-datasource',
    typeName: 'VPC Flow Logs',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...patch,
  };
}

interface WiredProps {
  query: Settings;
  onChange: Props['onOptionsChange'];
}

/** The config editor wired like Grafana's settings page: options in, options out. */
function Wired({ query, onChange }: WiredProps) {
  return <ConfigEditor options={query} onOptionsChange={onChange} />;
}

function setup(options: Settings) {
  return renderControlled<Settings, WiredProps>(Wired, options, {});
}

describe('ConfigEditor', () => {
  it('stores the URL in jsonData and keeps the top-level url in step', async () => {
    const { user, last } = setup(settings());
    await user.type(screen.getByLabelText(/^URL/), 'http://vmselect:8481');
    expect(last().jsonData.url).toBe('http://vmselect:8481');
    expect(last().url).toBe('http://vmselect:8481');
    expect(screen.queryByText('An http:// or https:// URL')).not.toBeInTheDocument();
  });

  it('shows a URL provisioned at the top level and flags one that is not http(s)', () => {
    render(<ConfigEditor options={settings({ url: 'ftp://vm' })} onOptionsChange={jest.fn()} />);
    expect(screen.getByLabelText(/^URL/)).toHaveValue('ftp://vm');
    expect(screen.getByText('An http:// or https:// URL')).toBeInTheDocument();
  });

  it('stores the tenant and checks its form', async () => {
    const { user, last } = setup(settings());
    await user.type(screen.getByLabelText(/^Tenant/), '12:34');
    expect(last().jsonData.tenant).toBe('12:34');
    expect(screen.queryByText(/accountID or accountID:projectID, e\.g\./)).not.toBeInTheDocument();
    await user.type(screen.getByLabelText(/^Tenant/), 'x');
    expect(screen.getByText(/accountID or accountID:projectID, e\.g\./)).toBeInTheDocument();
  });

  it('puts the basic auth user in jsonData and the password only in secureJsonData', async () => {
    const { user, last } = setup(settings());
    expect(screen.queryByLabelText('Password')).not.toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'Basic authentication' }));
    expect(last().jsonData.authType).toBe('basic');
    await user.type(screen.getByLabelText('User'), 'grafana');
    await user.type(screen.getByLabelText('Password'), 's3cret');
    const saved = last();
    expect(saved.jsonData).toEqual({ authType: 'basic', basicAuthUser: 'grafana' });
    expect(saved.secureJsonData).toEqual({ basicAuthPassword: 's3cret' });
    expect(JSON.stringify(saved.jsonData)).not.toContain('s3cret');
  });

  it('puts the bearer token only in secureJsonData', async () => {
    const { user, last } = setup(settings());
    await user.click(screen.getByRole('radio', { name: 'Bearer token' }));
    await user.type(screen.getByLabelText(/^Token/), 'tok-123');
    expect(last().jsonData).toEqual({ authType: 'bearer' });
    expect(last().secureJsonData).toEqual({ bearerToken: 'tok-123' });
  });

  it('shows a configured secret as configured, never its value, and resets it', async () => {
    const { user, last } = setup(
      settings({
        jsonData: { authType: 'basic', basicAuthUser: 'grafana' },
        secureJsonFields: { basicAuthPassword: true },
      })
    );
    const password = screen.getByLabelText('Password');
    expect(password).toBeDisabled();
    expect(password).toHaveValue('configured');
    await user.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields).toEqual({ basicAuthPassword: false });
    expect(last().secureJsonData).toEqual({ basicAuthPassword: '' });
    expect(screen.getByLabelText('Password')).toBeEnabled();
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  it('shows a configured bearer token as configured', () => {
    render(
      <ConfigEditor
        options={settings({ jsonData: { authType: 'bearer' }, secureJsonFields: { bearerToken: true } })}
        onOptionsChange={jest.fn()}
      />
    );
    expect(screen.getByLabelText(/^Token/)).toHaveValue('configured');
    expect(screen.getByLabelText(/^Token/)).toBeDisabled();
  });

  it('stores skipping TLS certificate verification in jsonData', async () => {
    const onOptionsChange = jest.fn();
    const user = userEvent.setup();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    await user.click(screen.getByLabelText(/^Skip TLS certificate verification/));
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { tlsSkipVerify: true } })
    );
  });

  it('validates URLs and tenants', () => {
    expect(validURL('http://victoriametrics:8428')).toBe(true);
    expect(validURL('https://vm.example.com/select/0/prometheus')).toBe(true);
    expect(validURL('victoriametrics:8428')).toBe(false);
    expect(validURL('http://')).toBe(false);
    expect(validTenant('0')).toBe(true);
    expect(validTenant('12:34')).toBe(true);
    expect(validTenant('a')).toBe(false);
    expect(validTenant('1:2:3')).toBe(false);
  });
});
