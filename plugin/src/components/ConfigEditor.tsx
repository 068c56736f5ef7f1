import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput, Stack, Switch } from '@grafana/ui';

import { AuthType, FlowOptions, FlowSecureOptions } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<FlowOptions, FlowSecureOptions>;

const AUTH_OPTIONS: Array<SelectableValue<AuthType>> = [
  { label: 'No authentication', value: 'none' },
  { label: 'Basic authentication', value: 'basic' },
  { label: 'Bearer token', value: 'bearer' },
];

/** `http(s)://host[:port][/path]` */
export function validURL(url: string): boolean {
  return /^https?:\/\/[^\s/]+(\/\S*)?$/.test(url);
}

/** VictoriaMetrics cluster tenant: `accountID` or `accountID:projectID`, 32-bit integers. */
export function validTenant(tenant: string): boolean {
  return /^\d{1,10}(:\d{1,10})?$/.test(tenant);
}

/**
 * Settings: where VictoriaMetrics answers and how to authenticate. Secrets go to
 * secureJsonData only; Grafana never sends them back, so a configured secret shows as
 * "configured" with a Reset button, never with its value.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = options.secureJsonData ?? {};
  const url = jsonData.url ?? options.url ?? '';
  const tenant = jsonData.tenant ?? '';
  const authType: AuthType = jsonData.authType ?? 'none';

  const setJson = (patch: Partial<FlowOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  const setSecret = (key: keyof FlowSecureOptions) => (e: ChangeEvent<HTMLInputElement>) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: e.currentTarget.value } });

  const resetSecret = (key: keyof FlowSecureOptions) => () =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });

  return (
    <Stack direction="column" gap={2}>
      <FieldSet label="VictoriaMetrics">
        <Field
          label="URL"
          description="A single node (http://victoriametrics:8428) or a cluster's vmselect (http://vmselect:8481)"
          required
          invalid={url !== '' && !validURL(url)}
          error="An http:// or https:// URL"
        >
          <Input
            id="vpcflow-config-url"
            width={60}
            placeholder="http://victoriametrics:8428"
            value={url}
            // The top-level url is kept in step so provisioning with either works.
            onChange={(e) => {
              const v = e.currentTarget.value.trim();
              onOptionsChange({ ...options, url: v, jsonData: { ...jsonData, url: v } });
            }}
          />
        </Field>
        <Field
          label="Tenant"
          description="Cluster only: accountID or accountID:projectID. Queries then go to /select/<tenant>/prometheus. Empty for a single node."
          invalid={tenant !== '' && !validTenant(tenant)}
          error="accountID or accountID:projectID, e.g. 0 or 12:34"
        >
          <Input
            id="vpcflow-config-tenant"
            width={20}
            placeholder="0"
            value={tenant}
            onChange={(e) => setJson({ tenant: e.currentTarget.value.trim() })}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Authentication">
        <Field label="Method">
          <RadioButtonGroup<AuthType>
            options={AUTH_OPTIONS}
            value={authType}
            onChange={(v) => setJson({ authType: v })}
          />
        </Field>
        {authType === 'basic' && (
          <>
            <Field label="User">
              <Input
                id="vpcflow-config-basic-user"
                width={40}
                value={jsonData.basicAuthUser ?? ''}
                onChange={(e) => setJson({ basicAuthUser: e.currentTarget.value })}
              />
            </Field>
            <Field label="Password">
              <SecretInput
                id="vpcflow-config-basic-password"
                width={40}
                isConfigured={!!secureJsonFields?.basicAuthPassword}
                value={secureJsonData.basicAuthPassword ?? ''}
                onChange={setSecret('basicAuthPassword')}
                onReset={resetSecret('basicAuthPassword')}
              />
            </Field>
          </>
        )}
        {authType === 'bearer' && (
          <Field label="Token" description="Sent as Authorization: Bearer <token>">
            <SecretInput
              id="vpcflow-config-bearer-token"
              width={60}
              isConfigured={!!secureJsonFields?.bearerToken}
              value={secureJsonData.bearerToken ?? ''}
              onChange={setSecret('bearerToken')}
              onReset={resetSecret('bearerToken')}
            />
          </Field>
        )}
      </FieldSet>

      <FieldSet label="TLS">
        <Field
          label="Skip TLS certificate verification"
          description="Accept any certificate the server presents. For testing only."
        >
          <Switch
            id="vpcflow-config-tls-skip-verify"
            value={!!jsonData.tlsSkipVerify}
            onChange={(e) => setJson({ tlsSkipVerify: e.currentTarget.checked })}
          />
        </Field>
      </FieldSet>
    </Stack>
  );
}
